"""BertEncoder: embeddings + L transformer blocks + pooler, as a functional Keras model."""

from __future__ import annotations

import keras
from keras import ops

from bert_tf.checkpoints import (
    bert_tf_format,
    detect_checkpoint_format,
    head_names,
    read_foreign_checkpoint,
)
from bert_tf.checkpoints.name_map import assign_from_google, encoder_slots
from bert_tf.config import BertConfig
from bert_tf.layers.bert_embeddings import BertEmbeddings
from bert_tf.layers.transformer_block import TransformerBlock
from bert_tf.model_dir import resolve_model_dir
from bert_tf.models.task_registry import build_task_model
from bert_tf.presets import get_preset


def encoder_inputs():
    """The three symbolic inputs every BERT model takes, with dynamic [B, T] shape."""
    return {
        "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input(shape=(None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask"),
    }


@keras.saving.register_keras_serializable(package="bert_tf")
class BertEncoder(keras.Model):
    """The BERT encoder.

    Inputs (dict): ``token_ids`` [B, T] int, ``segment_ids`` [B, T] int,
    ``padding_mask`` [B, T] (1/True for real tokens). T may be anything up to
    ``config.max_position_embeddings``.

    Outputs (dict): ``sequence_output`` [B, T, H] float32, ``pooled_output``
    [B, H] float32 (tanh dense on [CLS]), and with ``output_all_layers=True``
    also ``encoder_outputs``: a list of the L blocks' [B, T, H] outputs.

    Args:
        config: a BertConfig (or its dict).
        output_all_layers: also return every block's output.
        dtype: a dtype policy name ("float32", "mixed_float16", ...); None uses
            Keras's global policy. Outputs are float32 whatever the policy.

    Example:

    ```python
    encoder = BertEncoder.from_preset("bert_tiny")           # fresh weights
    encoder = BertEncoder.from_pretrained("path/to/bert")     # Google / HF / bert_tf folder
    outputs = encoder({"token_ids": np.array([[2, 1000, 3]]), "segment_ids": np.zeros((1, 3)),
                       "padding_mask": np.ones((1, 3))})
    outputs["sequence_output"].shape  # (1, 3, H)
    ```
    """

    def __init__(self, config, output_all_layers=False, dtype=None, **kwargs):
        if isinstance(config, dict):
            config = BertConfig.from_dict(config)
        # === Layers ===
        embeddings = BertEmbeddings(
            vocab_size=config.vocab_size,
            hidden_size=config.hidden_size,
            max_position_embeddings=config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size,
            dropout=config.hidden_dropout_prob,
            layer_norm_eps=config.layer_norm_eps,
            initializer_range=config.initializer_range,
            dtype=dtype,
            name="embeddings",
        )
        blocks = [
            TransformerBlock(
                hidden_size=config.hidden_size,
                num_heads=config.num_attention_heads,
                intermediate_size=config.intermediate_size,
                activation=config.keras_activation,
                dropout=config.hidden_dropout_prob,
                attention_dropout=config.attention_probs_dropout_prob,
                layer_norm_eps=config.layer_norm_eps,
                initializer_range=config.initializer_range,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(config.num_hidden_layers)
        ]
        pooler = keras.layers.Dense(
            config.hidden_size,
            activation="tanh",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=config.initializer_range),
            dtype=dtype,
            name="pooler",
        )
        # === Functional model ===
        inputs = encoder_inputs()
        mask = ops.cast(inputs["padding_mask"], "int32")  # [B, T]
        x = embeddings(inputs["token_ids"], inputs["segment_ids"])  # [B, T, H]
        layer_outputs = []
        for block in blocks:
            x = block(x, mask)
            layer_outputs.append(ops.cast(x, "float32"))
        pooled = pooler(x[:, 0, :])  # [B, H]
        outputs = {
            "sequence_output": layer_outputs[-1],
            "pooled_output": ops.cast(pooled, "float32"),
        }
        if output_all_layers:
            outputs["encoder_outputs"] = layer_outputs
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        if dtype is not None:  # Functional.__init__ ignores dtype=; get_config/from_config need it
            self.dtype_policy = dtype
        # === Config ===
        self.config = config
        self.output_all_layers = output_all_layers
        self.embeddings = embeddings
        self.transformer_layers = blocks
        self.pooler = pooler

    @property
    def token_embedding(self):
        """The word-embedding layer (its table is tied to the MLM output)."""
        return self.embeddings.word_embeddings

    def get_config(self):
        # Not super().get_config(): a functional model's config is its layer graph.
        return {
            "config": self.config.to_dict(),
            "output_all_layers": self.output_all_layers,
            "dtype": self.dtype_policy.name,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_preset(cls, name, **kwargs):
        """A freshly initialised encoder of a named architecture (see bert_tf.presets)."""
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in BertConfig.__dataclass_fields__}
        return cls(get_preset(name, **overrides), **kwargs)

    @classmethod
    def from_pretrained(cls, path, dtype=None, **encoder_kwargs):
        """Loads a Google TF1 / Hugging Face / keras-hub / bert_tf encoder or task folder (or an
        HF hub id).

        ``encoder_kwargs`` go to the constructor (e.g. ``output_all_layers=True``).
        """
        folder = resolve_model_dir(path)
        fmt = detect_checkpoint_format(folder)
        if fmt == "bert_tf":
            encoder = cls(bert_tf_format.read_config(folder), dtype=dtype, **encoder_kwargs)
            bert_tf_format.load_weights(encoder, folder)
        elif fmt == "bert_tf_task":
            config = bert_tf_format.read_config(folder)
            model, _ = build_task_model(folder, cls(config, dtype=dtype))
            if not encoder_kwargs:
                return model.encoder
            encoder = cls(model.encoder.config, dtype=dtype, **encoder_kwargs)
            encoder.set_weights(model.encoder.get_weights())
        else:
            raw = read_foreign_checkpoint(folder, fmt)
            encoder = cls(raw.config, dtype=dtype, **encoder_kwargs)
            assign_from_google(
                encoder_slots(encoder),
                raw.tensors,
                raw.source,
                allowed_extra=head_names(raw),
                origin=raw.origin,
            )
        bert_tf_format.remember_source(encoder, folder)
        return encoder

    def save_pretrained(self, path, vocab_file=None, lowercase=None):
        """Writes config.json + model.weights.h5 (+ vocab.txt) that from_pretrained reads back."""
        bert_tf_format.save_encoder(self, path, vocab_file=vocab_file, lowercase=lowercase)
