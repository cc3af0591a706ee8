"""MaskedLMHead: BERT's MLM output, tied to the word-embedding table or with its own."""

from __future__ import annotations

import keras
from keras import ops

from bert_tf.layers.transformer_block import _activation


@keras.saving.register_keras_serializable(package="bert_tf")
class MaskedLMHead(keras.layers.Layer):
    """Gathers the masked positions and scores them against the vocabulary.

    transform: Dense(H, activation) -> LayerNorm; logits = x @ E^T + bias, where E is
    the encoder's word-embedding table with ``tie_embeddings=True`` (as in
    google-research/bert), else the head's own ``output_embeddings`` [V, H]. Untied, a
    token's input embedding gets gradient only where the token is in the batch; tied,
    every row gets the softmax's push each step (which Adam scales up to full-size steps).

    Call: ``sequence_output`` [B, T, H], ``mask_positions`` [B, P] int -> logits [B, P, V]
    float32. BertPretrainer builds one tied to its encoder.

    Example:

    ```python
    encoder = BertEncoder.from_preset("bert_tiny", vocab_size=100)
    head = MaskedLMHead(encoder.token_embedding)
    sequence = np.random.normal(size=(2, 8, 128)).astype("float32")
    logits = head(sequence, np.array([[1, 4], [2, 0]]))  # [2, 2, 100]
    ```
    """

    def __init__(
        self,
        token_embedding,
        activation="gelu",
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        tie_embeddings=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Config ===
        self.token_embedding = token_embedding
        self.activation = activation
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.tie_embeddings = bool(tie_embeddings)
        # === Layers ===
        hidden = token_embedding.output_dim
        self.dense = keras.layers.Dense(
            hidden,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )
        self._act = _activation(activation)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, dtype=self.dtype_policy, name="layer_norm"
        )

    def build(self, sequence_output_shape, mask_positions_shape=None):
        hidden = self.token_embedding.output_dim
        if not self.token_embedding.built:  # rebuilt from a config alone (not tied to an encoder)
            self.token_embedding.build(None)
        self.dense.build((None, None, hidden))
        self.layer_norm.build((None, None, hidden))
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.token_embedding.input_dim,), initializer="zeros"
        )
        if not self.tie_embeddings:
            self.output_embeddings = self.add_weight(
                name="output_embeddings",
                shape=(self.token_embedding.input_dim, hidden),
                initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
            )
        self.built = True

    @property
    def output_table(self):
        """The [V, H] matrix the logits are scored against (tied: the encoder's embeddings)."""
        return self.token_embedding.embeddings if self.tie_embeddings else self.output_embeddings

    def call(self, sequence_output, mask_positions):
        """sequence_output [B, T, H], mask_positions [B, P] int -> logits [B, P, V] float32."""
        positions = ops.cast(mask_positions, "int32")
        x = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)  # [B, P, H]
        x = ops.cast(x, self.compute_dtype)
        x = self.layer_norm(self._act(self.dense(x)))
        table = ops.cast(self.output_table, x.dtype)  # [V, H]
        logits = ops.matmul(x, ops.transpose(table))  # [B, P, V]
        return ops.cast(logits, "float32") + ops.cast(self.output_bias, "float32")

    def compute_output_shape(self, sequence_output_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.token_embedding.input_dim,)

    def get_config(self):
        # The tied embedding's config: from_config rebuilds a standalone head with its own table
        # (the weights come with a saved head). BertPretrainer ties a new head to its encoder
        # instead of rebuilding this one.
        config = super().get_config()
        config.update(
            {
                "token_embedding": keras.saving.serialize_keras_object(self.token_embedding),
                "activation": self.activation,
                "layer_norm_eps": self.layer_norm_eps,
                "initializer_range": self.initializer_range,
                "tie_embeddings": self.tie_embeddings,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("token_embedding"), dict):
            embedding = keras.saving.deserialize_keras_object(config["token_embedding"])
            config["token_embedding"] = embedding
        return cls(**config)
