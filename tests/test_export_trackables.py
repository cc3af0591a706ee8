"""The serving module tracks what the preprocessor lists (public API), not a walk over vars()."""

import numpy as np
import tensorflow as tf

from bert_tf.text import BertPreprocessor, BertTokenizer
from export import signatures
from tests.test_text_tokenizer import VOCAB


class _TablePreprocessor:
    """A preprocessor whose graph reads a lookup table it lists in trackables()."""

    def __init__(self):
        self.holder = tf.Module()
        self.holder.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(["a", "b"]), tf.constant([1, 2], tf.int64)
            ),
            default_value=0,
        )

    def trackables(self):
        return [self.holder]

    def __call__(self, texts):
        return self.holder.table.lookup(texts)


def test_bert_preprocessor_lists_its_wordpiece_model():
    tokenizer = BertTokenizer(VOCAB)
    preprocessor = BertPreprocessor(tokenizer, sequence_length=8)
    assert preprocessor.trackables() == [tokenizer._wordpiece]
    assert signatures._preprocessor_trackables(preprocessor) == [tokenizer._wordpiece]
    assert signatures._preprocessor_trackables(lambda texts: texts) == []


def test_listed_resources_are_saved_with_the_export(tmp_path):
    preprocessor = _TablePreprocessor()
    module = signatures._ServingModule(_NoModel(), preprocessor)
    module.lookup = tf.function(
        preprocessor.__call__, input_signature=[tf.TensorSpec([None], tf.string)]
    )
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.lookup})
    del module, preprocessor
    loaded = tf.saved_model.load(str(tmp_path))
    out = loaded.signatures["serving_default"](tf.constant(["b", "a", "z"]))
    np.testing.assert_array_equal(list(out.values())[0].numpy(), [2, 1, 0])


class _NoModel:
    variables = []
