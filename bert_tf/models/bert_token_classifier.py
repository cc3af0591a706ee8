"""BertTokenClassifier: a label per token (NER, POS), on the sequence output."""

from __future__ import annotations

import keras

from bert_tf.models.bert_task import BertTask


@keras.saving.register_keras_serializable(package="bert_tf")
class BertTokenClassifier(BertTask):
    """encoder -> sequence_output -> dropout -> Dense(num_classes): ``logits`` [B, T, C] float32.

    Example:

    ```python
    model = BertTokenClassifier(BertEncoder.from_pretrained("path/to/bert"), num_classes=9)
    logits = model(preprocessor(tf.constant(["Ann lives in Paris"])))  # [1, T, 9]
    ```
    """

    task_name = "token_classification"

    def __init__(self, encoder, num_classes, dropout=0.1, **kwargs):
        # === Layers ===
        dropout_layer = keras.layers.Dropout(dropout, name="token_classifier_dropout")
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=encoder.config.initializer_range
            ),
            dtype="float32",
            name="token_classifier",
        )
        # === Functional model ===
        inputs, outputs = self._encoder_call(encoder)
        logits = dense(dropout_layer(outputs["sequence_output"]))  # [B, T, C]
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.num_classes = num_classes
        self.dropout = dropout
        self.classifier = dense

    def _task_config(self):
        return {"num_classes": self.num_classes, "dropout": self.dropout}
