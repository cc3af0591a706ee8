"""Next-sentence-prediction pairs from documents, as a Python generator and a tf.data.Dataset.

A document is a list of segments (sentences or lines). For each segment that
has a successor in its document, one pair is made: with probability
``1 - random_next_rate`` the pair is (segment, the next segment of the same
document), label 0 ("is next"); otherwise (segment, a random segment of a
different document), label 1 ("random"). Labels follow BERT and Hugging Face
(``next_sentence_label``: 0 = B continues A).
"""

from __future__ import annotations

import random

import tensorflow as tf

IS_NEXT, RANDOM_NEXT = 0, 1


def _clean_documents(documents):
    docs = [[s for s in (str(x).strip() for x in doc) if s] for doc in documents]
    docs = [d for d in docs if d]
    if len(docs) < 2:
        raise ValueError(
            f"next-sentence pairs need at least 2 non-empty documents, got {len(docs)}"
        )
    if not any(len(d) >= 2 for d in docs):
        raise ValueError("next-sentence pairs need a document with at least 2 segments")
    return docs


def next_sentence_pairs(documents, random_next_rate=0.5, seed=None, segments_per_side=1):
    """Yields (text_a, text_b, label) for every segment with a successor, documents in order.

    Args:
        documents: list of documents, each a list of segment strings (blank ones are dropped).
        random_next_rate: probability of a random B from another document (BERT: 0.5).
        seed: int for a reproducible stream; None for fresh randomness.
        segments_per_side: consecutive segments joined (with a space) into A, and into a true B.
    """
    docs = _clean_documents(documents)
    rng = random.Random(seed)
    k = max(1, int(segments_per_side))
    for d, doc in enumerate(docs):
        for i in range(0, len(doc) - k, k):
            text_a = " ".join(doc[i : i + k])
            if rng.random() < random_next_rate:
                other = rng.randrange(len(docs) - 1)
                other += other >= d  # any document but this one
                j = rng.randrange(len(docs[other]))
                yield text_a, " ".join(docs[other][j : j + k]), RANDOM_NEXT
            else:
                yield text_a, " ".join(doc[i + k : i + 2 * k]), IS_NEXT


def next_sentence_dataset(documents, random_next_rate=0.5, seed=None, segments_per_side=1):
    """tf.data.Dataset of (text_a, text_b, label) with fresh random pairs on every epoch.

    Each iteration re-runs the generator with the next seed (seed, seed+1, ...),
    so a seeded run is reproducible and every epoch sees different random Bs.
    """
    docs = _clean_documents(documents)
    epoch = {"n": 0}

    def generate():
        current = None if seed is None else seed + epoch["n"]
        epoch["n"] += 1
        yield from next_sentence_pairs(docs, random_next_rate, current, segments_per_side)

    return tf.data.Dataset.from_generator(
        generate,
        output_signature=(
            tf.TensorSpec((), tf.string),
            tf.TensorSpec((), tf.string),
            tf.TensorSpec((), tf.int32),
        ),
    )
