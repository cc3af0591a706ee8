"""bert-tf-finetune: flags (and --flagfile) -> the recipe; bad input -> `error: ...`, exit 1,
nothing written."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags

from bert_tf.cli import finetune as cli
from tests.training_helpers import write_sentiment_csv, write_tiny_model_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(argv):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["bert-tf-finetune", *argv])
    return cli.main(["bert-tf-finetune"])


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    model = write_tiny_model_folder(str(root / "model"))
    train = write_sentiment_csv(str(root / "train.csv"), 32, seed=0)
    dev = write_sentiment_csv(str(root / "dev.csv"), 16, seed=1)
    return model, train, dev


def test_flagfile_run_writes_results_and_model(setup, tmp_path, capsys):
    model, train, dev = setup
    flagfile = tmp_path / "run.cfg"
    flagfile.write_text(
        "# a comment\n--task=classification\n--max_seq_length=16\n--epochs=1\n--batch_size=8\n"
        "--learning_rate=1e-3\n--checkpoint_every_n_steps=2\n"
    )
    out = str(tmp_path / "out")
    assert (
        _run(
            [
                f"--flagfile={flagfile}",
                f"--train_file={train}",
                f"--eval_file={dev}",
                f"--init_checkpoint={model}",
                f"--output_dir={out}",
                "--label_map=negative,positive",
            ]
        )
        == 0
    )
    with open(os.path.join(out, "eval_results.json")) as f:
        results = json.load(f)
    assert results["global_step"] == 4
    # The reported accuracy is the saved model's on the eval file, computed here by hand.
    import csv

    import tensorflow as tf

    from bert_tf.models import load_task_model
    from bert_tf.text import BertPreprocessor

    model_dir = os.path.join(out, "model")
    saved, _ = load_task_model(model_dir)
    preprocessor = BertPreprocessor.from_pretrained(model_dir, sequence_length=16)
    with open(dev, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    labels = ["negative", "positive"]
    text_column = next(k for k in rows[0] if k != "label")
    logits = saved(preprocessor(tf.constant([r[text_column] for r in rows])), training=False)
    predicted = np.asarray(logits).argmax(-1)
    expected = float(np.mean([labels[p] == r["label"] for p, r in zip(predicted, rows)]))
    assert results["accuracy"] == pytest.approx(expected, abs=1e-6), (results["accuracy"], expected)
    assert "eval results" in capsys.readouterr().out
    with open(os.path.join(out, "model", "task.json")) as f:
        assert json.load(f)["labels"] == ["negative", "positive"]
    assert os.path.exists(os.path.join(out, "checkpoints", "ckpt-2.index"))


def test_bad_input_is_one_error_line_and_exit_1(setup, tmp_path, capsys):
    model, train, dev = setup
    out = str(tmp_path / "out")
    with pytest.raises(SystemExit) as exc:
        _run(
            [
                f"--train_file={train}",
                f"--eval_file={dev}",
                f"--init_checkpoint={model}",
                f"--output_dir={out}",
                "--max_seq_length=100",
            ]
        )
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: max_seq_length=100 exceeds the model's max_position_embeddings=64"]
    assert not os.path.exists(os.path.join(out, "model"))


def test_console_script_missing_file(setup, tmp_path):
    """The real entry point, in a fresh process: one line on stderr, no traceback, exit 1."""
    model, _, dev = setup
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bert_tf.cli.finetune",
            f"--train_file={tmp_path}/nope.csv",
            f"--eval_file={dev}",
            f"--init_checkpoint={model}",
            f"--output_dir={out}",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: train_file not found: {tmp_path}/nope.csv"]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_ner_flags_reach_the_recipe(setup, tmp_path, capsys):
    model, _, _ = setup
    conll = tmp_path / "t.conll"
    conll.write_text("en:the O\nen:food B-DISH\n\nen:we O\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        _run(
            [
                "--task=token_classification",
                f"--train_file={conll}",
                f"--eval_file={conll}",
                f"--init_checkpoint={model}",
                f"--output_dir={tmp_path / 'out'}",
                "--max_seq_length=16",
                "--window_stride=15",
                "--word_split=whitespace",
                "--strip_token_prefix=en:",
            ]
        )
    assert exc.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: window_stride must be between 1 and sequence_length - 2 = 14, got 15"
    ]
