"""Evaluation metrics, computed in numpy on whole eval sets (so they are exact, not batch means).

classification_metrics: accuracy, macro precision/recall/F1, Matthews correlation.
conll_f1: entity-level precision/recall/F1 as conlleval counts them (IOB1/IOB2/IOBES tags).
squad_metrics: SQuAD exact match and F1 (v1.1; v2.0 with unanswerable questions).
masked_lm_metrics: masked-LM accuracy and the always-predict-the-commonest-token baseline.
"""

from __future__ import annotations

import collections
import re
import string

import numpy as np


# === Classification ===

def classification_metrics(labels, predictions, num_classes: int | None = None) -> dict:
    """labels, predictions: int arrays [N]. Macro averages count only classes seen in labels or predictions."""
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    p = np.asarray(predictions, dtype=np.int64).reshape(-1)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"need equally long, non-empty label and prediction arrays, got {y.shape} and {p.shape}")
    k = int(num_classes or max(y.max(), p.max()) + 1)
    cm = np.zeros((k, k), dtype=np.float64)  # [true, predicted]
    np.add.at(cm, (y, p), 1.0)
    tp = np.diag(cm)
    pred_count, true_count = cm.sum(0), cm.sum(1)
    present = (pred_count + true_count) > 0
    precision = np.divide(tp, pred_count, out=np.zeros(k), where=pred_count > 0)
    recall = np.divide(tp, true_count, out=np.zeros(k), where=true_count > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    return {
        "accuracy": float(tp.sum() / cm.sum()),
        "precision_macro": float(precision[present].mean()),
        "recall_macro": float(recall[present].mean()),
        "f1_macro": float(f1[present].mean()),
        "matthews_corrcoef": matthews_corrcoef(cm),
        "num_examples": int(y.size),
    }


def matthews_corrcoef(confusion) -> float:
    """Multi-class MCC (Gorodkin's R_K) from a confusion matrix [true, predicted]; 0 when undefined."""
    cm = np.asarray(confusion, dtype=np.float64)
    t, p = cm.sum(1), cm.sum(0)
    n, c = cm.sum(), np.trace(cm)
    cov_pp = n * n - np.dot(p, p)
    cov_tt = n * n - np.dot(t, t)
    denom = np.sqrt(cov_pp * cov_tt)
    return float((c * n - np.dot(t, p)) / denom) if denom > 0 else 0.0


# === Token classification (CoNLL) ===

def _split_tag(tag: str):
    if tag in ("O", "", None):
        return "O", None
    if "-" in tag:
        prefix, kind = tag.split("-", 1)
        return prefix.upper(), kind
    return "I", tag


def _chunk_start(prev_prefix, prev_kind, prefix, kind):
    """conlleval's startOfChunk."""
    if prefix in ("B", "S"):
        return True
    if prefix == "I":
        return prev_prefix in ("O", "E", "S") or prev_kind != kind
    if prefix == "E":
        return prev_prefix in ("O", "E", "S") or prev_kind != kind
    return False


def _chunk_end(prev_prefix, prev_kind, prefix, kind):
    """conlleval's endOfChunk (for the previous tag)."""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I"):
        return prefix in ("O", "B", "S") or kind != prev_kind
    return False


def conll_chunks(tags) -> set:
    """Entity spans {(type, start, end_inclusive)} of one tag sequence, conlleval style."""
    chunks, start = set(), None
    prev_prefix, prev_kind = "O", None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, kind = _split_tag(tag)
        if start is not None and _chunk_end(prev_prefix, prev_kind, prefix, kind):
            chunks.add((prev_kind, start, i - 1))
            start = None
        if prefix != "O" and _chunk_start(prev_prefix, prev_kind, prefix, kind):
            start = i
        prev_prefix, prev_kind = prefix, kind
    return chunks


def _char_chunks(chunks, offsets):
    """{(type, first, last)} element chunks -> {(type, char_start, char_end)}."""
    return {(kind, offsets[first][0], offsets[last][1]) for kind, first, last in chunks}


def conll_f1(true_sequences, predicted_sequences, true_offsets=None,
             predicted_offsets=None) -> dict:
    """Entity-level micro precision/recall/F1 (conlleval), plus token accuracy and per-type figures.

    ``true_offsets`` / ``predicted_offsets`` (optional, both or neither): per sentence the
    ``(char_start, char_end)`` of each element of its sequence, for predictions made on other
    units than the gold tokens (words of raw text): entities then match when type and character
    span agree, and ``accuracy`` is None unless every sequence pair has equal length.

    ``per_type``: {type: {"precision", "recall", "f1", "support" (gold entities)}};
    ``per_type_f1``: {type: f1}, the same F1s.
    """
    if len(true_sequences) != len(predicted_sequences):
        raise ValueError("conll_f1 needs as many predicted sequences as true ones")
    if (true_offsets is None) != (predicted_offsets is None):
        raise ValueError("conll_f1 needs both true_offsets and predicted_offsets, or neither")
    correct = found_true = found_pred = 0
    tokens = token_correct = 0
    same_units = True
    per_type = collections.defaultdict(lambda: [0, 0, 0])  # correct, true, predicted
    for i, (gold, pred) in enumerate(zip(true_sequences, predicted_sequences)):
        g, p = conll_chunks(gold), conll_chunks(pred)
        if true_offsets is not None:
            g, p = _char_chunks(g, true_offsets[i]), _char_chunks(p, predicted_offsets[i])
        elif len(gold) != len(pred):
            raise ValueError(f"a predicted sequence has {len(pred)} tags for {len(gold)} tokens")
        correct += len(g & p)
        found_true += len(g)
        found_pred += len(p)
        for kind, *_ in g & p:
            per_type[kind][0] += 1
        for kind, *_ in g:
            per_type[kind][1] += 1
        for kind, *_ in p:
            per_type[kind][2] += 1
        if len(gold) == len(pred):
            tokens += len(gold)
            token_correct += sum(a == b for a, b in zip(gold, pred))
        else:
            same_units = False

    def prf(c, t, f):
        precision = c / f if f else 0.0
        recall = c / t if t else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    precision, recall, f1 = prf(correct, found_true, found_pred)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": (token_correct / tokens if tokens else 0.0) if same_units else None,
        "per_type_f1": {k: prf(*v)[2] for k, v in sorted(per_type.items())},
        "per_type": {k: dict(zip(("precision", "recall", "f1"), prf(*v)), support=v[1])
                     for k, v in sorted(per_type.items())},
        "num_entities": found_true,
    }


# === Question answering (SQuAD) ===

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _exact(gold: str, pred: str) -> float:
    return float(normalize_answer(gold) == normalize_answer(pred))


def _f1(gold: str, pred: str) -> float:
    g, p = normalize_answer(gold).split(), normalize_answer(pred).split()
    if not g or not p:
        return float(g == p)  # v2.0: both empty -> 1, one empty -> 0
    common = collections.Counter(g) & collections.Counter(p)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(gold_answers: dict, predictions: dict, version: str = "1.1") -> dict:
    """gold_answers: {question id: [answer texts]} ([] = unanswerable, v2.0); predictions: {id: text}.

    Returns exact_match and f1 in percent (as the official scripts print them),
    maximised over the gold answers; v2.0 adds HasAns_/NoAns_ splits.
    Questions without a prediction count as wrong (v1.1) or as "no answer" (v2.0).
    """
    if version not in ("1.1", "2.0"):
        raise ValueError(f"SQuAD version must be '1.1' or '2.0', got {version!r}")
    if not gold_answers:
        raise ValueError("no questions to score")
    exact, f1 = {}, {}
    for qid, answers in gold_answers.items():
        answers = [a for a in answers if normalize_answer(a)] or ([""] if version == "2.0" else list(answers))
        pred = predictions.get(qid, "")
        exact[qid] = max(_exact(a, pred) for a in answers) if answers else 0.0
        f1[qid] = max(_f1(a, pred) for a in answers) if answers else 0.0
    result = {"exact_match": 100.0 * np.mean(list(exact.values())),
              "f1": 100.0 * np.mean(list(f1.values())), "total": len(exact)}
    if version == "2.0":
        has = [q for q, a in gold_answers.items() if any(normalize_answer(x) for x in a)]
        no = [q for q in gold_answers if q not in set(has)]
        for name, ids in (("HasAns", has), ("NoAns", no)):
            if ids:
                result[f"{name}_exact"] = 100.0 * np.mean([exact[q] for q in ids])
                result[f"{name}_f1"] = 100.0 * np.mean([f1[q] for q in ids])
                result[f"{name}_total"] = len(ids)
    return {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in result.items()}


# === Pretraining ===

def masked_lm_metrics(mask_ids, predicted_ids, mask_weights, train_token_counts=None) -> dict:
    """Masked-LM accuracy over real masked positions, plus the commonest-token baseline.

    The baseline always predicts the token that is most frequent among the
    *training* targets (``train_token_counts``: {id: count} or an array of counts
    per id); without it, the commonest eval target is used (an optimistic baseline).
    """
    ids = np.asarray(mask_ids).reshape(-1)
    pred = np.asarray(predicted_ids).reshape(-1)
    w = np.asarray(mask_weights, dtype=np.float64).reshape(-1)
    total = w.sum()
    if total <= 0:
        raise ValueError("no masked positions to score")
    accuracy = float(((ids == pred) * w).sum() / total)
    if train_token_counts is None:
        counts = np.bincount(ids[w > 0].astype(np.int64))
        commonest = int(counts.argmax())
    elif isinstance(train_token_counts, dict):
        commonest = int(max(train_token_counts, key=train_token_counts.get))
    else:
        commonest = int(np.asarray(train_token_counts).argmax())
    baseline = float(((ids == commonest) * w).sum() / total)
    return {"masked_lm_accuracy": accuracy, "commonest_token_baseline_accuracy": baseline,
            "commonest_token_id": commonest, "num_masked_tokens": int(total)}
