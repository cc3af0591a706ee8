"""Parity with Hugging Face transformers on the real all-MiniLM-L6-v2 (golden values, no torch here).

tests/data/minilm_golden.npz was written once by tools/make_golden.py with
transformers' BertModel: a padded batch of sentence pairs and its
last_hidden_state / pooler_output.
"""

import os

import numpy as np
import pytest

from bert_tf.models import BertEncoder, convert
from tests.conftest import minilm_or_skip

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "minilm_golden.npz")
TOLERANCE = 1e-4

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def golden():
    data = np.load(GOLDEN)
    assert data["padding_mask"].min() == 0 and data["segment_ids"].max() == 1  # padded, two segments
    return data


def _check(encoder, golden):
    inputs = {k: golden[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    out = encoder(inputs)
    real = golden["padding_mask"].astype(bool)
    seq_diff = np.abs(out["sequence_output"].numpy() - golden["last_hidden_state"])[real].max()
    pooled_diff = np.abs(out["pooled_output"].numpy() - golden["pooler_output"]).max()
    assert seq_diff <= TOLERANCE, f"last_hidden_state max |diff| {seq_diff}"
    assert pooled_diff <= TOLERANCE, f"pooler_output max |diff| {pooled_diff}"


def test_hf_folder_matches_transformers(golden):
    _check(BertEncoder.from_pretrained(minilm_or_skip()), golden)


def test_google_tf1_checkpoint_of_the_same_weights_matches_transformers(golden, tmp_path):
    folder = str(tmp_path / "minilm_google")
    convert(minilm_or_skip(), folder, format="google")
    assert os.path.exists(os.path.join(folder, "bert_model.ckpt.index"))
    _check(BertEncoder.from_pretrained(folder), golden)


def test_bert_tf_folder_matches_transformers(golden, tmp_path):
    folder = str(tmp_path / "minilm_ours")
    BertEncoder.from_pretrained(minilm_or_skip()).save_pretrained(folder)
    _check(BertEncoder.from_pretrained(folder), golden)
