"""bert-tf-distill: teacher_layers:N copies weights exactly; the loss; a folder export takes."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from bert_tf import BertClassifier, BertConfig, BertEncoder
from bert_tf.cli import distill as cli
from bert_tf.training import distill


def _tiny_teacher(layers=3):
    keras.utils.set_random_seed(3)
    config = BertConfig(
        vocab_size=40,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
    )
    return BertClassifier(BertEncoder(config), num_classes=3, dropout=0.1)


def _features():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 40, (4, 9)).astype("int32")
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}


def test_teacher_layers_copies_weights_exactly():
    teacher = _tiny_teacher(layers=3)
    student = distill.build_student("teacher_layers:2", teacher, sequence_length=16)
    assert student.encoder.config.num_hidden_layers == 2
    pairs = [
        (student.encoder.embeddings, teacher.encoder.embeddings),
        (student.encoder.pooler, teacher.encoder.pooler),
        (student.classifier, teacher.classifier),
    ]
    pairs += list(zip(student.encoder.transformer_layers, teacher.encoder.transformer_layers[:2]))
    for mine, theirs in pairs:
        assert len(mine.get_weights()) == len(theirs.get_weights()) > 0
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)
    # All layers copied: the student is the teacher, output for output.
    whole = distill.copy_teacher_layers(teacher, 3)
    np.testing.assert_array_equal(whole(_features()), teacher(_features()))
    with pytest.raises(ValueError, match="the teacher has 3 layers"):
        distill.build_student("teacher_layers:4", teacher, sequence_length=16)


def test_preset_student_shares_the_teachers_vocabulary():
    teacher = _tiny_teacher()
    student = distill.build_student("bert_tiny", teacher, sequence_length=16)
    assert student.encoder.config.hidden_size == 128
    assert student.encoder.config.vocab_size == 40 and student.num_classes == 3


def test_loss_soft_term_zero_at_match_and_unlabelled_rows_get_no_hard_loss():
    logits = tf.constant([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    np.testing.assert_allclose(distill.soft_target_loss(logits, logits, 2.0), [0.0, 0.0], atol=1e-6)
    assert float(tf.reduce_min(distill.soft_target_loss(logits, -logits, 2.0))) > 0
    loss = distill.make_distillation_loss(temperature=2.0, alpha=0.3)
    terms = loss(
        {
            "teacher_logits": logits,
            "label": tf.constant([0, 2]),
            "labeled": tf.constant([1.0, 0.0]),
        },
        logits,
    )
    np.testing.assert_allclose(
        terms["hard_loss"][1], [1.0, 0.0]
    )  # the weights: row 2 is unlabelled
    assert distill.layer_map(2, 6) == [2, 5] and distill.layer_map(3, 3) == [0, 1, 2]


@pytest.fixture
def teacher_run(tiny_sentiment_run):
    return tiny_sentiment_run


def test_distill_cli_writes_a_folder_export_takes_and_beats_chance(teacher_run, tmp_path, capsys):
    from export.exporter import export_task_folder

    root, teacher_dir, train, dev, unlabeled = teacher_run
    out = str(tmp_path / "student")
    flags.FLAGS.unparse_flags()
    flags.FLAGS(
        [
            "bert-tf-distill",
            f"--teacher_dir={teacher_dir}",
            "--student=teacher_layers:1",
            f"--train_file={train}",
            f"--unlabeled_file={unlabeled}",
            f"--eval_file={dev}",
            f"--output_dir={out}",
            "--temperature=2",
            "--alpha=0.5",
            "--epochs=3",
            "--batch_size=8",
            "--learning_rate=3e-3",
            "--seed=1",
            "--notensorboard",
        ]
    )
    assert cli.main(["bert-tf-distill"]) == 0
    assert "eval results" in capsys.readouterr().out
    with open(os.path.join(out, "eval_results.json")) as f:
        results = json.load(f)
    assert results["accuracy"] >= 0.75, results  # chance is 0.5
    assert results["num_train_unlabeled"] == 64 and "teacher_accuracy" in results
    with open(os.path.join(out, "model", "task.json")) as f:
        info = json.load(f)
    assert info["distillation"]["student"] == "teacher_layers:1"
    assert info["data"]["eval_file"] == os.path.abspath(dev)
    with open(os.path.join(out, "model", "config.json")) as f:
        assert json.load(f)["num_hidden_layers"] == 1
    path = export_task_folder(os.path.join(out, "model"), str(tmp_path / "serving"), "student")
    assert os.path.exists(os.path.join(path, "saved_model.pb"))


def test_hidden_state_transfer_trains(teacher_run, tmp_path):
    root, teacher_dir, train, dev, _ = teacher_run
    results = distill.distill_classifier(
        teacher_dir,
        "bert_L2_H128",
        train,
        dev,
        str(tmp_path / "s"),
        hidden_weight=1.0,
        epochs=1,
        batch_size=16,
        learning_rate=1e-3,
        tensorboard=False,
        verbose=0,
    )
    assert np.isfinite(results["train_loss"]) and "accuracy" in results
    assert os.path.exists(tmp_path / "s" / "model" / "task.json")


def test_bad_flags_are_one_line_errors(teacher_run, tmp_path, capsys):
    root, teacher_dir, train, dev, _ = teacher_run
    flags.FLAGS.unparse_flags()
    flags.FLAGS(
        [
            "bert-tf-distill",
            f"--teacher_dir={teacher_dir}",
            "--student=teacher_layers:9",
            f"--train_file={train}",
            f"--eval_file={dev}",
            f"--output_dir={tmp_path / 'o'}",
        ]
    )
    with pytest.raises(SystemExit) as exc:
        cli.main(["bert-tf-distill"])
    assert exc.value.code == 1
    assert capsys.readouterr().err.strip() == (
        "error: teacher_layers:9: the teacher has 2 layers; choose 1..2"
    )
    assert not os.path.exists(tmp_path / "o" / "model")
