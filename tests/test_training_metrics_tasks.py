"""Per-class, multi-label and regression metrics against hand-computed values, sklearn and scipy."""

import numpy as np
import pytest

from bert_tf.training.metrics import classification_report, multi_label_metrics, regression_metrics


def test_classification_report_by_hand():
    # true:      a a a b b c ; predicted: a a b b c c
    r = classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert r["confusion_matrix"] == [
        [2, 1, 0],
        [0, 1, 1],
        [0, 0, 1],
    ]  # rows true, columns predicted
    assert r["confusion_matrix_labels"] == ["a", "b", "c"]
    assert r["per_class"]["a"] == {
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(0.8),
        "support": 3,
    }
    assert r["per_class"]["b"]["precision"] == 0.5 and r["per_class"]["b"]["recall"] == 0.5
    assert r["per_class"]["c"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
    }
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # a class never seen counts as F1 0 in macro_f1 (sklearn with labels=all classes)
    r = classification_report([0, 0], [0, 0], ["a", "b"])
    assert r["macro_f1"] == 0.5 and r["per_class"]["b"]["support"] == 0


def test_classification_report_matches_sklearn():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 300)
    p = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))
    names = ["w", "x", "y", "z"]
    r = classification_report(y, p, names)
    assert r["confusion_matrix"] == sklearn.confusion_matrix(y, p, labels=range(4)).tolist()
    assert r["macro_f1"] == pytest.approx(sklearn.f1_score(y, p, average="macro", labels=range(4)))
    precision, recall, f1, support = sklearn.precision_recall_fscore_support(
        y, p, labels=range(4), zero_division=0
    )
    for i, name in enumerate(names):
        got = r["per_class"][name]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx(
            (precision[i], recall[i], f1[i], support[i])
        )


def test_multi_label_metrics_by_hand():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    p = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 0]])
    m = multi_label_metrics(y, p, ["a", "b", "c"])
    # tp a=2 b=1 c=0 (3); predicted a=2 b=1 c=1 (4); true a=2 b=2 c=1 (5)
    assert m["micro_precision"] == pytest.approx(3 / 4)
    assert m["micro_recall"] == pytest.approx(3 / 5)
    assert m["micro_f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert m["per_label"]["a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert m["per_label"]["b"]["f1"] == pytest.approx(2 / 3)
    assert m["per_label"]["c"]["f1"] == 0.0
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert m["macro_precision"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["subset_accuracy"] == 0.25  # only row 4 has its whole label set right
    assert m["hamming_loss"] == pytest.approx(3 / 12)
    with pytest.raises(ValueError):
        multi_label_metrics(y, p[:, :2], ["a", "b", "c"])


def test_multi_label_metrics_match_sklearn():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    y = (rng.random((200, 5)) < 0.3).astype(int)
    p = np.where(rng.random((200, 5)) < 0.8, y, 1 - y)
    m = multi_label_metrics(y, p, list("abcde"))
    for avg in ("micro", "macro"):
        assert m[f"{avg}_f1"] == pytest.approx(sklearn.f1_score(y, p, average=avg, zero_division=0))
        assert m[f"{avg}_precision"] == pytest.approx(
            sklearn.precision_score(y, p, average=avg, zero_division=0)
        )
        assert m[f"{avg}_recall"] == pytest.approx(
            sklearn.recall_score(y, p, average=avg, zero_division=0)
        )
    assert m["subset_accuracy"] == pytest.approx(sklearn.accuracy_score(y, p))
    assert m["hamming_loss"] == pytest.approx(sklearn.hamming_loss(y, p))


def test_regression_metrics_by_hand_and_against_scipy():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 6.0])
    assert m["mse"] == pytest.approx((0 + 1 + 1 + 4) / 4)
    assert m["mae"] == pytest.approx(1.0)
    assert m["spearman"] == pytest.approx(0.8)  # ranks 1 2 3 4 vs 1 3 2 4: 1 - 6*2/(4*15)
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(7)
    y = rng.normal(size=300)
    p = np.round(y + rng.normal(scale=0.7, size=300), 1)  # rounding makes ties in the ranks
    m = regression_metrics(y, p)
    assert m["pearson"] == pytest.approx(stats.pearsonr(y, p)[0])
    assert m["spearman"] == pytest.approx(stats.spearmanr(y, p)[0])
    assert m["mse"] == pytest.approx(np.mean((y - p) ** 2))
    assert regression_metrics([1.0, 1.0], [0.0, 2.0])["pearson"] == 0.0  # constant side -> 0
