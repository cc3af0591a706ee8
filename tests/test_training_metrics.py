"""Metrics against hand-computed values and the reference definitions (sklearn where it has
them)."""

import numpy as np
import pytest

from bert_tf.training.metrics import (
    classification_metrics,
    conll_chunks,
    conll_f1,
    masked_lm_metrics,
    normalize_answer,
    squad_metrics,
)


def test_classification_metrics_match_sklearn():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    p = np.where(rng.random(200) < 0.7, y, rng.integers(0, 3, 200))
    m = classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(sklearn.accuracy_score(y, p))
    assert m["f1_macro"] == pytest.approx(sklearn.f1_score(y, p, average="macro"))
    assert m["precision_macro"] == pytest.approx(sklearn.precision_score(y, p, average="macro"))
    assert m["recall_macro"] == pytest.approx(sklearn.recall_score(y, p, average="macro"))
    assert m["matthews_corrcoef"] == pytest.approx(sklearn.matthews_corrcoef(y, p))


def test_classification_metrics_by_hand():
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1])
    assert m["accuracy"] == 0.75
    assert m["precision_macro"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert m["matthews_corrcoef"] == pytest.approx(1 / np.sqrt(3))
    assert classification_metrics([1, 1], [1, 1])["matthews_corrcoef"] == 0.0  # undefined -> 0
    with pytest.raises(ValueError):
        classification_metrics([], [])


def test_conll_chunks_iob1_iob2_and_stray_i():
    assert conll_chunks(["B-PER", "I-PER", "O", "B-LOC"]) == {("PER", 0, 1), ("LOC", 3, 3)}
    assert conll_chunks(["I-PER", "I-PER", "I-LOC"]) == {
        ("PER", 0, 1),
        ("LOC", 2, 2),
    }  # IOB1 / stray I
    assert conll_chunks(["B-PER", "B-PER"]) == {("PER", 0, 0), ("PER", 1, 1)}


def test_conll_f1_counts_whole_entities_only():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O"]]  # PER cut short: wrong entity
    m = conll_f1(gold, pred)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["per_type_f1"]["LOC"] == 1.0 and m["per_type_f1"]["PER"] == 0.0
    assert m["accuracy"] == pytest.approx(5 / 6)


def test_conll_f1_on_other_units_compares_character_spans():
    gold = [["O", "B-PER"], ["B-LOC"]]  # tokens "in", "王昭祚" | "Paris"
    gold_spans = [[(0, 2), (3, 6)], [(0, 5)]]
    words = [[(0, 2), (3, 4), (4, 5), (5, 6)], [(0, 5)]]  # the CJK token is three served words
    right = conll_f1(gold, [["O", "B-PER", "I-PER", "I-PER"], ["B-LOC"]], gold_spans, words)
    assert right["f1"] == 1.0 and right["accuracy"] is None
    assert right["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    cut = conll_f1(gold, [["O", "B-PER", "O", "O"], ["B-LOC"]], gold_spans, words)
    assert cut["precision"] == 0.5 and cut["recall"] == 0.5
    assert cut["per_type"]["PER"]["f1"] == 0.0 and cut["per_type"]["LOC"]["support"] == 1
    with pytest.raises(ValueError, match="both true_offsets and predicted_offsets"):
        conll_f1(gold, gold, gold_spans)


def test_squad_v1_and_v2():
    assert normalize_answer("The  Big, Cat!") == "big cat"
    gold = {"q1": ["Denver Broncos", "the Broncos"], "q2": ["Santa Clara"]}
    m = squad_metrics(gold, {"q1": "broncos", "q2": "Santa Clara, California"}, version="1.1")
    assert m["exact_match"] == pytest.approx(50.0)
    assert m["f1"] == pytest.approx(100 * (1.0 + 0.8) / 2)
    gold2 = {"a": ["1999"], "b": []}
    m2 = squad_metrics(gold2, {"a": "1999", "b": ""}, version="2.0")
    assert m2["exact_match"] == 100.0 and m2["NoAns_exact"] == 100.0 and m2["HasAns_total"] == 1
    assert squad_metrics(gold2, {"a": "", "b": "x"}, version="2.0")["f1"] == 0.0


def test_masked_lm_accuracy_and_commonest_token_baseline():
    ids = np.array([[5, 7, 7, 0]])
    pred = np.array([[5, 7, 9, 3]])
    w = np.array([[1, 1, 1, 0]])
    m = masked_lm_metrics(ids, pred, w, train_token_counts={7: 10, 5: 2})
    assert m["masked_lm_accuracy"] == pytest.approx(2 / 3)
    assert m["commonest_token_id"] == 7 and m["commonest_token_baseline_accuracy"] == pytest.approx(
        2 / 3
    )
    assert masked_lm_metrics(ids, pred, w)["num_masked_tokens"] == 3
