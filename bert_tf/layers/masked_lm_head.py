"""MaskedLMHead: BERT's MLM output, tied to the word-embedding table."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bert_tf")
class MaskedLMHead(keras.layers.Layer):
    """Gathers the masked positions and scores them against the vocabulary.

    transform: Dense(H, activation) -> LayerNorm; logits = x @ E^T + bias, where
    E is the encoder's word-embedding table (tied, as in google-research/bert).
    """

    def __init__(self, token_embedding, activation="gelu", layer_norm_eps=1e-12,
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        from bert_tf.layers.transformer_block import _activation
        # === Config ===
        self.token_embedding = token_embedding
        self.activation = activation
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        # === Layers ===
        hidden = token_embedding.output_dim
        self.dense = keras.layers.Dense(
            hidden, kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            dtype=self.dtype_policy, name="dense")
        self._act = _activation(activation)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, dtype=self.dtype_policy, name="layer_norm")

    def build(self, sequence_output_shape, mask_positions_shape=None):
        hidden = self.token_embedding.output_dim
        self.dense.build((None, None, hidden))
        self.layer_norm.build((None, None, hidden))
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.token_embedding.input_dim,), initializer="zeros")
        self.built = True

    def call(self, sequence_output, mask_positions):
        """sequence_output [B, T, H], mask_positions [B, P] int -> logits [B, P, V] float32."""
        positions = ops.cast(mask_positions, "int32")
        x = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)  # [B, P, H]
        x = ops.cast(x, self.compute_dtype)
        x = self.layer_norm(self._act(self.dense(x)))
        table = ops.cast(self.token_embedding.embeddings, x.dtype)  # [V, H]
        logits = ops.matmul(x, ops.transpose(table))  # [B, P, V]
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def compute_output_shape(self, sequence_output_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.token_embedding.input_dim,)

    def get_config(self):
        # The tied embedding is a live reference; the owning model rebuilds it.
        config = super().get_config()
        config.update({"activation": self.activation, "layer_norm_eps": self.layer_norm_eps,
                       "initializer_range": self.initializer_range})
        return config
