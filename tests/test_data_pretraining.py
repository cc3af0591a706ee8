"""Pretraining data: documents from plain text, segment pairs (NSP), dynamic masking in tf.data."""

import random

import numpy as np
import pytest

from bert_tf.data import DataError
from bert_tf.data.pretraining import create_segment_pairs, read_documents
from tests.test_data_readers import write


def _fake_documents(n=30, seed=0):
    """Token id = doc * 1000 + sentence * 10 + position, so a pair's origin can be read off its ids."""
    rng = random.Random(seed)
    return [[[d * 1000 + s * 10 + t for t in range(rng.randint(1, 9))] for s in range(rng.randint(1, 12))]
            for d in range(n)]


def test_documents_are_split_on_blank_lines_across_a_glob(tmp_path):
    write(tmp_path / "a.txt", "First line.\nSecond line.\n\n\nNew document.\n")
    write(tmp_path / "b.txt", "  \nOther file.\n")
    assert read_documents(str(tmp_path / "*.txt")) == [["First line.", "Second line."], ["New document."],
                                                       ["Other file."]]
    with pytest.raises(DataError, match="no text found"):
        read_documents(write(tmp_path / "empty.txt", "\n\n"))


def test_nsp_pairs_follow_the_rules():
    docs = _fake_documents()
    pairs = create_segment_pairs(docs, max_seq_length=32, use_nsp=True, seed=1)
    assert pairs == create_segment_pairs(docs, max_seq_length=32, use_nsp=True, seed=1)  # seeded
    random_next = [p[2] for p in pairs]
    assert 0.35 < np.mean(random_next) < 0.75
    for a, b, is_random in pairs:
        assert a and b and len(a) + len(b) <= 32 - 3
        same_doc = a[-1] // 1000 == b[0] // 1000
        assert same_doc != bool(is_random)  # "next" pairs continue the document, random ones do not
        if not is_random:  # B comes from sentences after A's
            assert (b[0] % 1000) // 10 > (a[-1] % 1000) // 10


def test_without_nsp_every_token_is_used_once_in_order():
    docs = _fake_documents()
    pairs = create_segment_pairs(docs, max_seq_length=16, use_nsp=False, seed=0)
    assert all(b == [] and r == 0 and 1 <= len(a) <= 14 for a, b, r in pairs)
    assert sorted(t for a, _, _ in pairs for t in a) == sorted(t for d in docs for s in d for t in s)
