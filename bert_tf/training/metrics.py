"""Evaluation metrics, computed in numpy on whole eval sets (so they are exact, not batch means).

classification_metrics: accuracy, macro precision/recall/F1, Matthews correlation;
classification_report: per-class figures and the confusion matrix; multi_label_metrics: micro/macro
precision/recall/F1; regression_metrics: MSE, Pearson, Spearman.
conll_f1: entity-level precision/recall/F1 as conlleval counts them (IOB1/IOB2/IOBES tags).
squad_metrics: SQuAD exact match and F1 (v1.1; v2.0 with unanswerable questions).
cmrc_metrics: CMRC 2018-style exact match and F1 for Chinese answers (characters as tokens).
masked_lm_metrics: masked-LM accuracy and the always-predict-the-commonest-token baseline.
"""

from __future__ import annotations

import collections
import re
import string
import unicodedata

import numpy as np

# === Classification ===


def classification_metrics(labels, predictions, num_classes: int | None = None) -> dict:
    """labels, predictions: int arrays [N]. Macro averages count only classes seen in labels or
    predictions."""
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    p = np.asarray(predictions, dtype=np.int64).reshape(-1)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(
            f"need equally long, non-empty label and prediction arrays, got {y.shape} and {p.shape}"
        )
    k = int(num_classes or max(y.max(), p.max()) + 1)
    cm = np.zeros((k, k), dtype=np.float64)  # [true, predicted]
    np.add.at(cm, (y, p), 1.0)
    tp = np.diag(cm)
    pred_count, true_count = cm.sum(0), cm.sum(1)
    present = (pred_count + true_count) > 0
    precision = np.divide(tp, pred_count, out=np.zeros(k), where=pred_count > 0)
    recall = np.divide(tp, true_count, out=np.zeros(k), where=true_count > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0
    )
    return {
        "accuracy": float(tp.sum() / cm.sum()),
        "precision_macro": float(precision[present].mean()),
        "recall_macro": float(recall[present].mean()),
        "f1_macro": float(f1[present].mean()),
        "matthews_corrcoef": matthews_corrcoef(cm),
        "num_examples": int(y.size),
    }


def matthews_corrcoef(confusion) -> float:
    """Multi-class MCC (Gorodkin's R_K) from a confusion matrix [true, predicted]; 0 when
    undefined."""
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


def conll_f1(
    true_sequences, predicted_sequences, true_offsets=None, predicted_offsets=None
) -> dict:
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
        "per_type": {
            k: dict(zip(("precision", "recall", "f1"), prf(*v)), support=v[1])
            for k, v in sorted(per_type.items())
        },
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


def _f1(gold: str, pred: str, empty_matches_empty: bool = True) -> float:
    g, p = normalize_answer(gold).split(), normalize_answer(pred).split()
    if empty_matches_empty and (not g or not p):
        return float(g == p)  # v2.0: both empty -> 1, one empty -> 0 (v1.1 scores both 0)
    common = collections.Counter(g) & collections.Counter(p)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(gold_answers: dict, predictions: dict, version: str = "1.1") -> dict:
    """gold_answers: {question id: [answer texts]} ([] = unanswerable, v2.0); predictions:
    {id: text}.

    Returns exact_match and f1 in percent (as the official scripts print them),
    maximised over the gold answers; v2.0 adds HasAns_/NoAns_ splits. Each version follows
    its official script: v1.1 scores every gold answer as given (one that normalises to
    nothing gets F1 0) and a question without a prediction 0; v2.0 drops gold answers that
    normalise to nothing ("" when none is left), and a missing prediction is "no answer".
    """
    if version not in ("1.1", "2.0"):
        raise ValueError(f"SQuAD version must be '1.1' or '2.0', got {version!r}")
    if not gold_answers:
        raise ValueError("no questions to score")
    exact, f1 = {}, {}
    v2 = version == "2.0"
    for qid, answers in gold_answers.items():
        answers = ([a for a in answers if normalize_answer(a)] or [""]) if v2 else list(answers)
        if not v2 and qid not in predictions:
            exact[qid] = f1[qid] = 0.0
            continue
        pred = predictions.get(qid, "")
        exact[qid] = max(_exact(a, pred) for a in answers) if answers else 0.0
        f1[qid] = max(_f1(a, pred, empty_matches_empty=v2) for a in answers) if answers else 0.0
    result = {
        "exact_match": 100.0 * np.mean(list(exact.values())),
        "f1": 100.0 * np.mean(list(f1.values())),
        "total": len(exact),
    }
    if version == "2.0":
        has = [q for q, a in gold_answers.items() if any(normalize_answer(x) for x in a)]
        no = [q for q in gold_answers if q not in set(has)]
        for name, ids in (("HasAns", has), ("NoAns", no)):
            if ids:
                result[f"{name}_exact"] = 100.0 * np.mean([exact[q] for q in ids])
                result[f"{name}_f1"] = 100.0 * np.mean([f1[q] for q in ids])
                result[f"{name}_total"] = len(ids)
    return {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in result.items()}


# CMRC 2018's evaluate script removes these (full-width punctuation and a few ASCII symbols);
# cmrc_metrics removes them and every other Unicode punctuation character.
_CMRC_PUNCT = set("-:_*^/\\~`+=，。：？！“”；’《》……·、「」（）－～『』")


def is_cjk(ch: str) -> bool:
    """A CJK ideograph (the unified blocks, their extensions and the compatibility block)."""
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FFFF
    )


def mostly_chinese(texts, share: float = 0.3) -> bool:
    """Whether at least ``share`` of the non-space characters of ``texts`` are CJK ideographs."""
    chars = [ch for text in texts for ch in text if not ch.isspace()]
    return bool(chars) and sum(map(is_cjk, chars)) >= share * len(chars)


def _is_punct(ch: str) -> bool:
    return ch in _CMRC_PUNCT or unicodedata.category(ch).startswith("P")


def cmrc_tokens(text: str) -> list:
    """CMRC 2018 mixed segmentation: lower case, each CJK character a token, other runs split at
    whitespace, punctuation removed (the official script splits those runs with NLTK)."""
    tokens, word = [], []
    for ch in text.lower().strip():
        if _is_punct(ch) or ch.isspace() or is_cjk(ch):
            if word:
                tokens.append("".join(word))
                word = []
            if is_cjk(ch):
                tokens.append(ch)
        else:
            word.append(ch)
    if word:
        tokens.append("".join(word))
    return tokens


def _longest_common_run(a: list, b: list) -> int:
    """Length of the longest common contiguous run of tokens (the CMRC script's find_lcs)."""
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                current[j + 1] = previous[j] + 1
                best = max(best, current[j + 1])
        previous = current
    return best


def cmrc_metrics(gold_answers: dict, predictions: dict) -> dict:
    """CMRC 2018-style ``exact_match_cmrc`` and ``f1_cmrc`` (percent), max over gold answers.

    The official SQuAD script splits at whitespace, so on Chinese text an answer is one "word"
    and F1 collapses to exact match; CMRC 2018 scores characters instead. EM: the lower-cased,
    stripped answers are equal once punctuation is removed. F1: over ``cmrc_tokens``, with the
    longest common run of tokens as the overlap (as the CMRC script does).
    """
    if not gold_answers:
        raise ValueError("no questions to score")
    exact, f1 = [], []
    for qid, answers in gold_answers.items():
        pred = predictions.get(qid, "")
        pred_tokens = cmrc_tokens(pred)
        pred_plain = "".join(ch for ch in pred.lower().strip() if not _is_punct(ch))
        best_exact = best_f1 = 0.0
        for answer in answers:
            plain = "".join(ch for ch in answer.lower().strip() if not _is_punct(ch))
            best_exact = max(best_exact, float(plain == pred_plain))
            tokens = cmrc_tokens(answer)
            same = _longest_common_run(tokens, pred_tokens)
            if same:
                precision, recall = same / len(pred_tokens), same / len(tokens)
                best_f1 = max(best_f1, 2 * precision * recall / (precision + recall))
        exact.append(best_exact)
        f1.append(best_f1)
    return {
        "exact_match_cmrc": 100.0 * float(np.mean(exact)),
        "f1_cmrc": 100.0 * float(np.mean(f1)),
    }


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
    return {
        "masked_lm_accuracy": accuracy,
        "commonest_token_baseline_accuracy": baseline,
        "commonest_token_id": commonest,
        "num_masked_tokens": int(total),
    }


# === Classification reports: per class, multi-label, regression ===


def _prf(tp, predicted, true):
    """Elementwise precision, recall, F1 (0 where undefined), as float arrays."""
    tp, predicted, true = (np.asarray(x, dtype=np.float64) for x in (tp, predicted, true))
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)
    return precision, recall, f1


def classification_report(labels, predictions, label_names) -> dict:
    """Per-class precision/recall/F1/support, macro F1 over all classes, and the confusion matrix.

    ``confusion_matrix[i][j]``: examples of true class i predicted as class j, classes in
    ``confusion_matrix_labels`` order (the model's label order). ``macro_f1`` averages every
    class in ``label_names`` (as sklearn's ``f1_score(average="macro", labels=all)``); the
    older ``f1_macro`` key averages only the classes seen in labels or predictions.
    """
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    p = np.asarray(predictions, dtype=np.int64).reshape(-1)
    k = len(label_names)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(
            f"need equally long, non-empty label and prediction arrays, got {y.shape} and {p.shape}"
        )
    if max(y.max(), p.max()) >= k or min(y.min(), p.min()) < 0:
        raise ValueError(f"class ids must be in 0..{k - 1} for {k} label names")
    cm = np.zeros((k, k), dtype=np.int64)  # [true, predicted]
    np.add.at(cm, (y, p), 1)
    precision, recall, f1 = _prf(np.diag(cm), cm.sum(0), cm.sum(1))
    per_class = {
        str(name): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(cm[i].sum()),
        }
        for i, name in enumerate(label_names)
    }
    return {
        "per_class": per_class,
        "macro_f1": float(f1.mean()),
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_labels": [str(n) for n in label_names],
    }


def multi_label_metrics(labels, predictions, label_names) -> dict:
    """labels, predictions: 0/1 arrays [N, L] (one column per label).

    Micro figures count every (example, label) decision; macro figures average the
    per-label figures over all L labels. ``subset_accuracy``: rows whose whole label set is
    right; ``hamming_loss``: wrong decisions / (N * L). ``per_label``: precision, recall, f1,
    support (true count) per label name.
    """
    y = np.asarray(labels).astype(bool)
    p = np.asarray(predictions).astype(bool)
    if y.shape != p.shape or y.ndim != 2 or y.shape[0] == 0 or y.shape[1] != len(label_names):
        raise ValueError(
            f"need equal [N, {len(label_names)}] label and prediction arrays, "
            f"got {y.shape} and {p.shape}"
        )
    tp, pred_count, true_count = (y & p).sum(0), p.sum(0), y.sum(0)  # [L]
    precision, recall, f1 = _prf(tp, pred_count, true_count)
    micro_p, micro_r, micro_f1 = _prf(tp.sum(), pred_count.sum(), true_count.sum())
    per_label = {
        str(name): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(true_count[i]),
        }
        for i, name in enumerate(label_names)
    }
    return {
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "micro_f1": float(micro_f1),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "subset_accuracy": float(np.mean(np.all(y == p, axis=1))),
        "hamming_loss": float(np.mean(y != p)),
        "per_label": per_label,
        "num_examples": int(y.shape[0]),
    }


def _average_ranks(x):
    """Ranks 1..N with ties given their mean rank (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.r_[True, sorted_x[1:] != sorted_x[:-1]]  # first of each run of equal values
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    ends = np.r_[first[1:], x.size]
    mean_rank = (first + ends + 1) / 2.0  # ranks first+1 .. ends, averaged
    ranks = np.empty_like(x)
    ranks[order] = mean_rank[run]
    return ranks


def _pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.dot(a, b) / denom) if denom > 0 else 0.0


def regression_metrics(targets, predictions) -> dict:
    """Mean squared error, Pearson and Spearman correlation (0 when a side is constant)."""
    y = np.asarray(targets, dtype=np.float64).reshape(-1)
    p = np.asarray(predictions, dtype=np.float64).reshape(-1)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(
            f"need equally long, non-empty target and prediction arrays, "
            f"got {y.shape} and {p.shape}"
        )
    return {
        "mse": float(np.mean((y - p) ** 2)),
        "mae": float(np.mean(np.abs(y - p))),
        "pearson": _pearson(y, p),
        "spearman": _pearson(_average_ranks(y), _average_ranks(p)),
        "num_examples": int(y.size),
    }
