"""BertClassifier: sequence classification (or regression) on the pooled [CLS] vector."""

from __future__ import annotations

import keras

from bert_tf.models.bert_task import BertTask


@keras.saving.register_keras_serializable(package="bert_tf")
class BertClassifier(BertTask):
    """encoder -> pooled_output -> dropout -> Dense(num_classes): ``logits`` [B, C] float32.

    num_classes=1 gives a regression head (train it with a mean squared error).

    Example:

    ```python
    preprocessor = BertPreprocessor.from_pretrained("path/to/bert", sequence_length=128)
    model = BertClassifier(BertEncoder.from_pretrained("path/to/bert"), num_classes=2)
    logits = model(preprocessor(tf.constant(["great film", "awful"])))  # [2, 2]
    ```
    """

    task_name = "classification"

    def __init__(self, encoder, num_classes, dropout=0.1, **kwargs):
        # === Layers ===
        dropout_layer = keras.layers.Dropout(dropout, name="classifier_dropout")
        dense = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=encoder.config.initializer_range
            ),
            dtype="float32",
            name="classifier",
        )
        # === Functional model ===
        inputs, outputs = self._encoder_call(encoder)
        logits = dense(dropout_layer(outputs["pooled_output"]))  # [B, C]
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.num_classes = num_classes
        self.dropout = dropout
        self.classifier = dense

    def _task_config(self):
        return {"num_classes": self.num_classes, "dropout": self.dropout}
