"""BertPreprocessor: packing, both truncations, batch-longest padding, tf.data, fit, SavedModel, HF
parity."""

import json
import os
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.text import BertPreprocessor, BertTokenizer
from bert_tf.text.bert_preprocessor import longest_first_lengths
from tests.conftest import minilm_or_skip
from tests.test_text_tokenizer import VOCAB

# ids: the=5 quick=6 brown=7 fox=8 hello=21 world=22 !=16
TOK = BertTokenizer(VOCAB)


def test_single_texts_pad_to_longest_in_batch_only():
    pre = BertPreprocessor(TOK, sequence_length=16)
    out = pre(tf.constant(["hello world", "the quick brown fox"]))
    np.testing.assert_array_equal(out["token_ids"], [[2, 21, 22, 3, 0, 0], [2, 5, 6, 7, 8, 3]])
    np.testing.assert_array_equal(out["segment_ids"], np.zeros((2, 6)))
    np.testing.assert_array_equal(out["padding_mask"], [[1, 1, 1, 1, 0, 0], [1] * 6])
    assert all(v.dtype == tf.int32 for v in out.values())
    # capped at sequence_length when a text is longer
    out = BertPreprocessor(TOK, sequence_length=4)(tf.constant(["the quick brown fox", "hello"]))
    np.testing.assert_array_equal(out["token_ids"], [[2, 5, 6, 3], [2, 21, 3, 0]])


def test_pairs_and_segment_ids():
    pre = BertPreprocessor(TOK, sequence_length=16)
    out = pre((tf.constant(["hello", "the fox"]), tf.constant(["world !", "hello"])))
    np.testing.assert_array_equal(out["token_ids"], [[2, 21, 3, 22, 16, 3], [2, 5, 8, 3, 21, 3]])
    np.testing.assert_array_equal(out["segment_ids"], [[0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1]])
    column = pre(tf.constant([["hello"], ["the fox"]]))  # Keras-style [B, 1] strings
    np.testing.assert_array_equal(column["token_ids"], [[2, 21, 3, 0], [2, 5, 8, 3]])
    single = pre(tf.constant("hello"))
    np.testing.assert_array_equal(single["token_ids"], [2, 21, 3])


def test_round_robin_vs_longest_first():
    a, b = tf.constant(["the quick brown fox the quick"]), tf.constant(["hello world"])
    rr = BertPreprocessor(TOK, sequence_length=7, truncation="round_robin")((a, b))
    lf = BertPreprocessor(TOK, sequence_length=7, truncation="longest_first")((a, b))
    # budget 4: round robin alternates (2 + 2); longest first cuts the longer text (2 + 2 here too)
    np.testing.assert_array_equal(rr["token_ids"], [[2, 5, 6, 3, 21, 22, 3]])
    np.testing.assert_array_equal(lf["token_ids"], [[2, 5, 6, 3, 21, 22, 3]])
    # 3 + 3 tokens, budget 5: round robin gives the extra token to the first text, HF to the second
    a, b = tf.constant(["the quick brown"]), tf.constant(["hello world !"])
    rr = BertPreprocessor(TOK, sequence_length=8, truncation="round_robin")((a, b))
    lf = BertPreprocessor(TOK, sequence_length=8, truncation="longest_first")((a, b))
    np.testing.assert_array_equal(rr["token_ids"], [[2, 5, 6, 7, 3, 21, 22, 3]])
    np.testing.assert_array_equal(lf["token_ids"], [[2, 5, 6, 3, 21, 22, 16, 3]])


def test_longest_first_rule():
    a = tf.constant([10, 3, 10, 6, 5, 1], tf.int64)
    b = tf.constant([10, 10, 3, 6, 6, 1], tf.int64)
    new_a, new_b = longest_first_lengths(a, b, 9)
    # equal: first gets 4, second 5; short fits in half: kept; both long: the longer gets the odd
    # token
    assert new_a.numpy().tolist() == [4, 3, 6, 4, 4, 1]
    assert new_b.numpy().tolist() == [5, 6, 3, 5, 5, 1]


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="truncation"):
        BertPreprocessor(TOK, truncation="middle")
    with pytest.raises(ValueError, match="sequence_length"):
        BertPreprocessor(TOK, sequence_length=2)
    with pytest.raises(TypeError, match="BertTokenizer"):
        BertPreprocessor("vocab.txt")


def test_in_tf_data_and_model_fit():
    pre = BertPreprocessor(TOK, sequence_length=8)
    texts = ["hello world", "the quick brown fox", "hello", "the fox !"]
    ds = (
        tf.data.Dataset.from_tensor_slices((texts, [0, 1, 0, 1]))
        .batch(2)
        .map(lambda x, y: (pre(x), y))
    )
    shapes = [x["token_ids"].shape[1] for x, _ in ds]
    assert shapes == [6, 5]
    inputs = {
        k: keras.Input(shape=(None,), dtype="int32", name=k)
        for k in ("token_ids", "segment_ids", "padding_mask")
    }
    emb = keras.layers.Embedding(len(VOCAB), 4)(inputs["token_ids"])
    logits = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(emb))
    model = keras.Model(inputs, logits)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_string_model_and_saved_model(tmp_path):
    from export.op_check import check_ops

    pre = BertPreprocessor(TOK, sequence_length=8, truncation="longest_first")
    text = keras.Input(shape=(), dtype="string", name="text")
    features = pre(text)
    model = keras.Model(text, features["token_ids"] * features["padding_mask"])
    np.testing.assert_array_equal(model(tf.constant(["hello world"])), [[2, 21, 22, 3]])

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string)]
    )
    def serve(a, b):
        return pre((a, b))

    module = tf.Module()
    module.pre = pre
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": serve})
    check_ops(str(tmp_path))
    out = tf.saved_model.load(str(tmp_path)).signatures["serving_default"](
        a=tf.constant(["hello"]), b=tf.constant(["world"])
    )
    np.testing.assert_array_equal(out["token_ids"], [[2, 21, 3, 22, 3]])


def test_config_round_trip():
    pre = BertPreprocessor(TOK, sequence_length=9, truncation="longest_first")
    clone = BertPreprocessor.from_config(pre.get_config())
    assert clone.get_config() == pre.get_config()
    restored = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(pre)))
    )
    out = restored((tf.constant(["hello"]), tf.constant(["world"])))
    np.testing.assert_array_equal(out["segment_ids"], [[0, 0, 0, 1, 1]])


@pytest.mark.integration
def test_pairs_match_hugging_face_longest_first():
    """ids and type ids equal to HF tokenizer(text, pair, truncation=True, max_length=N) on real
    hostile text."""
    tokenizers = pytest.importorskip("tokenizers")
    folder = minilm_or_skip()
    hf = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    hf.no_padding()
    with open(
        os.path.join(os.path.dirname(__file__), "data", "tokenizer_parity.jsonl"), encoding="utf-8"
    ) as f:
        texts = [r["text"] for r in map(json.loads, f) if "text" in r]
    rng = random.Random(0)
    for n in (5, 16, 33, 128):
        hf.enable_truncation(max_length=n, strategy="longest_first")
        pre = BertPreprocessor.from_pretrained(
            folder, sequence_length=n, truncation="longest_first"
        )
        a, b = rng.sample(texts, 48), rng.sample(texts, 48)
        out = pre((tf.constant(a), tf.constant(b)))
        expected = hf.encode_batch(list(zip(a, b)))
        assert out["token_ids"].shape[1] == max(len(e.ids) for e in expected)
        for i, e in enumerate(expected):
            keep = out["padding_mask"][i].numpy().astype(bool)
            assert out["token_ids"][i].numpy()[keep].tolist() == e.ids
            assert out["segment_ids"][i].numpy()[keep].tolist() == e.type_ids
