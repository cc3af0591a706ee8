"""Shared fixtures: tiny configs and inputs made here, nothing downloaded."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from bert_tf.config import BertConfig


@pytest.fixture
def tiny_config():
    """2 layers, H=32, 4 heads: builds in well under a second."""
    return BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=24, type_vocab_size=2)


@pytest.fixture
def tiny_inputs():
    """A padded batch of two rows with two segments."""
    rng = np.random.default_rng(0)
    token_ids = rng.integers(5, 64, size=(2, 9)).astype("int32")
    segment_ids = np.array([[0] * 5 + [1] * 4, [0] * 4 + [1] * 2 + [0] * 3], "int32")
    padding_mask = np.array([[1] * 9, [1] * 6 + [0] * 3], "int32")
    token_ids[1, 6:] = 0
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def minilm_or_skip():
    """Path of the real all-MiniLM-L6-v2 package; `make venv` installs it."""
    from bert_tf.datasets import minilm_path
    try:
        return minilm_path()
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
