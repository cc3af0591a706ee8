"""BertTask: the shared base of the task models (an encoder passed in, plus a head)."""

from __future__ import annotations

import keras

from bert_tf.checkpoints import bert_tf_format, save_task_model
from bert_tf.errors import CheckpointError
from bert_tf.model_dir import resolve_model_dir
from bert_tf.models.bert_encoder import BertEncoder, encoder_inputs
from bert_tf.models.task_registry import build_task_model, register_task_model


def load_task_model(path, dtype=None):
    """(task model, task_info dict) from a task-model folder (or hub id), whatever its task."""
    folder = resolve_model_dir(path)
    return build_task_model(folder, BertEncoder(bert_tf_format.read_config(folder), dtype=dtype))


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

    Each subclass names its task.json ``task`` in ``task_name`` (which registers it, so
    load_task_model and BertEncoder.from_pretrained can build it from a folder).
    """

    task_name = None  # the task.json "task" of a subclass

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "task_name" in cls.__dict__:
            register_task_model(cls)

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
        """Writes a task-model folder (see bert_tf.checkpoints.save_task_model); ``task`` is filled
        in."""
        info = dict(task_info or {})
        info.setdefault("task", self.task_name)
        save_task_model(self, path, info, vocab_file=vocab_file, lowercase=lowercase)

    @classmethod
    def from_pretrained(cls, path, dtype=None):
        """Loads a task-model folder written by save_pretrained; its task.json is on
        ``.task_info``."""
        model, info = load_task_model(path, dtype=dtype)
        if not isinstance(model, cls):
            raise CheckpointError(
                f"{path} holds a {type(model).__name__} ({info['task']}), not a {cls.__name__}"
            )
        model.task_info = info
        return model

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
