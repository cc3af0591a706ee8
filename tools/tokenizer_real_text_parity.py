"""BertTokenizer vs Hugging Face tokenizers on every non-empty line of the cached real corpora.

    PYTHONPATH=$PWD python tools/tokenizer_real_text_parity.py \
        [--out=benchmarks/results/tokenizer_real_text_parity.json]

Lines: the tweets' text column, and every non-empty line of the State of the Union, SpamAssassin
mail and Moby Dick files (bert_tf.public_data; bytes decoded as UTF-8 with U+FFFD for invalid
bytes). Ids: all-MiniLM-L6-v2's tokenizer.json (tokenizers, no special tokens) against
BertTokenizer.from_pretrained on the same folder. Writes the counts and the first mismatches.
"""

import argparse
import csv
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf
import tokenizers

from bert_tf.public_data import dataset_path, minilm_path
from bert_tf.text import BertTokenizer


def corpus_lines():
    with open(dataset_path("tweets"), encoding="latin-1", newline="") as f:
        yield "tweets", [row["text"] for row in csv.DictReader(f) if row.get("text", "").strip()]
    for name in ("sotu", "spam", "moby_dick"):
        lines = []
        for path in sorted(glob.glob(os.path.join(dataset_path(name), "**", "*"), recursive=True)):
            if os.path.isfile(path) and not path.endswith(".json"):
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", errors="replace")
                lines += [line for line in text.splitlines() if line.strip()]
        yield name, lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="benchmarks/results/tokenizer_real_text_parity.json")
    args = parser.parse_args()
    folder = minilm_path()
    hf = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    ours = BertTokenizer.from_pretrained(folder)
    report = {
        "command": "python tools/tokenizer_real_text_parity.py",
        "tokenizers": tokenizers.__version__,
        "tensorflow": tf.__version__,
        "corpora": {},
        "mismatches": [],
    }
    start = time.time()
    for name, lines in corpus_lines():
        same = 0
        for i in range(0, len(lines), 4096):
            chunk = lines[i : i + 4096]
            expected = [e.ids for e in hf.encode_batch(chunk, add_special_tokens=False)]
            got = ours(tf.constant(chunk)).to_list()
            for text, a, b in zip(chunk, got, expected):
                if a == b:
                    same += 1
                elif len(report["mismatches"]) < 20:
                    report["mismatches"].append({"corpus": name, "text": text[:200]})
        report["corpora"][name] = {"lines": len(lines), "identical": same}
        print(name, len(lines), same, flush=True)
    report["lines"] = sum(c["lines"] for c in report["corpora"].values())
    report["identical"] = sum(c["identical"] for c in report["corpora"].values())
    report["seconds"] = round(time.time() - start, 1)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
    os.replace(args.out + ".tmp", args.out)
    print(f"{report['identical']:,} of {report['lines']:,} lines identical ({report['seconds']} s)")


if __name__ == "__main__":
    main()
