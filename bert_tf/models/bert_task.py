"""BertTask: the shared base of the task models (an encoder passed in, plus a head)."""

from __future__ import annotations

import keras

from bert_tf.models.bert_encoder import encoder_inputs


class BertTask(keras.Model):
    """Base for task models: keeps the encoder and serialises it with the head's arguments.

    Subclasses build their head in ``__init__`` from ``self._encoder_call(...)``
    and list their own constructor arguments in ``_task_config()``. Every task
    model takes ``dtype`` (a dtype policy name) and keeps it in its config.

    Example (any subclass):

    ```python
    model = BertClassifier(BertEncoder.from_pretrained("path/to/bert"), num_classes=2)
    model.save_pretrained("out/model", task_info={"labels": ["neg", "pos"]})
    model = BertClassifier.from_pretrained("out/model")  # task.json on model.task_info
    ```
    """

    def __init__(self, *args, dtype=None, **kwargs):
        super().__init__(*args, **kwargs)
        if dtype is not None:  # Functional.__init__ ignores dtype=; get_config/from_config need it
            self.dtype_policy = dtype

    @staticmethod
    def _encoder_call(encoder):
        inputs = encoder_inputs()
        return inputs, encoder(inputs)

    def _task_config(self) -> dict:
        raise NotImplementedError

    def get_config(self):
        # Not super().get_config(): a functional model's config is its layer graph, which
        # the constructor does not take. name, trainable and dtype are what Model's would add.
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            **self._task_config(),
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_policy.name,
        }

    def save_pretrained(self, path, task_info=None, vocab_file=None, lowercase=None):
        """Writes a task-model folder (see bert_tf.checkpoints.save_task_model); ``task`` is filled in."""
        from bert_tf.checkpoints.task import save_task_model, task_name_of
        info = dict(task_info or {})
        info.setdefault("task", task_name_of(self))
        save_task_model(self, path, info, vocab_file=vocab_file, lowercase=lowercase)

    @classmethod
    def from_pretrained(cls, path, dtype=None):
        """Loads a task-model folder written by save_pretrained; its task.json is on ``.task_info``."""
        from bert_tf.checkpoints import CheckpointError, load_task_model
        model, info = load_task_model(path, dtype=dtype)
        if not isinstance(model, cls):
            raise CheckpointError(f"{path} holds a {type(model).__name__} ({info['task']}), not a {cls.__name__}")
        model.task_info = info
        return model

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
