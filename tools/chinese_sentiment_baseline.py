"""Character n-gram TF-IDF + logistic regression on waimai (README "Chinese BERT from scratch").

python tools/chinese_sentiment_baseline.py --data=/tmp/zh/sentiment   # from tools/chinese_corpus.py
"""

import argparse
import csv
import os
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score


def _read(path):
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["review"] for r in rows], [int(r["label"]) for r in rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    args = parser.parse_args(argv)
    started = time.time()
    x_train, y_train = _read(os.path.join(args.data, "train.csv"))
    x_test, y_test = _read(os.path.join(args.data, "test.csv"))
    for n in (3000, len(x_train)):
        vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2
        )
        model = LogisticRegression(max_iter=2000, C=4.0).fit(
            vectorizer.fit_transform(x_train[:n]), y_train[:n]
        )
        accuracy = accuracy_score(y_test, model.predict(vectorizer.transform(x_test)))
        print(
            f"char 1-3-gram TF-IDF + LR, {n} training reviews: "
            f"accuracy {accuracy:.4f} on {len(y_test)}"
        )
    print(f"{time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
