"""accept_raw_inputs: the one place bert_tf sets Keras's private input flags, and why.

Keras 3's ``Layer.__call__`` converts every positional argument to a backend
tensor and rejects positional arguments that are not tensors. The text layers
(BertTokenizer, BertPreprocessor, BertMaskedLMMasker) and BertTextEmbedder take
``tf.string`` tensors, Python strings, ragged tensors and ``(texts_a, texts_b)``
tuples, which must reach ``call()`` untouched. Keras has no public switch for
this; keras-hub's ``PreprocessingLayer`` sets the same two private attributes.
Setting them only here means a Keras upgrade that renames them breaks one
function, and tests/test_text_*.py show it at once.
"""

from __future__ import annotations


def accept_raw_inputs(layer):
    """Lets ``layer(...)`` pass its inputs to ``call()`` as given (no conversion, no type check).

    Example:

    ```python
    class Lowercase(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            accept_raw_inputs(self)

        def call(self, texts):
            return tf.strings.lower(texts)

    Lowercase()(["Hello"])  # a Python list reaches call() as it is
    ```
    """
    layer._convert_input_args = False  # keep tf.string / ragged tensors as TensorFlow tensors
    layer._allow_non_tensor_positional_args = True  # accept str, list and tuple arguments
    return layer
