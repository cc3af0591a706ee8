"""BertTask: the shared base of the task models (an encoder passed in, plus a head)."""

from __future__ import annotations

import keras

from bert_tf.models.bert_encoder import encoder_inputs


class BertTask(keras.Model):
    """Base for task models: keeps the encoder and serialises it with the head's arguments.

    Subclasses build their head in ``__init__`` from ``self._encoder_call(...)``
    and list their own constructor arguments in ``_task_config()``.
    """

    @staticmethod
    def _encoder_call(encoder):
        inputs = encoder_inputs()
        return inputs, encoder(inputs)

    def _task_config(self) -> dict:
        raise NotImplementedError

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            **self._task_config(),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
