"""Prints the measured differences the parity and mixed-precision tests' tolerances come from.

    PYTHONPATH=$PWD python tools/measure_tolerances.py

Needs the real all-MiniLM-L6-v2 (bert_tf.public_data.minilm_path()). Figures: max |diff| of
last_hidden_state (real tokens) and pooler_output against tests/data/minilm_golden.npz
(transformers), of the sentence embedder against tests/data/embedder_golden.json
(sentence-transformers), of a tiny random HF checkpoint against the numpy reference forward pass
(tests/checkpoint_fixtures.py), and of mixed_float16 / mixed_bfloat16 against float32.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from bert_tf import BertTextEmbedder
from bert_tf.config import BertConfig
from bert_tf.models import BertEncoder, convert
from bert_tf.public_data import minilm_path
from tests.checkpoint_fixtures import hf_state_dict, numpy_bert, write_hf_folder

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data")


def _golden_diffs(encoder, golden):
    out = encoder({k: golden[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    real = golden["padding_mask"].astype(bool)
    return (
        np.abs(out["sequence_output"].numpy() - golden["last_hidden_state"])[real].max(),
        np.abs(out["pooled_output"].numpy() - golden["pooler_output"]).max(),
    )


def main():
    golden = np.load(os.path.join(DATA, "minilm_golden.npz"))
    inputs = {k: golden[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    real = golden["padding_mask"].astype(bool)
    seq, pooled = _golden_diffs(BertEncoder.from_pretrained(minilm_path()), golden)
    print(f"hf folder vs transformers: sequence {seq:.2e} pooled {pooled:.2e}")
    with tempfile.TemporaryDirectory() as tmp:
        convert(minilm_path(), os.path.join(tmp, "google"), format="google")
        seq, pooled = _golden_diffs(
            BertEncoder.from_pretrained(os.path.join(tmp, "google")), golden
        )
        print(f"google checkpoint vs transformers: sequence {seq:.2e} pooled {pooled:.2e}")

        config = BertConfig(
            vocab_size=64,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=24,
            type_vocab_size=2,
        )
        rng = np.random.default_rng(0)  # tests/conftest.py tiny_inputs
        token_ids = rng.integers(5, 64, size=(2, 9)).astype("int32")
        segment_ids = np.array([[0] * 5 + [1] * 4, [0] * 4 + [1] * 2 + [0] * 3], "int32")
        padding_mask = np.array([[1] * 9, [1] * 6 + [0] * 3], "int32")
        token_ids[1, 6:] = 0
        state = hf_state_dict(config, seed=1)
        encoder = BertEncoder.from_pretrained(
            write_hf_folder(os.path.join(tmp, "hf"), config, state)
        )
        out = encoder(
            {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
        )
        ref_seq, ref_pooled = numpy_bert(
            state, config, token_ids, segment_ids, padding_mask.astype(np.float64)
        )
        mask = padding_mask.astype(bool)
        seq = np.abs(out["sequence_output"].numpy()[mask] - ref_seq[mask]).max()
        pooled = np.abs(out["pooled_output"].numpy() - ref_pooled).max()
        print(f"tiny hf vs numpy reference: sequence {seq:.2e} pooled {pooled:.2e}")

    with open(os.path.join(DATA, "embedder_golden.json"), encoding="utf-8") as f:
        pairs = json.load(f)["pairs"]
    got = BertTextEmbedder.from_pretrained(minilm_path()).embed(
        [t for p in pairs for t in (p["a"], p["b"])], batch_size=8
    )
    expected = np.array([e for p in pairs for e in (p["embedding_a"], p["embedding_b"])])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    cosine = max(abs(float(got[2 * i] @ got[2 * i + 1]) - p["cosine"]) for i, p in enumerate(pairs))
    embedding = np.abs(got - expected).max()
    print(f"embedder vs sentence-transformers: embedding {embedding:.2e} cosine {cosine:.2e}")

    full = BertEncoder.from_pretrained(minilm_path())(inputs)
    for policy in ("mixed_float16", "mixed_bfloat16"):
        out = BertEncoder.from_pretrained(minilm_path(), dtype=policy)(inputs)
        seq = np.abs(out["sequence_output"].numpy() - full["sequence_output"].numpy())[real]
        pooled = np.abs(out["pooled_output"].numpy() - full["pooled_output"].numpy())
        print(
            f"{policy} vs float32: sequence max {seq.max():.2e} mean {seq.mean():.2e}; "
            f"pooled max {pooled.max():.2e}"
        )


if __name__ == "__main__":
    main()
