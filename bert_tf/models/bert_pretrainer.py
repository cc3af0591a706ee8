"""BertPretrainer: masked-LM (tied to the word embeddings or not) plus an optional NSP head."""

from __future__ import annotations

import keras

from bert_tf.layers.masked_lm_head import MaskedLMHead
from bert_tf.models.bert_task import BertTask


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPretrainer(BertTask):
    """Inputs: the encoder's dict plus ``mask_positions`` [B, P] int.

    Outputs: ``mlm_logits`` [B, P, V] float32 and, with ``use_nsp``, ``nsp_logits``
    [B, 2] float32 (index 0 = "B follows A", as in google-research/bert).
    ``tie_mlm_embeddings=False`` gives the MLM head its own [V, H] output matrix (the
    encoder, and so fine-tuning, is unchanged); True (the default) is Google's tied head.

    Example:

    ```python
    model = BertPretrainer(BertEncoder.from_preset("bert_tiny", vocab_size=8000))
    features = preprocessor((tf.constant(["the sea"]), tf.constant(["was calm"])))
    out = model(dict(features, mask_positions=tf.constant([[1, 4]])))
    out["mlm_logits"].shape, out["nsp_logits"].shape  # (1, 2, 8000), (1, 2)
    ```
    """

    task_name = "pretraining"

    def __init__(self, encoder, use_nsp=True, tie_mlm_embeddings=True, **kwargs):
        config = encoder.config
        # === Layers ===
        mlm_head = MaskedLMHead(
            encoder.token_embedding,
            activation=config.keras_activation,
            layer_norm_eps=config.layer_norm_eps,
            initializer_range=config.initializer_range,
            tie_embeddings=tie_mlm_embeddings,
            dtype=encoder.dtype_policy,
            name="mlm_head",
        )
        nsp_head = (
            keras.layers.Dense(
                2,
                kernel_initializer=keras.initializers.TruncatedNormal(
                    stddev=config.initializer_range
                ),
                dtype="float32",
                name="nsp_head",
            )
            if use_nsp
            else None
        )
        # === Functional model ===
        inputs, outputs = self._encoder_call(encoder)
        inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        result = {"mlm_logits": mlm_head(outputs["sequence_output"], inputs["mask_positions"])}
        if use_nsp:
            result["nsp_logits"] = nsp_head(outputs["pooled_output"])
        super().__init__(inputs=inputs, outputs=result, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.use_nsp = use_nsp
        self.tie_mlm_embeddings = bool(tie_mlm_embeddings)
        self.mlm_head = mlm_head
        self.nsp_head = nsp_head

    def _task_config(self):
        return {"use_nsp": self.use_nsp, "tie_mlm_embeddings": self.tie_mlm_embeddings}
