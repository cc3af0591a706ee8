"""TokenWindows: word split, windows over long text and BERT's max-context decision, in-graph."""

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.data.conll import token_word_pieces
from bert_tf.data.token_windows import (
    TokenWindows,
    choose_word_split,
    default_window_stride,
    join_words,
    split_words,
    window_starts,
)
from tests.test_data_readers import make_preprocessor


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return make_preprocessor(tmp_path_factory.mktemp("vocab")).tokenizer


def _bert_doc_spans(n, max_pieces, stride):
    """google-research/bert run_squad.py's doc-span loop (with at least one span)."""
    spans, start = [], 0
    while start < n:
        length = min(n - start, max_pieces)
        spans.append((start, length))
        if start + length == n:
            break
        start += min(length, stride)
    return spans or [(0, 0)]


def _bert_max_context(spans, position):
    """run_squad.py's _check_is_max_context: the span index where ``position`` has most context."""
    best, best_score = None, None
    for i, (start, length) in enumerate(spans):
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best, best_score = i, score
    return best


def test_windows_follow_berts_doc_spans(tokenizer):
    for seq, stride in ((5, 1), (5, 2), (5, 3), (8, 3), (16, 8), (16, 14)):
        windows = TokenWindows(tokenizer, seq, ["O"], window_stride=stride)
        counts = list(range(0, 40))
        row, start, length = (
            t.numpy().tolist() for t in windows.windows(tf.constant(counts, tf.int64))
        )
        for n in counts:
            spans = [(s, ln) for r, s, ln in zip(row, start, length) if r == n]
            assert spans == _bert_doc_spans(n, seq - 2, stride), (seq, stride, n)
            assert [s for s, _ in spans] == window_starts(n, seq - 2, stride)
    assert default_window_stride(128) == 64 and default_window_stride(3) == 1
    with pytest.raises(ValueError, match="window_stride must be between 1 and"):
        TokenWindows(tokenizer, 8, ["O"], window_stride=7)


def test_split_words_whitespace_cjk_characters_and_offsets():
    text = tf.constant(
        [
            "  Caf\u00e9 \u5317\u4eacx\u3000a\u00a0b ".encode(),
            b"",
            b"\xff!",  # invalid UTF-8
            "\u6211\u7231 ab\u4e2d".encode(),
        ]
    )
    ws = split_words(text, "whitespace")
    assert [[w.decode() for w in row] for row in ws["words"].to_list()] == [
        ["Caf\u00e9", "\u5317", "\u4eac", "x", "a", "b"],
        [],
        ["\ufffd!"],
        ["\u6211", "\u7231", "ab", "\u4e2d"],
    ]
    assert ws["char_starts"].to_list()[0] == [2, 7, 8, 9, 11, 13]
    assert ws["char_ends"].to_list()[0] == [6, 8, 9, 10, 12, 14]
    raw = "  Caf\u00e9 \u5317\u4eacx\u3000a\u00a0b ".encode()
    for s, e, w in zip(
        ws["byte_starts"].to_list()[0], ws["byte_ends"].to_list()[0], ws["words"].to_list()[0]
    ):
        assert raw[s:e] == w
    chars = split_words(text, "characters")
    assert [w.decode() for w in chars["words"].to_list()[3]] == [
        "\u6211",
        "\u7231",
        "a",
        "b",
        "\u4e2d",
    ]
    assert chars["char_starts"].to_list()[3] == [0, 1, 3, 4, 5]
    # a CoNLL sentence joined for its split gives back its tokens
    tokens = ["R.H.", "Saunders", "(", "St.", "Lawrence", ")", "\u00e9t\u00e9"]
    got = split_words(tf.constant([join_words(tokens, "whitespace")]), "whitespace")["words"]
    assert [w.decode() for w in got.to_list()[0]] == tokens
    assert choose_word_split([["\u5317", "\u4eac"], ["a"]]) == "characters"
    assert choose_word_split([["Paris", "("], ["a"]]) == "whitespace"
    assert choose_word_split([["a"]], "whitespace") == "whitespace"


def test_token_pieces_equal_the_pieces_of_the_joined_text(tokenizer):
    """Training (CoNLL tokens) and serving (raw text) see the same pieces: by construction."""
    sentences = [
        ["John", "lives", "in", "New", "York", "."],
        ["unbelievable", "\u5317x", "a"],
        ["x"],
    ]
    for split in ("whitespace", "characters"):
        tokens = tf.ragged.constant(sentences)
        from_tokens = token_word_pieces(tokenizer, tokens, word_split=split)["ids"].to_list()
        words = split_words(tf.constant([join_words(s, split) for s in sentences]), split)["words"]
        from_text = tokenizer(words.flat_values)
        from_text = tf.RaggedTensor.from_row_splits(
            from_text.flat_values, tf.gather(from_text.row_splits, words.row_splits)
        )
        assert from_tokens == from_text.to_list(), split


class WindowIndexModel:
    """Logits that name the window: class w wins in window w (so a word's label = its window)."""

    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.calls = []

    def __call__(self, features, training=False):
        ids = features["token_ids"]
        self.calls.append(ids.shape)
        nw, t = tf.shape(ids)[0], tf.shape(ids)[1]
        onehot = tf.one_hot(tf.range(nw), self.num_classes) * 5.0  # [NW, C]
        return tf.tile(onehot[:, None, :], [1, t, 1])


def test_every_word_takes_the_label_of_its_max_context_window(tokenizer):
    # (Only a window that ends the text is shorter, and it comes last: BERT's 0.01 * length term
    # never changes a decision that "earliest window wins ties" has not made already.)
    labels = [str(i) for i in range(64)]
    texts = [
        "john lives in new york and works for acme corp in paris . "
        "he was born in the city of paris",
        "the movie was unbelievable",
        "",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    ]
    for seq, stride in ((6, 2), (8, 3), (8, 6), (16, 8)):
        windows = TokenWindows(tokenizer, seq, labels, window_stride=stride)
        model = WindowIndexModel(len(labels))
        out = windows.tag_text(model, tf.constant(texts))
        got = out["word_label_ids"].to_list()
        offset = 0  # windows of all texts are numbered together, text after text
        for row, text in enumerate(texts):
            words = text.split()
            pieces = [tokenizer(tf.constant([w]))[0].numpy().tolist() for w in words]
            first, n = [], 0
            for p in pieces:
                first.append(n)
                n += len(p)
            spans = _bert_doc_spans(n, seq - 2, stride)
            expected = [offset + _bert_max_context(spans, f) for f in first]
            assert got[row] == expected, (seq, stride, text)
            offset += len(spans)
        assert max(len(g) for g in got) == 26
        np.testing.assert_allclose(
            out["word_scores"].flat_values, np.exp(5) / (np.exp(5) + 63), rtol=1e-5
        )


def test_words_without_pieces_get_the_outside_label(tokenizer):
    windows = TokenWindows(tokenizer, 8, ["B-X", "O"], outside_label="O")
    model = WindowIndexModel(2)  # window 0 -> class 0 "B-X"
    out = windows.tag_text(model, tf.constant(["john \u200b paris", "\u200b", ""]))
    assert out["word_label_ids"].to_list() == [[0, 1, 0], [1], []]
    assert out["word_scores"].to_list()[1] == [0.0]
    empty = windows.tag_text(model, tf.zeros([0], tf.string))
    assert empty["word_label_ids"].to_list() == []
