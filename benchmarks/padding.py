"""Padding efficiency: real tokens / computed tokens (sum of B*T over batches).

For real short (tweets) and long (e-mail) text, batch size 32, each of our
batching strategies against fixed-length padding to the same cap (what
keras-hub's preprocessors do: every row padded to ``sequence_length``). The
classification row runs the real ``bert_tf.data`` pipeline and counts the
padding of the batches it yields; the others compute B*T from exact WordPiece
lengths (specials included) for the batching rule named.
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import row
from benchmarks.realtext import load_texts

BATCH_SIZE = 32
XLA_MULTIPLE = 16  # what the embedder rounds T up to under XLA (bounded number of compiled shapes)


def _computed(lengths, batches, multiple=1):
    """Sum over batches of batch size * padded length (longest row, rounded up to `multiple`)."""
    total = 0
    for idx in batches:
        t = int(lengths[idx].max())
        total += len(idx) * (-(-t // multiple) * multiple)
    return total


def _in_order(n, batch_size):
    return [np.arange(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def _sorted(lengths, batch_size):
    order = np.argsort(lengths, kind="stable")
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def efficiencies(lengths, cap, batch_size=BATCH_SIZE):
    """{strategy: efficiency} for packed lengths (specials included) capped at `cap`."""
    lengths = np.minimum(np.asarray(lengths), cap)
    real = int(lengths.sum())
    n = len(lengths)
    return {
        "fixed_512": real / (n * 512),
        "fixed_cap": real / (n * cap),
        "per_batch": real / _computed(lengths, _in_order(n, batch_size)),
        "sorted": real / _computed(lengths, _sorted(lengths, batch_size)),
        "sorted_x16": real / _computed(lengths, _sorted(lengths, batch_size), XLA_MULTIPLE),
    }


def _pipeline_efficiency(texts, preprocessor, batch_size):
    """Runs bert_tf.data's classification pipeline (length bucketing) and measures its batches."""
    from bert_tf.data.classification import (
        ClassificationExamples,
        examples_to_dataset,
        padding_efficiency,
    )

    examples = ClassificationExamples(
        path="<benchmark>",
        texts=list(texts),
        text_pairs=None,
        labels=[0] * len(texts),
        label_names=["x"],
        line_numbers=list(range(len(texts))),
    )
    return padding_efficiency(examples_to_dataset(examples, preprocessor, batch_size))


def run(quick=False, context=None):
    import tensorflow as tf

    from bert_tf.public_data import minilm_path
    from bert_tf.text import BertPreprocessor, BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(minilm_path())
    n = 96 if quick else 512
    rows = []
    for corpus in ("tweets", "spam"):
        texts = load_texts(corpus, n)
        lengths = np.asarray(tokenizer(tf.constant(texts)).row_lengths()) + 2  # [CLS] ... [SEP]
        for cap in (128, 256):
            eff = efficiencies(lengths, cap)
            fixed = eff["fixed_cap"]
            label = f"{corpus} n={len(texts)} B={BATCH_SIZE} cap={cap}"
            for key, what in (
                ("per_batch", "per-batch padding, input order"),
                ("sorted", "length-sorted batches (embedder)"),
                ("sorted_x16", f"length-sorted, T rounded up to x{XLA_MULTIPLE} (XLA)"),
            ):
                rows.append(
                    row(
                        "padding",
                        f"{label}: {what}",
                        ours=eff[key],
                        theirs=fixed,
                        unit="real/computed",
                        higher_is_better=True,
                        corpus=corpus,
                        cap=cap,
                        strategy=key,
                        fixed_512=eff["fixed_512"],
                        mean_tokens=float(np.minimum(lengths, cap).mean()),
                    )
                )
            pipeline = _pipeline_efficiency(
                texts, BertPreprocessor(tokenizer, sequence_length=cap), BATCH_SIZE
            )
            rows.append(
                row(
                    "padding",
                    f"{label}: classification_dataset (length buckets)",
                    ours=pipeline,
                    theirs=fixed,
                    unit="real/computed",
                    higher_is_better=True,
                    corpus=corpus,
                    cap=cap,
                    strategy="classification_dataset",
                    fixed_512=eff["fixed_512"],
                )
            )
    return rows
