"""BertMaskedLMMasker (dynamic 15% / 80-10-10, whole words, specials never) and NSP pair
generation."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.text import (
    BertMaskedLMMasker,
    BertPreprocessor,
    BertTokenizer,
    next_sentence_dataset,
    next_sentence_pairs,
)

WORDS = [f"w{i}" for i in range(40)]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["##x", "##y"]
TOK = BertTokenizer(VOCAB)
PRE = BertPreprocessor(TOK, sequence_length=64)


def batch(n=64, seed=0):
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(n):
        words = [
            rng.choice(WORDS) + rng.choice(["", "x", "xy"]) for _ in range(rng.integers(3, 40))
        ]
        texts.append(" ".join(words))
    return PRE(tf.constant(texts))


def chosen_mask(out, shape):
    chosen = np.zeros(shape, bool)
    for b, (pos, w) in enumerate(zip(out["mask_positions"].numpy(), out["mask_weights"].numpy())):
        chosen[b, pos[w > 0]] = True
    return chosen


@pytest.mark.parametrize("whole_word", [False, True])
def test_masking_rules(whole_word):
    features = batch()
    masker = BertMaskedLMMasker.from_tokenizer(
        TOK, whole_word_masking=whole_word, max_predictions_per_seq=8, seed=0
    )
    out = masker(features)
    ids, masked = features["token_ids"].numpy(), out["token_ids"].numpy()
    assert out["mask_positions"].shape == (64, 8) and out["mask_weights"].dtype == tf.float32
    spec = (
        tf.function(masker)
        .get_concrete_function({k: tf.TensorSpec([None, None], tf.int32) for k in features})
        .structured_outputs
    )
    assert spec["mask_positions"].shape.as_list() == [None, 8]
    chosen = chosen_mask(out, ids.shape)
    # never specials or padding; only chosen tokens change; mask_ids are the originals
    assert not np.isin(ids[chosen], [0, 2, 3]).any()
    assert not ((masked != ids) & ~chosen).any()
    np.testing.assert_array_equal(
        out["mask_ids"].numpy()[out["mask_weights"].numpy() > 0], ids[chosen]
    )
    # unused slots: weight 0, position 0, id 0
    unused = out["mask_weights"].numpy() == 0
    assert (out["mask_positions"].numpy()[unused] == 0).all() and (
        out["mask_ids"].numpy()[unused] == 0
    ).all()
    # 15% of the selectable tokens, capped at max_predictions_per_seq
    n_selectable = features["padding_mask"].numpy().sum(1) - 2
    expected = np.minimum(8, np.maximum(1, np.round(0.15 * n_selectable)))
    counts = out["mask_weights"].numpy().sum(1)
    if whole_word:
        assert (counts <= expected).all() and counts.mean() > 0.95 * expected.mean()
        # a chosen "##" piece always comes with the rest of its word
        vocab = np.array(VOCAB)
        cont = np.char.startswith(vocab[ids], "##")
        assert not (cont[:, 1:] & (chosen[:, 1:] != chosen[:, :-1])).any()
    else:
        np.testing.assert_array_equal(counts, expected)
    # masks are fresh on every call
    assert (masker(features)["mask_positions"].numpy() != out["mask_positions"].numpy()).any()


def test_80_10_10_split():
    features = batch(n=512, seed=1)
    out = BertMaskedLMMasker.from_tokenizer(TOK, max_predictions_per_seq=20, seed=3)(features)
    ids, masked = features["token_ids"].numpy(), out["token_ids"].numpy()
    chosen = chosen_mask(out, ids.shape)
    as_mask = (masked[chosen] == 4).mean()
    unchanged = (masked[chosen] == ids[chosen]).mean()
    assert abs(as_mask - 0.8) < 0.03 and abs(unchanged - 0.1) < 0.03  # ~2000 draws


def test_fresh_masks_each_epoch_in_tf_data_and_config():
    masker = BertMaskedLMMasker.from_tokenizer(TOK, max_predictions_per_seq=5)
    texts = [" ".join(WORDS[i : i + 20]) for i in range(8)]
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(4).map(PRE).map(masker)
    first = [x["mask_positions"].numpy() for x in ds]
    second = [x["mask_positions"].numpy() for x in ds]
    assert any((a != b).any() for a, b in zip(first, second))
    clone = BertMaskedLMMasker.from_config(masker.get_config())
    assert clone.get_config() == masker.get_config()
    with pytest.raises(ValueError, match="continuation_token_ids"):
        BertMaskedLMMasker(10, 4, whole_word_masking=True)


def test_next_sentence_pairs():
    docs = [[f"d{d}s{s}" for s in range(6)] for d in range(20)] + [["lonely"], [" ", ""]]
    pairs = list(next_sentence_pairs(docs, seed=0))
    assert len(pairs) == 20 * 5
    labels = collections.Counter(label for _, _, label in pairs)
    assert 35 <= labels[1] <= 65  # ~50% random
    for a, b, label in pairs:
        doc_a, doc_b = a.split("s")[0], b.split("s")[0]
        if label == 0:
            assert doc_a == doc_b and int(b.split("s")[1]) == int(a.split("s")[1]) + 1
        else:
            assert doc_a != doc_b
    assert pairs == list(next_sentence_pairs(docs, seed=0))
    ds = next_sentence_dataset(docs, seed=0)
    epoch1, epoch2 = list(ds.as_numpy_iterator()), list(ds.as_numpy_iterator())
    assert len(epoch1) == 100 and epoch1 != epoch2
    with pytest.raises(ValueError, match="at least 2"):
        list(next_sentence_pairs([["only", "one doc"]]))
