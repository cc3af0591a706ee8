"""bert-tf-finetune --task=multi_label_classification|regression, --long_text, the label guard."""

import json
import os

import pytest
from absl import flags

from bert_tf.cli import finetune as cli
from tests.training_helpers import write_tiny_model_folder

WORDS = "good great love happy bad awful hate sad the a movie film day food very so".split()


def _run(argv):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["bert-tf-finetune", *argv])
    return cli.main(["bert-tf-finetune"])


def _write(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return write_tiny_model_folder(str(tmp_path_factory.mktemp("cli") / "model"))


def test_multi_label_with_windows_writes_f1_and_task_json(model, tmp_path, capsys):
    rows = ["text,tags"] + [
        f'"{" ".join(WORDS[i % 16 :] + WORDS[: i % 16])}",{tag}'
        for i, tag in enumerate(["happy", "sad|happy", "sad", ""] * 6)
    ]
    train = _write(tmp_path / "train.csv", rows)
    out = str(tmp_path / "out")
    assert (
        _run(
            [
                "--task=multi_label_classification",
                f"--train_file={train}",
                f"--eval_file={train}",
                f"--init_checkpoint={model}",
                f"--output_dir={out}",
                "--label_column=tags",
                "--max_seq_length=8",
                "--long_text=windows",
                "--window_stride=4",
                "--epochs=1",
                "--batch_size=8",
                "--learning_rate=1e-3",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "labels learned from " in printed and '{"happy": 12, "sad": 12}' in printed
    with open(os.path.join(out, "eval_results.json")) as f:
        results = json.load(f)
    assert 0.0 <= results["micro_f1"] <= 1.0 and 0.0 <= results["macro_f1"] <= 1.0
    with open(os.path.join(out, "model", "task.json")) as f:
        info = json.load(f)
    assert info["task"] == "multi_label_classification" and info["labels"] == ["happy", "sad"]
    assert info["long_text"] == {"mode": "windows", "window_stride": 4} and info["threshold"] == 0.5


def test_label_typo_with_label_map_names_file_and_line(model, tmp_path, capsys):
    train = _write(
        tmp_path / "train.csv", ["text,label", "good,positive", "bad,negative", "so good,postive"]
    )
    out = str(tmp_path / "out")
    with pytest.raises(SystemExit) as exc:
        _run(
            [
                f"--train_file={train}",
                f"--eval_file={train}",
                f"--init_checkpoint={model}",
                f"--output_dir={out}",
                "--label_map=negative,positive",
                "--max_seq_length=8",
            ]
        )
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {train}:4: unknown label 'postive' in column 'label' "
        "(known labels: ['negative', 'positive'])"
    ]
    with pytest.raises(SystemExit):
        _run(
            [
                "--task=regression",
                f"--train_file={train}",
                f"--eval_file={train}",
                f"--init_checkpoint={model}",
                f"--output_dir={out}",
                "--max_seq_length=8",
            ]
        )
    assert (
        "regression target in column 'label' is not a finite number: 'positive'"
        in capsys.readouterr().err
    )
    assert not os.path.exists(os.path.join(out, "model"))
