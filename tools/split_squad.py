"""Splits a SQuAD v1.1 / v2.0 JSON file by article into train and test files (deterministic).

    python tools/split_squad.py ../shared/data/xquad/xquad.en.json /tmp/xquad_split \
        [--test_fraction=0.2] [--seed=0] [--max_articles=N]

Writes /tmp/xquad_split/xquad.en.train.json and xquad.en.test.json (never into the repository)
and prints their article and question counts. See bert_tf.data.squad.split_squad_by_article.
"""

import argparse
import json

from bert_tf.data.squad import split_squad_by_article


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad_file")
    parser.add_argument("output_dir")
    parser.add_argument("--test_fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max_articles", type=int, default=None)
    args = parser.parse_args()
    for path in split_squad_by_article(
        args.squad_file, args.output_dir, args.test_fraction, args.seed, args.max_articles
    ):
        with open(path, encoding="utf-8") as f:
            articles = json.load(f)["data"]
        questions = sum(len(p["qas"]) for a in articles for p in a["paragraphs"])
        print(f"{path}: {len(articles)} articles, {questions} questions")


if __name__ == "__main__":
    main()
