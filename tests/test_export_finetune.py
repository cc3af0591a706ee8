"""bert-tf-finetune -> bert-tf-export -> serving_default on raw text gives the accuracy finetune
reported.

The acceptance path end to end, on real tweets, with a small encoder (bert_tiny
shape, MiniLM's real vocabulary) so it runs in CI time. The export is scored
through the TF1 session loader, as TF Serving runs it.
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import minilm_or_skip

pytestmark = pytest.mark.integration
PY = sys.executable
ENV = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "sentiment"])
        writer.writerows(rows)


def test_finetune_export_serve_same_accuracy(tmp_path):
    from bert_tf import BertConfig, BertEncoder
    from bert_tf.data.classification import read_classification_examples
    from bert_tf.public_data import dataset_path
    from export.test_server import LoadedVersion

    minilm = minilm_or_skip()
    try:
        tweets = dataset_path("tweets")
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    examples = read_classification_examples(
        tweets, "text", "sentiment", encoding="latin-1", skip_invalid=True
    )
    rows = [(t, examples.label_names[y]) for t, y in zip(examples.texts, examples.labels)]
    rng = np.random.default_rng(0)
    picks = rng.choice(len(rows), size=900, replace=False)
    _write(tmp_path / "train.csv", [rows[i] for i in picks[:600]])
    _write(tmp_path / "test.csv", [rows[i] for i in picks[600:]])
    init = str(tmp_path / "init")
    BertEncoder(
        BertConfig(
            vocab_size=30522,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
            max_position_embeddings=64,
        )
    ).save_pretrained(init, vocab_file=os.path.join(minilm, "vocab.txt"), lowercase=True)

    out = tmp_path / "run"
    finetune = subprocess.run(
        [
            PY,
            "-m",
            "bert_tf.cli.finetune",
            "--task=classification",
            f"--train_file={tmp_path / 'train.csv'}",
            f"--eval_file={tmp_path / 'test.csv'}",
            "--text_column=text",
            "--label_column=sentiment",
            f"--init_checkpoint={init}",
            f"--output_dir={out}",
            "--max_seq_length=32",
            "--epochs=1",
            "--batch_size=32",
            "--learning_rate=1e-3",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=900,
    )
    assert finetune.returncode == 0, finetune.stderr[-3000:]
    with open(out / "eval_results.json") as f:
        reported = json.load(f)["accuracy"]

    export = subprocess.run(
        [
            PY,
            "-m",
            "export.cli",
            f"--model_dir={out / 'model'}",
            f"--export_dir={tmp_path / 'serving'}",
            "--model_name=tweets",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert export.returncode == 0, export.stderr[-3000:]

    test_rows = [rows[i] for i in picks[600:]]
    with open(out / "model" / "task.json") as f:
        labels = json.load(f)["labels"]
    loaded = LoadedVersion(str(tmp_path / "serving" / "tweets" / "1"))
    try:
        predicted = []
        for start in range(0, len(test_rows), 64):
            batch = np.array([t for t, _ in test_rows[start : start + 64]], dtype=object)
            predicted.extend(
                x.decode() for x in loaded.run("serving_default", {"text": batch})["labels"]
            )
    finally:
        loaded.close()
    served = float(np.mean([p == y for p, (_, y) in zip(predicted, test_rows)]))
    assert set(predicted) <= set(labels)
    print(f"bert-tf-finetune accuracy {reported:.4f}; served through serving_default {served:.4f}")
    assert abs(served - reported) <= 0.005, (served, reported)
