"""Scores a QA export on a SQuAD file as TF Serving runs it: the SavedModel version is loaded with
the TF1 session loader (export.test_server.LoadedVersion, as tensorflow_model_server loads it) and
sent the raw (question, context) pairs; prints the served exact match and F1 (official SQuAD
script scale, 0-100), and with --predictions (bert-tf-finetune's OUT/predictions.json) how many
served answers differ from the evaluated ones.

    python tools/squad_serve_eval.py EXPORT_DIR/NAME/VERSION TEST.json \
        [--predictions=OUT/predictions.json]
"""

import argparse
import json
import time

import numpy as np

from bert_tf.data.squad import read_squad
from bert_tf.training.metrics import cmrc_metrics, mostly_chinese, squad_metrics
from export.test_server import LoadedVersion


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version_dir")
    parser.add_argument("squad_file")
    parser.add_argument("--predictions", default=None)
    parser.add_argument("--batch_size", type=int, default=32)
    args = parser.parse_args()
    examples, version_2 = read_squad(args.squad_file)
    loaded = LoadedVersion(args.version_dir)
    served, started = {}, time.time()
    try:
        for i in range(0, len(examples), args.batch_size):
            batch = examples[i : i + args.batch_size]
            out = loaded.run(
                "serving_default",
                {
                    "question": np.array([e.question for e in batch], dtype=object),
                    "context": np.array([e.context for e in batch], dtype=object),
                },
            )
            served.update({e.qid: t.decode("utf-8") for e, t in zip(batch, out["answer_text"])})
    finally:
        loaded.close()
    seconds = time.time() - started
    gold = {e.qid: [a["text"] for a in e.answers] for e in examples}
    result = squad_metrics(gold, served, version="2.0" if version_2 else "1.1")
    if mostly_chinese(sorted({e.context for e in examples})):
        result.update(cmrc_metrics(gold, served))
    result["serve_seconds"] = round(seconds, 1)
    if args.predictions:
        with open(args.predictions, encoding="utf-8") as f:
            evaluated = json.load(f)
        result["answers_differing_from_evaluated"] = sum(
            served[q] != evaluated.get(q) for q in served
        )
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
