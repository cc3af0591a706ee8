"""BertSpanLabeler: start/end logits for extractive question answering (SQuAD)."""

from __future__ import annotations

import keras
from keras import ops

from bert_tf.models.bert_task import BertTask


@keras.saving.register_keras_serializable(package="bert_tf")
class BertSpanLabeler(BertTask):
    """encoder -> sequence_output -> Dense(2): ``start_logits``, ``end_logits`` [B, T] float32.

    Padding positions get -1e9 so a softmax over T never picks them.

    Example:

    ```python
    model = BertSpanLabeler(BertEncoder.from_pretrained("path/to/bert"))
    out = model(preprocessor((tf.constant(["Who wrote it?"]), tf.constant(["Ann wrote it."]))))
    out["start_logits"].shape  # (1, T); argmax over T is the answer's first token
    ```
    """

    task_name = "question_answering"

    def __init__(self, encoder, **kwargs):
        # === Layers ===
        dense = keras.layers.Dense(
            2,
            kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=encoder.config.initializer_range
            ),
            dtype="float32",
            name="span_classifier",
        )
        # === Functional model ===
        inputs, outputs = self._encoder_call(encoder)
        logits = dense(outputs["sequence_output"])  # [B, T, 2]
        pad_bias = (1.0 - ops.cast(inputs["padding_mask"], "float32")) * -1e9  # [B, T]
        outputs = {
            "start_logits": logits[:, :, 0] + pad_bias,
            "end_logits": logits[:, :, 1] + pad_bias,
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.classifier = dense

    def _task_config(self):
        return {}
