"""Multi-label, regression and windowed classification recipes, and model.fit with Keras losses."""

import csv
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.data import classification_dataset
from bert_tf.data.text_windows import windowed_logits
from bert_tf.models import BertEncoder, load_task_model
from bert_tf.text import BertPreprocessor
from bert_tf.training.finetune import (
    finetune,
    finetune_classifier,
    finetune_multi_label_classifier,
)
from tests.training_helpers import NEGATIVE, POSITIVE, WORDS, write_tiny_model_folder

FAST = dict(epochs=4, batch_size=8, learning_rate=3e-3, verbose=0, seed=1)
NEUTRAL = WORDS[16:]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return write_tiny_model_folder(str(tmp_path_factory.mktemp("tiny") / "model"))


def _rows(n, seed, length=(3, 7)):
    """(text, number of positive words, number of negative words) rows."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pos, neg = rng.integers(0, 3), rng.integers(0, 3)
        words = list(rng.choice(POSITIVE, pos)) + list(rng.choice(NEGATIVE, neg))
        words += list(rng.choice(NEUTRAL, rng.integers(*length)))
        rng.shuffle(words)
        out.append((" ".join(words), int(pos), int(neg)))
    return out


def _csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _tags(pos, neg):
    return "|".join((["happy"] if pos else []) + (["sad"] if neg else []))


def _predict(model_dir, texts, seq):
    model, info = load_task_model(model_dir)
    pre = BertPreprocessor.from_pretrained(model_dir, sequence_length=seq)
    return np.asarray(model(pre(tf.constant(texts)), training=False)), info


def test_multi_label_recipe_reports_micro_macro_f1_of_its_own_predictions(tiny_folder, tmp_path):
    sklearn = pytest.importorskip("sklearn.metrics")
    train, test = _rows(96, 0), _rows(40, 1)
    tr = _csv(tmp_path / "train.csv", ["text", "tags"], [(t, _tags(p, n)) for t, p, n in train])
    te = _csv(tmp_path / "test.csv", ["text", "tags"], [(t, _tags(p, n)) for t, p, n in test])
    out = str(tmp_path / "out")
    results = finetune_multi_label_classifier(
        tr, te, tiny_folder, out, label_column="tags", max_seq_length=16, **FAST
    )
    with open(os.path.join(out, "eval_results.json")) as f:
        assert json.load(f)["micro_f1"] == pytest.approx(results["micro_f1"])
    logits, info = _predict(os.path.join(out, "model"), [t for t, _, _ in test], 16)
    assert info["task"] == "multi_label_classification" and info["labels"] == ["happy", "sad"]
    assert info["threshold"] == 0.5 and info["long_text"] == {
        "mode": "truncate",
        "window_stride": None,
    }
    y = np.array([[p > 0, n > 0] for _, p, n in test], int)
    predicted = (1 / (1 + np.exp(-logits)) >= 0.5).astype(int)
    assert results["micro_f1"] == pytest.approx(
        sklearn.f1_score(y, predicted, average="micro"), abs=1e-6
    )
    assert results["macro_f1"] == pytest.approx(
        sklearn.f1_score(y, predicted, average="macro"), abs=1e-6
    )
    assert set(results["per_label"]) == {"happy", "sad"}
    assert results["micro_f1"] > 0.7, results  # it learned something


def test_regression_recipe_reports_mse_pearson_spearman(tiny_folder, tmp_path):
    stats = pytest.importorskip("scipy.stats")
    train, test = _rows(96, 2), _rows(40, 3)
    tr = _csv(tmp_path / "train.csv", ["text", "score"], [(t, p - n) for t, p, n in train])
    te = _csv(tmp_path / "test.csv", ["text", "score"], [(t, p - n) for t, p, n in test])
    out = str(tmp_path / "out")
    results = finetune(
        "regression",
        train_file=tr,
        eval_file=te,
        init_checkpoint=tiny_folder,
        output_dir=out,
        label_column="score",
        max_seq_length=16,
        **FAST,
    )
    logits, info = _predict(os.path.join(out, "model"), [t for t, _, _ in test], 16)
    assert (
        info["task"] == "regression"
        and info["labels"] is None
        and info["task_config"]["num_classes"] == 1
    )
    y, p = np.array([a - b for _, a, b in test], float), logits[:, 0]
    assert results["mse"] == pytest.approx(np.mean((y - p) ** 2), rel=1e-4)
    assert results["pearson"] == pytest.approx(stats.pearsonr(y, p)[0], abs=1e-4)
    assert results["spearman"] == pytest.approx(stats.spearmanr(y, p)[0], abs=1e-4)
    assert results["pearson"] > 0.5, results


def test_classification_per_class_and_confusion_matrix_match_sklearn(tiny_folder, tmp_path):
    sklearn = pytest.importorskip("sklearn.metrics")
    label = {0: "neutral", 1: "positive", 2: "negative"}
    train, test = _rows(96, 4), _rows(40, 5)

    def name(p, n):
        return label[0 if p == n else 1 if p > n else 2]

    tr = _csv(tmp_path / "train.csv", ["text", "label"], [(t, name(p, n)) for t, p, n in train])
    te = _csv(tmp_path / "test.csv", ["text", "label"], [(t, name(p, n)) for t, p, n in test])
    out = str(tmp_path / "out")
    results = finetune_classifier(tr, te, tiny_folder, out, max_seq_length=16, **FAST)
    logits, info = _predict(os.path.join(out, "model"), [t for t, _, _ in test], 16)
    names = info["labels"]
    assert results["confusion_matrix_labels"] == names == ["negative", "neutral", "positive"]
    y = np.array([names.index(name(p, n)) for _, p, n in test])
    predicted = logits.argmax(-1)
    assert (
        results["confusion_matrix"]
        == sklearn.confusion_matrix(y, predicted, labels=range(3)).tolist()
    )
    assert results["macro_f1"] == pytest.approx(
        sklearn.f1_score(y, predicted, average="macro", labels=range(3))
    )
    precision, recall, f1, support = sklearn.precision_recall_fscore_support(
        y, predicted, labels=range(3), zero_division=0
    )
    for i, n in enumerate(names):
        assert results["per_class"][n] == pytest.approx(
            {"precision": precision[i], "recall": recall[i], "f1": f1[i], "support": support[i]}
        )
    assert results["accuracy"] == pytest.approx(sklearn.accuracy_score(y, predicted))


def test_windows_recipe_averages_window_logits_of_long_texts(tiny_folder, tmp_path):
    train, test = _rows(48, 6, length=(10, 20)), _rows(16, 7, length=(10, 20))
    tr = _csv(
        tmp_path / "train.csv",
        ["text", "label"],
        [(t, "pos" if p > n else "neg") for t, p, n in train],
    )
    te = _csv(
        tmp_path / "test.csv",
        ["text", "label"],
        [(t, "pos" if p > n else "neg") for t, p, n in test],
    )
    out = str(tmp_path / "out")
    results = finetune_classifier(
        tr,
        te,
        tiny_folder,
        out,
        max_seq_length=8,
        long_text="windows",
        window_stride=3,
        **dict(FAST, epochs=3),
    )
    model, info = load_task_model(os.path.join(out, "model"))
    assert info["long_text"] == {"mode": "windows", "window_stride": 3}
    pre = BertPreprocessor.from_pretrained(os.path.join(out, "model"), sequence_length=8)
    texts = [t for t, _, _ in test]
    assert (
        min(len(x) for x in pre.tokenizer(tf.constant(texts)).to_list()) > 6
    )  # all several windows long
    logits = windowed_logits(model, pre, tf.constant(texts), stride=3).numpy()
    names = info["labels"]
    y = np.array([names.index("pos" if p > n else "neg") for _, p, n in test])
    assert results["accuracy"] == pytest.approx(np.mean(logits.argmax(-1) == y))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    cross_entropy = -np.mean(log_probs[np.arange(len(y)), y])  # continuous: other windows show
    assert results["eval_loss"] == pytest.approx(cross_entropy, rel=1e-5)
    first_window = np.asarray(model(pre(tf.constant(texts)), training=False))
    assert not np.allclose(first_window, logits, atol=1e-4)  # the windows changed the logits
    with pytest.raises(ValueError, match="window_stride must be in 1..6"):
        finetune_classifier(
            tr,
            te,
            tiny_folder,
            str(tmp_path / "o2"),
            max_seq_length=8,
            long_text="windows",
            window_stride=7,
            **FAST,
        )


def test_model_fit_with_standard_keras_losses(tiny_folder, tmp_path):
    from bert_tf.models import BertClassifier

    rows = _rows(32, 8)
    path = _csv(
        tmp_path / "d.csv", ["text", "tags", "score"], [(t, _tags(p, n), p - n) for t, p, n in rows]
    )
    pre = BertPreprocessor.from_pretrained(tiny_folder, sequence_length=16)
    ds, names = classification_dataset(
        path, "text", "tags", pre, batch_size=8, label_type="multi_label"
    )
    model = BertClassifier(BertEncoder.from_pretrained(tiny_folder), num_classes=len(names))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    assert np.isfinite(model.fit(ds, epochs=1, verbose=0).history["loss"][0])
    ds, _ = classification_dataset(
        path, "text", "score", pre, batch_size=8, label_type="regression"
    )
    model = BertClassifier(BertEncoder.from_pretrained(tiny_folder), num_classes=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.MeanSquaredError())
    assert np.isfinite(model.fit(ds, epochs=1, verbose=0).history["loss"][0])
