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
    return BertConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
        type_vocab_size=2,
    )


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
    from bert_tf.public_data import minilm_path

    try:
        return minilm_path()
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def tiny_sentiment_run(tmp_path_factory):
    """A tiny classifier fine-tuned on separable rows, shared by the distillation and serving-cost
    tests: (root, model_dir, train.csv, dev.csv, unlabeled.csv)."""
    from bert_tf.training.finetune import finetune_classifier
    from tests.training_helpers import write_sentiment_csv, write_tiny_model_folder

    root = tmp_path_factory.mktemp("tiny_sentiment")
    init = write_tiny_model_folder(str(root / "init"))
    train = write_sentiment_csv(str(root / "train.csv"), 64, seed=0)
    dev = write_sentiment_csv(str(root / "dev.csv"), 40, seed=1)
    unlabeled = write_sentiment_csv(str(root / "unlabeled.csv"), 64, seed=2)
    results = finetune_classifier(
        train,
        dev,
        init,
        str(root / "teacher"),
        max_seq_length=16,
        epochs=6,
        batch_size=8,
        learning_rate=3e-3,
        seed=1,
        tensorboard=False,
        verbose=0,
    )
    assert results["accuracy"] >= 0.75, (
        results
    )  # separable rows: a model worth distilling and exporting
    return root, str(root / "teacher" / "model"), train, dev, unlabeled
