"""BertTextEmbedder: pooling modes, normalization, embed() order, serialization; real MiniLM vs
sentence-transformers."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.models import BertEncoder, BertTextEmbedder
from bert_tf.models.bert_text_embedder import read_sentence_transformers_pooling
from bert_tf.text import BertPreprocessor, BertTokenizer
from tests.conftest import minilm_or_skip
from tests.harness import run_saved_model_test
from tests.test_text_tokenizer import VOCAB

TEXTS = ["hello world", "the quick brown fox unaffable !", "hello", "中文 hello world the fox"]


def make_embedder(tiny_config, pooling="mean", normalize=True):
    encoder = BertEncoder(tiny_config)
    return BertTextEmbedder(
        encoder,
        BertPreprocessor(BertTokenizer(VOCAB), sequence_length=16),
        pooling=pooling,
        normalize=normalize,
    )


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_pooling_matches_manual_computation(tiny_config, pooling):
    embedder = make_embedder(tiny_config, pooling=pooling, normalize=False)
    features = embedder.preprocessor(tf.constant(TEXTS))
    seq = embedder.encoder(features)["sequence_output"].numpy()
    mask = features["padding_mask"].numpy().astype(bool)
    if pooling == "mean":
        expected = np.stack([seq[i][mask[i]].mean(0) for i in range(len(TEXTS))])
    elif pooling == "max":
        expected = np.stack([seq[i][mask[i]].max(0) for i in range(len(TEXTS))])
    else:
        expected = seq[:, 0]
    got = embedder(tf.constant(TEXTS)).numpy()
    assert got.shape == (4, 32) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_normalized_and_padding_free(tiny_config):
    embedder = make_embedder(tiny_config)
    batch = embedder(tf.constant(TEXTS)).numpy()
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    # a text's embedding does not depend on how much its batch was padded
    alone = embedder(tf.constant(TEXTS[:1])).numpy()
    np.testing.assert_allclose(alone[0], batch[0], atol=1e-5)


def test_embed_sorts_batches_and_restores_order(tiny_config):
    embedder = make_embedder(tiny_config)
    texts = TEXTS * 3 + ["fox"]
    got = embedder.embed(texts, batch_size=4)
    np.testing.assert_allclose(got, embedder(tf.constant(texts)).numpy(), atol=1e-5)
    assert embedder.embed([]).shape == (0, 32)
    np.testing.assert_allclose(embedder.predict(np.array(texts), batch_size=4), got, atol=1e-6)


def test_embed_xla_buckets_match_plain_graph(tiny_config):
    import dataclasses

    from bert_tf.models import bert_text_embedder

    config = dataclasses.replace(tiny_config, max_position_embeddings=48)
    encoder = BertEncoder(config)
    preprocessor = BertPreprocessor(BertTokenizer(VOCAB), sequence_length=40)
    xla = BertTextEmbedder(encoder, preprocessor, jit_compile=True)
    plain = BertTextEmbedder(encoder, preprocessor, jit_compile=False)
    long_text = " ".join(
        ["the quick brown fox"] * 12
    )  # capped at 40 tokens: not a multiple of the bucket
    texts = TEXTS + [long_text, "fox " * 20, "hello"]  # lengths in two buckets, a short last batch
    assert bert_text_embedder.LENGTH_BUCKET == 32
    got = xla.embed(texts, batch_size=4)
    np.testing.assert_allclose(got, plain.embed(texts, batch_size=4), atol=1e-5)
    np.testing.assert_allclose(got, plain(tf.constant(texts)).numpy(), atol=1e-5)
    assert BertTextEmbedder.from_config(plain.get_config()).jit_compile is False
    assert xla._compiled and not plain._compiled


def _record_paths(embedder):
    """Wraps embedder._embed_batch: returns the list of (bucket, use_xla) it is called with."""
    calls, original = [], embedder._embed_batch

    def spy(batch, key, use_xla):
        calls.append((key, use_xla))
        return original(batch, key, use_xla)

    embedder._embed_batch = spy
    return calls


def test_embed_auto_path_depends_on_inputs_only(tiny_config, monkeypatch):
    from bert_tf.models import bert_text_embedder

    embedder = make_embedder(tiny_config)
    assert embedder.jit_compile == "auto"
    calls = _record_paths(embedder)
    long_texts, few = ["fox " * 12] * 8, TEXTS[:2]  # 10 texts: batches of 4, 4, 2 at the cap of 16
    monkeypatch.setattr(bert_text_embedder, "XLA_MIN_BUCKET_TOKENS", 2 * 4 * 16)
    expected = embedder.embed(long_texts + few, batch_size=4)
    first = list(calls)
    assert first == [((4, 16), True), ((4, 16), True), ((2, 16), False)]  # 128 tokens vs 32
    # Same inputs, same path, whatever ran before (the few texts alone, then all of them again).
    del calls[:]
    embedder.embed(few, batch_size=4)
    assert calls == [((2, 16), False)]
    del calls[:]
    np.testing.assert_allclose(embedder.embed(long_texts + few, batch_size=4), expected, atol=1e-5)
    assert calls == first
    # A fresh embedder after a different history takes the same path too.
    other = BertTextEmbedder.from_config(embedder.get_config())
    other.set_weights(embedder.get_weights())
    other.embed(long_texts * 3, batch_size=4)
    other_calls = _record_paths(other)
    other.embed(long_texts + few, batch_size=4)
    assert other_calls == first
    assert embedder._plain_tokens == 0 and not embedder._bucket_tokens  # no timings kept


def test_embed_adaptive_compiles_a_bucket_only_when_it_pays(tiny_config, monkeypatch):
    from bert_tf.models import bert_text_embedder

    texts = TEXTS * 4 + ["fox " * 12] * 8
    reference = make_embedder(tiny_config)
    expected = reference.embed(texts, batch_size=4)
    config = dict(reference.get_config(), jit_compile="adaptive")
    monkeypatch.setattr(bert_text_embedder, "XLA_COMPILE_SECONDS", 1e9)  # never worth it
    never = BertTextEmbedder.from_config(config)
    never.set_weights(reference.get_weights())
    np.testing.assert_allclose(never.embed(texts, batch_size=4), expected, atol=1e-5)
    assert not never._compiled and never._plain_tokens > 0
    monkeypatch.setattr(
        bert_text_embedder, "XLA_COMPILE_SECONDS", 0.0
    )  # always worth it once measured
    always = BertTextEmbedder.from_config(config)
    always.set_weights(reference.get_weights())
    np.testing.assert_allclose(always.embed(texts, batch_size=4), expected, atol=1e-5)
    assert always._compiled and always._plain_tokens > 0  # plain first (to measure), XLA after
    with pytest.raises(ValueError, match="jit_compile"):
        BertTextEmbedder(reference.encoder, reference.preprocessor, jit_compile="yes")


def test_serialization_round_trip(tiny_config):
    embedder = make_embedder(tiny_config, pooling="max")
    clone = BertTextEmbedder.from_config(embedder.get_config())
    assert clone.pooling == "max" and clone.preprocessor.sequence_length == 16
    run_saved_model_test(embedder, tf.constant(TEXTS))


def test_bad_pooling_is_clear(tiny_config, tmp_path):
    with pytest.raises(ValueError, match="pooling"):
        make_embedder(tiny_config, pooling="sum")
    os.makedirs(tmp_path / "1_Pooling")
    with open(tmp_path / "1_Pooling" / "config.json", "w") as f:
        json.dump({"pooling_mode_mean_sqrt_len_tokens": True}, f)
    with pytest.raises(ValueError, match="unsupported sentence-transformers pooling"):
        read_sentence_transformers_pooling(str(tmp_path))
    assert read_sentence_transformers_pooling(str(tmp_path / "none")) is None


@pytest.mark.integration
def test_minilm_matches_sentence_transformers():
    """Golden values from sentence-transformers (tools/make_embedding_golden.py), tolerance 1e-6."""
    folder = minilm_or_skip()
    with open(
        os.path.join(os.path.dirname(__file__), "data", "embedder_golden.json"), encoding="utf-8"
    ) as f:
        golden = json.load(f)
    embedder = BertTextEmbedder.from_pretrained(folder)
    assert (embedder.pooling, embedder.preprocessor.sequence_length) == (
        "mean",
        golden["max_seq_length"],
    )
    texts = [t for pair in golden["pairs"] for t in (pair["a"], pair["b"])]
    got = embedder.embed(texts, batch_size=8)
    # Measured max |diff| 1.4e-7 (cosine), 1.8e-7 (embedding values); a LayerNorm epsilon of 1e-5
    # instead of 1e-12 moves them by 7.6e-5 / 1.7e-4 (tools/measure_tolerances.py).
    for i, pair in enumerate(golden["pairs"]):
        assert abs(float(got[2 * i] @ got[2 * i + 1]) - pair["cosine"]) < 1e-6, pair["a"][:40]
    expected = np.array(
        [e for pair in golden["pairs"] for e in (pair["embedding_a"], pair["embedding_b"])]
    )
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
