"""Extractive question answering from SQuAD v1.1 / v2.0 JSON -> windows -> tf.data, and back to
answers.

    ds, squad = squad_dataset("train-v2.0.json", preprocessor, batch_size=32, shuffle=True, seed=0)
    # ({"token_ids", "segment_ids", "padding_mask"} int32 [B, T],
    #  {"start_logits": start position int32 [B], "end_logits": end position int32 [B]})
    # (the label keys are the BertSpanLabeler's output names, so model.fit matches them)
    answers = predict_answers(model, squad, batch_size=32)   # {qid: answer text ("" = no answer)}

Each question is packed as ``[CLS] question [SEP] context-window [SEP]``; a context longer than
the room left is cut into windows ``doc_stride`` tokens apart. The answer's character span is
mapped to token positions with the tokenizer's offsets; an unanswerable question (v2.0
``is_impossible``), or a window that does not hold the whole answer, points at position 0
([CLS]). ``SquadFeatures`` keeps, per window, the example it came from and each context
token's character span, which ``postprocess_predictions`` uses to cut answers out of the context.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os

import numpy as np
import tensorflow as tf

from bert_tf.data.classification import (
    DEFAULT_NUM_BUCKETS,
    auto_bucket_boundaries,
    ragged_batches_by_bucket,
    ragged_from_lists,
)
from bert_tf.data.readers import DataError

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class SquadExample:
    qid: str
    question: str
    context: str
    answers: list  # [{"text": str, "answer_start": int}, ...]; empty when unanswerable
    is_impossible: bool = False
    title: str = ""


@dataclasses.dataclass
class SquadFeature:
    """One window of one question."""

    example_index: int
    token_ids: list
    segment_ids: list
    token_to_char: (
        dict  # position -> (char_start, char_end) in the context, for context tokens only
    )
    max_context: dict  # position -> whether this window gives that token its most context
    start_position: int = 0
    end_position: int = 0


@dataclasses.dataclass
class SquadFeatures:
    """What ``squad_dataset`` built: the examples, their windows (in dataset order without
    shuffle)."""

    path: str
    examples: list
    features: list
    version_2_with_negative: bool
    pad_id: int = 0
    max_seq_length: int = 384

    def __len__(self):
        return len(self.features)


def read_squad(path: str, skip_invalid: bool = False) -> tuple[list, bool]:
    """Reads a SQuAD v1.1 / v2.0 file -> ``(examples, version_2_with_negative)``.

    An answer whose ``text`` is not at ``answer_start`` in the context, or a missing field,
    raises DataError naming the file and the question (skipped with a count with ``skip_invalid``).
    """
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    with open(path, encoding="utf-8-sig") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: invalid JSON ({e.msg})") from e
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: SQuAD files are UTF-8 JSON ({e.reason})") from e
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DataError(f'{path}: not a SQuAD file (expected {{"data": [...]}} at the top)')
    version_2 = str(data.get("version", "")).startswith("v2") or str(
        data.get("version", "")
    ).startswith("2")
    examples, skipped, first = [], 0, None
    fixes = collections.Counter()  # dropped / repaired answers (_parse_qa counts them)
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(
            article.get("paragraphs", []) if isinstance(article, dict) else []
        ):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            for q, qa in enumerate(paragraph.get("qas", []) if isinstance(paragraph, dict) else []):
                loc = f"data[{a}].paragraphs[{p}].qas[{q}]"
                try:
                    example = _parse_qa(qa, context, article.get("title", ""), loc, fixes)
                    if example is None:
                        continue
                except DataError as e:
                    if not skip_invalid:
                        raise DataError(f"{path}: {e}") from e
                    skipped += 1
                    first = first or str(e)
                    continue
                version_2 = version_2 or "is_impossible" in qa
                examples.append(example)
    if skipped:
        logger.warning("%s: skipped %d invalid question(s); first: %s", path, skipped, first)
    if fixes["no_start"]:
        logger.warning(
            "%s: dropped %d answer(s) with answer_start -1 (and %d question(s) left "
            "without an answer)",
            path,
            fixes["no_start"],
            fixes["no_answer_left"],
        )
    if fixes["utf16"]:
        logger.warning(
            "%s: %d answer_start(s) counted UTF-16 code units (characters outside the "
            "BMP before the answer); read as character offsets",
            path,
            fixes["utf16"],
        )
    if not examples:
        raise DataError(f"{path}: no questions found")
    return examples, version_2


def _utf16_to_char(text: str, offset: int) -> int:
    """A UTF-16 code unit offset (as JavaScript / C# tools write them) -> a character offset."""
    return len(text.encode("utf-16-le")[: 2 * offset].decode("utf-16-le", errors="ignore"))


def _parse_qa(qa, context, title, loc, fixes=None) -> SquadExample | None:
    """One question -> a SquadExample; None when every answer had answer_start -1 (CMRC 2018 has
    a few; they are dropped and counted in ``fixes``, as are UTF-16 offsets read as characters)."""
    fixes = collections.Counter() if fixes is None else fixes
    if not isinstance(qa, dict):
        raise DataError(f"{loc}: expected an object")
    if not isinstance(context, str) or not context.strip():
        raise DataError(f"{loc}: the paragraph has no context")
    for key in ("id", "question"):
        if not isinstance(qa.get(key), str) or not qa[key].strip():
            raise DataError(f"{loc}: missing {key!r}")
    loc = f"{loc} (id {qa['id']})"
    impossible = bool(qa.get("is_impossible", False))
    answers = qa.get("answers", [])
    if not isinstance(answers, list):
        raise DataError(f"{loc}: 'answers' must be a list")
    checked = []
    for answer in answers if not impossible else []:
        text, start = (
            (answer.get("text"), answer.get("answer_start"))
            if isinstance(answer, dict)
            else (None, None)
        )
        if not isinstance(text, str) or not text or not isinstance(start, int):
            raise DataError(f"{loc}: an answer needs 'text' and an integer 'answer_start'")
        if start == -1:  # the annotators found no span: no position to train on or to check
            fixes["no_start"] += 1
            continue
        if (
            context[start : start + len(text)] != text
            and start >= 0
            and context[_utf16_to_char(context, start) :].startswith(text)
        ):
            fixes["utf16"] += 1
            start = _utf16_to_char(context, start)
        if start < 0 or context[start : start + len(text)] != text:
            raise DataError(
                f"{loc}: answer {text!r} is not at answer_start {start} of the context "
                f"(found {context[start : start + len(text)]!r})"
            )
        checked.append({"text": text, "answer_start": start})
    if not impossible and not checked and answers:
        fixes["no_answer_left"] += 1
        return None
    if not impossible and not checked:
        raise DataError(f"{loc}: no answers and not marked is_impossible")
    return SquadExample(qa["id"], qa["question"], context, checked, impossible, title)


# === Split by article ===


def split_squad_by_article(path, output_dir, test_fraction=0.2, seed=0, max_articles=None):
    """Splits a SQuAD file by article into ``output_dir/<name>.train.json`` and ``.test.json``.

    Deterministic: the articles are shuffled with ``numpy.random.default_rng(seed)``, the first
    ``max_articles`` (default all) kept, and ``round(test_fraction * n)`` (at least 1) of them go
    to the test file, the rest to the train file, so no context is in both. Each file is written
    to a temporary name, then renamed. Returns ``(train_path, test_path)``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    with open(path, encoding="utf-8-sig") as f:
        data = json.load(f)
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise DataError(f'{path}: not a SQuAD file (expected {{"data": [...]}} at the top)')
    order = np.random.default_rng(seed).permutation(len(articles)).tolist()[:max_articles]
    if len(order) < 2:
        raise DataError(f"{path}: {len(order)} article(s); a train/test split needs at least 2")
    num_test = min(max(1, round(test_fraction * len(order))), len(order) - 1)
    name = os.path.splitext(os.path.basename(path))[0]
    os.makedirs(output_dir, exist_ok=True)
    paths = []
    for part, chosen in (("train", order[num_test:]), ("test", order[:num_test])):
        out = dict(data, data=[articles[i] for i in sorted(chosen)])  # file order within a part
        target = os.path.join(output_dir, f"{name}.{part}.json")
        tmp = f"{target}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False)
        os.replace(tmp, target)
        paths.append(target)
    return tuple(paths)


# === Windows ===


def _byte_to_char(text: str) -> np.ndarray:
    """Map from UTF-8 byte offset (0..len(bytes)) to character offset."""
    sizes = [len(ch.encode("utf-8")) for ch in text]
    return np.append(np.repeat(np.arange(len(text)), sizes), len(text)).astype("int64")


def _tokenize(tokenizer, texts, with_offsets=False, chunk=256):
    out = []
    for i in range(0, len(texts), chunk):
        batch = tf.constant(texts[i : i + chunk])
        if with_offsets:
            ids, starts, ends = tokenizer.tokenize_with_offsets(batch)
            out += list(zip(ids.to_list(), starts.to_list(), ends.to_list()))
        else:
            out += tokenizer(batch).to_list()
    return out


def _windows(num_tokens, max_context, doc_stride):
    start = 0
    while True:
        length = min(num_tokens - start, max_context)
        yield start, length
        if start + length >= num_tokens:
            return
        start += min(length, doc_stride)


def build_features(examples, tokenizer, max_seq_length=384, max_query_length=64, doc_stride=128):
    """Question + context windows for every example (see the module docstring)."""
    questions = _tokenize(tokenizer, [e.question for e in examples])
    contexts = sorted({e.context for e in examples})
    context_index = {c: i for i, c in enumerate(contexts)}
    tokenized = _tokenize(tokenizer, contexts, with_offsets=True)
    char_maps = [_byte_to_char(c) for c in contexts]
    cls_id, sep_id = tokenizer.cls_id, tokenizer.sep_id
    features = []
    for ei, (example, q_ids) in enumerate(zip(examples, questions)):
        q_ids = q_ids[:max_query_length]
        ci = context_index[example.context]
        c_ids, b_starts, b_ends = tokenized[ci]
        char_starts = (
            char_maps[ci][np.asarray(b_starts, "int64")] if c_ids else np.zeros(0, "int64")
        )
        char_ends = char_maps[ci][np.asarray(b_ends, "int64")] if c_ids else np.zeros(0, "int64")
        tok_start = tok_end = None
        if example.answers and not example.is_impossible:
            a_start = example.answers[0]["answer_start"]
            a_end = a_start + len(example.answers[0]["text"])
            inside = np.nonzero((char_ends > a_start) & (char_starts < a_end))[0]
            if len(inside):
                tok_start, tok_end = int(inside[0]), int(inside[-1])
        max_context = max_seq_length - len(q_ids) - 3
        if max_context < 1:
            raise ValueError(
                f"max_seq_length={max_seq_length} leaves no room for the context after the "
                f"{len(q_ids)}-token question {example.qid!r}; lower max_query_length"
            )
        windows = list(_windows(len(c_ids), max_context, doc_stride))
        offset = len(q_ids) + 2
        for start, length in windows:
            ids = [cls_id] + q_ids + [sep_id] + c_ids[start : start + length] + [sep_id]
            segments = [0] * offset + [1] * (length + 1)
            to_char = {
                offset + i: (int(char_starts[start + i]), int(char_ends[start + i]))
                for i in range(length)
            }
            is_max = {offset + i: _is_max_context(windows, start, start + i) for i in range(length)}
            s = e = 0
            if tok_start is not None and start <= tok_start and tok_end < start + length:
                s, e = tok_start - start + offset, tok_end - start + offset
            features.append(SquadFeature(ei, ids, segments, to_char, is_max, s, e))
    return features


def _is_max_context(windows, current_start, position):
    """Whether the window starting at ``current_start`` gives ``position`` the most context (BERT's
    rule)."""
    best_score, best_start = None, None
    for start, length in windows:
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_start = score, start
    return best_start == current_start


# === tf.data ===


def squad_dataset(
    path,
    preprocessor,
    batch_size: int = 32,
    max_seq_length: int | None = None,
    max_query_length: int = 64,
    doc_stride: int = 128,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    bucket: bool = True,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    return_feature_index: bool = False,
    skip_invalid: bool = False,
):
    """Returns ``(dataset, SquadFeatures)`` for a SQuAD v1.1 / v2.0 JSON file.

    ``preprocessor``: a BertPreprocessor (or a BertTokenizer); ``max_seq_length`` defaults to
    its ``sequence_length``. Elements: ``(features, {"start_logits", "end_logits"})`` with the
    answer's token positions (0 = no answer in this window). With ``return_feature_index``
    a third element ``feature_index`` [B] points into ``SquadFeatures.features``.
    """
    if isinstance(path, SquadFeatures):  # windows already built; preprocessor may be None
        squad = path
        max_seq_length = squad.max_seq_length
    else:
        tokenizer = getattr(preprocessor, "tokenizer", preprocessor)
        if max_seq_length is None:
            max_seq_length = getattr(preprocessor, "sequence_length", 384)
        examples, version_2 = read_squad(path, skip_invalid=skip_invalid)
        features = build_features(examples, tokenizer, max_seq_length, max_query_length, doc_stride)
        squad = SquadFeatures(
            str(path),
            examples,
            features,
            version_2,
            pad_id=tokenizer.pad_id,
            max_seq_length=max_seq_length,
        )
    feats = squad.features
    n = len(feats)
    columns = {
        "token_ids": ragged_from_lists([f.token_ids for f in feats], tf.int32),
        "segment_ids": ragged_from_lists([f.segment_ids for f in feats], tf.int32),
        "start": tf.constant([f.start_position for f in feats], tf.int32),
        "end": tf.constant([f.end_position for f in feats], tf.int32),
        "index": tf.range(n, dtype=tf.int32),
    }
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    lengths = np.array([len(f.token_ids) for f in feats])
    boundaries = (
        auto_bucket_boundaries(lengths, batch_size, cap=max_seq_length, num_buckets=num_buckets)
        if bucket
        else []
    )
    ds = ragged_batches_by_bucket(
        ds, lengths, boundaries, batch_size, drop_remainder, "index", squad.path
    )
    pad_id = squad.pad_id

    def to_features(batch):
        ids = batch["token_ids"]
        features = {
            "token_ids": ids.to_tensor(pad_id),
            "segment_ids": batch["segment_ids"].to_tensor(0),
            "padding_mask": tf.ones_like(ids).to_tensor(0),
        }
        labels = {"start_logits": batch["start"], "end_logits": batch["end"]}
        if drop_remainder:
            features = {k: tf.ensure_shape(v, [batch_size, None]) for k, v in features.items()}
            labels = {k: tf.ensure_shape(v, [batch_size]) for k, v in labels.items()}
        if return_feature_index:
            return features, labels, batch["index"]
        return features, labels

    ds = ds.map(to_features, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), squad


# === Back to answer text ===


def postprocess_predictions(
    squad: SquadFeatures,
    feature_indices,
    start_logits,
    end_logits,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    null_score_diff_threshold: float = 0.0,
    version_2_with_negative: bool | None = None,
    return_nbest: bool = False,
):
    """Span logits per window -> ``{qid: answer text}`` ("" = no answer, SQuAD v2.0).

    ``feature_indices[i]`` is the window (index into ``squad.features``) of logits row i; rows may
    come in any order and be padded to different lengths. For each question, the best span over
    its windows among the ``n_best_size`` top starts and ends (start <= end, at most
    ``max_answer_length`` tokens, both in the context, start where its window has the most
    context). v2.0: the null answer wins when its score (start[0] + end[0], lowest over windows)
    exceeds the best span's by more than ``null_score_diff_threshold``.
    With ``return_nbest``: ``(answers, {qid: [{"text", "score"}, ...]})``.
    """
    if version_2_with_negative is None:
        version_2_with_negative = squad.version_2_with_negative
    by_example = collections.defaultdict(list)
    for row, fi in enumerate(np.asarray(feature_indices).tolist()):
        by_example[squad.features[fi].example_index].append((fi, row))
    answers, nbest_all = {}, {}
    for ei, example in enumerate(squad.examples):
        candidates, null_score = [], None
        for fi, row in by_example.get(ei, []):
            feature = squad.features[fi]
            start = np.asarray(start_logits[row])[: len(feature.token_ids)]
            end = np.asarray(end_logits[row])[: len(feature.token_ids)]
            score_null = float(start[0] + end[0])
            null_score = score_null if null_score is None else min(null_score, score_null)
            top_starts = np.argsort(start)[::-1][:n_best_size]
            top_ends = np.argsort(end)[::-1][:n_best_size]
            for s in top_starts.tolist():
                if s not in feature.token_to_char or not feature.max_context.get(s, False):
                    continue
                for e in top_ends.tolist():
                    if e not in feature.token_to_char or e < s or e - s + 1 > max_answer_length:
                        continue
                    char_start, char_end = feature.token_to_char[s][0], feature.token_to_char[e][1]
                    candidates.append(
                        (float(start[s] + end[e]), example.context[char_start:char_end])
                    )
        candidates.sort(key=lambda c: -c[0])
        seen, nbest = set(), []
        for score, text in candidates:
            if text in seen:
                continue
            seen.add(text)
            nbest.append({"text": text, "score": score})
            if len(nbest) >= n_best_size:
                break
        best = nbest[0] if nbest else None
        if version_2_with_negative:
            if best is None or (
                null_score is not None and null_score - best["score"] > null_score_diff_threshold
            ):
                answers[example.qid] = ""
            else:
                answers[example.qid] = best["text"]
            if null_score is not None:
                nbest.append({"text": "", "score": null_score})
                nbest.sort(key=lambda c: -c["score"])
        else:
            answers[example.qid] = best["text"] if best else ""
        nbest_all[example.qid] = nbest
    return (answers, nbest_all) if return_nbest else answers


def predict_answers(model, squad: SquadFeatures, batch_size: int = 32, **postprocess_kwargs):
    """Runs a BertSpanLabeler over every window and returns ``{qid: answer text}``."""
    ds, _ = squad_dataset(squad, None, batch_size=batch_size, return_feature_index=True)
    indices, starts, ends = [], [], []
    forward = tf.function(lambda f: model(f, training=False), reduce_retracing=True)
    for features, _, index in ds:
        out = forward(features)
        indices += index.numpy().tolist()
        starts += list(np.asarray(out["start_logits"]))
        ends += list(np.asarray(out["end_logits"]))
    return postprocess_predictions(squad, indices, starts, ends, **postprocess_kwargs)
