"""Sequence classification / regression data: CSV, TSV or JSONL -> batched tf.data.

    ds, labels = classification_dataset("train.csv", "text", "label", preprocessor,
                                        batch_size=32, shuffle=True, seed=0)
    eval_ds, _ = classification_dataset("dev.csv", "text", "label", preprocessor,
                                        batch_size=32, label_map=labels)

Rows are read in Python (``readers``), then tokenized IN the tf.data graph by the
``BertPreprocessor`` after batching (one tokenizer call per batch). Rows are bucketed
by length first, so each batch is padded only to its own longest row (capped at the
preprocessor's ``sequence_length``), not to the cap.
Element: ``({"token_ids", "segment_ids", "padding_mask"} int32 [B, T], labels [B])``;
labels are int32 class ids, float32 for regression, or float32 multi-hot [B, L] for
multi-label rows (``label_type="multi_label"``: the label cell holds ``|``-separated
names); features only when there is no label column (prediction).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from bert_tf.data.readers import DataError, read_rows, where

logger = logging.getLogger(__name__)

LABEL_TYPES = ("auto", "class", "regression", "multi_label")
MULTI_LABEL_SEPARATOR = "|"
# A label cell that stands for a missing value, not a class (pandas writes NaN as "nan").
MISSING_LABELS = ("nan",)
BUCKET_BY = ("tokens", "chars", "none")
# Measured on the real tweets corpus (MiniLM vocab, seq 128, batch 32): padding efficiency 0.80 with
# 4 buckets, 0.88 with 8, 0.93 with 16. Each bucket ends in one partial batch, hence the size cap
# below.
DEFAULT_NUM_BUCKETS = 16


@dataclasses.dataclass
class ClassificationExamples:
    """Rows read from one file. ``labels``: class ids, floats (regression) or None (no label
    column)."""

    path: str
    texts: list
    text_pairs: list | None
    labels: list | None
    label_names: list | None  # names in id order; None for regression or without labels
    line_numbers: list
    num_skipped: int = 0
    multi_label: bool = False  # labels are tuples of class ids (label_type="multi_label")
    # token counts per tokenizer, so a dataset rebuilt every epoch does not tokenize twice
    _length_cache: dict = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __len__(self):
        return len(self.texts)

    @property
    def is_regression(self) -> bool:
        return self.labels is not None and self.label_names is None

    def multi_hot(self) -> np.ndarray:
        """Multi-label targets as float32 [N, L] 0/1 (L = len(label_names))."""
        out = np.zeros((len(self.labels), len(self.label_names)), np.float32)
        for row, ids in enumerate(self.labels):
            out[row, list(ids)] = 1.0
        return out


def _label_key(value) -> str:
    """The name a raw label value stands for: JSON 1, 1.0 and "1" are all the label "1"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _is_int(name: str) -> bool:
    try:
        int(name)
        return True
    except ValueError:
        return False


def sort_label_names(names) -> list[str]:
    """Deterministic label order: numerically if every name is an integer ("2" < "10"), else by
    text."""
    names = set(names)
    if names and all(_is_int(n) for n in names):
        return sorted(names, key=int)
    return sorted(names)


def _normalize_label_map(label_map) -> list[str]:
    if isinstance(label_map, dict):
        ids = sorted(label_map.values())
        if ids != list(range(len(ids))):
            raise ValueError(f"label_map ids must be 0..{len(ids) - 1}, got {ids}")
        return [_label_key(k) for k, _ in sorted(label_map.items(), key=lambda kv: kv[1])]
    names = [_label_key(n) for n in label_map]
    if len(set(names)) != len(names):
        raise ValueError(f"label_map has duplicate names: {names}")
    if not names:
        raise ValueError("label_map is empty")
    return names


def read_classification_examples(
    path: str,
    text_column: str,
    label_column: str | None = None,
    text_pair_column: str | None = None,
    label_map=None,
    label_type: str = "auto",
    file_format: str | None = None,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
    header: bool = True,
) -> ClassificationExamples:
    """Reads and validates rows (see ``classification_dataset`` for the arguments).

    A row with a missing column, an empty text, an empty label, a label not in ``label_map``
    or a non-numeric regression target raises ``DataError("path:line: ...")``; with
    ``skip_invalid=True`` it is skipped instead, and the count is logged and returned.
    """
    if label_type not in LABEL_TYPES:
        raise ValueError(f"label_type must be one of {LABEL_TYPES}, got {label_type!r}")
    if not header:  # columns are then named "0", "1", ...; accept integer positions
        text_column, label_column, text_pair_column = (
            None if c is None else str(c) for c in (text_column, label_column, text_pair_column)
        )
    regression = label_type == "regression"
    multi_label = label_type == "multi_label"
    known = _normalize_label_map(label_map) if (label_map is not None and not regression) else None
    known_index = {name: i for i, name in enumerate(known)} if known else None

    texts, pairs, raw_labels, lines = [], [], [], []
    skipped = 0
    first_problem = None
    columns = [c for c in (text_column, text_pair_column, label_column) if c is not None]
    for line, row in read_rows(path, file_format=file_format, encoding=encoding, header=header):
        problem = None
        missing = [c for c in columns if c not in row or row[c] is None]
        if missing:
            problem = f"missing column {missing[0]!r} (columns: {', '.join(map(str, row))})"
        else:
            text = row[text_column]
            pair = row[text_pair_column] if text_pair_column is not None else None
            if not isinstance(text, str) or not text.strip():
                problem = f"empty text in column {text_column!r}"
            elif pair is not None and (not isinstance(pair, str) or not pair.strip()):
                problem = f"empty text in column {text_pair_column!r}"
            elif label_column is not None and multi_label:
                key, problem = _multi_label_keys(row[label_column], known_index, label_column)
            elif label_column is not None:
                value = row[label_column]
                key = _label_key(value)
                if isinstance(value, (list, dict)) or key == "":
                    problem = f"empty or invalid label in column {label_column!r}: {value!r}"
                elif not regression and known_index is None and key.lower() in MISSING_LABELS:
                    problem = (
                        f"missing label {key!r} in column {label_column!r} "
                        "(a NaN is not a class; list it in label_map if it really is one)"
                    )
                elif regression:
                    try:
                        value = float(value)
                        if not math.isfinite(value):
                            raise ValueError
                    except (TypeError, ValueError):
                        problem = (
                            f"regression target in column {label_column!r} is not a finite "
                            f"number: {value!r}"
                        )
                elif known_index is not None and key not in known_index:
                    problem = (
                        f"unknown label {key!r} in column {label_column!r} (known labels: {known})"
                    )
        if problem is not None:
            if not skip_invalid:
                raise DataError(f"{where(path, line)}: {problem}")
            skipped += 1
            first_problem = first_problem or f"{where(path, line)}: {problem}"
            continue
        texts.append(text)
        if text_pair_column is not None:
            pairs.append(pair)
        if label_column is not None:
            raw_labels.append(float(value) if regression else key)  # multi-label: a tuple of names
        lines.append(line)

    if skipped:
        logger.warning("%s: skipped %d invalid row(s); first: %s", path, skipped, first_problem)
    if not texts:
        more = f" ({skipped} invalid row(s) skipped; first: {first_problem})" if skipped else ""
        raise DataError(f"{path}: no examples found{more}")

    labels = names = None
    if label_column is not None:
        if regression:
            labels = raw_labels
        elif multi_label:
            names = known or sort_label_names(k for keys in raw_labels for k in keys)
            index = {name: i for i, name in enumerate(names)}
            labels = [tuple(sorted(index[k] for k in keys)) for keys in raw_labels]
        else:
            names = known or sort_label_names(raw_labels)
            index = {name: i for i, name in enumerate(names)}
            labels = [index[k] for k in raw_labels]
        if names is not None and known is None:
            logger.debug(
                "%s: labels learned from the data (no label_map): %s",
                path,
                label_counts(labels, names, multi_label),
            )
    return ClassificationExamples(
        path=str(path),
        texts=texts,
        text_pairs=pairs if text_pair_column else None,
        labels=labels,
        label_names=names,
        line_numbers=lines,
        num_skipped=skipped,
        multi_label=multi_label,
    )


def _multi_label_keys(value, known_index, label_column):
    """A multi-label cell ("a|b", or a JSON list) -> (tuple of names, problem or None).

    An empty cell is a row with no labels; an empty name between separators, a NaN or a
    name outside ``known_index`` is a problem."""
    if isinstance(value, list):
        parts = [_label_key(v) for v in value]
    elif isinstance(value, dict) or value is None:
        return (), f"invalid multi-label cell in column {label_column!r}: {value!r}"
    else:
        cell = _label_key(value)
        parts = [p.strip() for p in cell.split(MULTI_LABEL_SEPARATOR)] if cell else []
    if any(p == "" for p in parts):
        return (), (
            f"empty label name in column {label_column!r}: {value!r} "
            f"(labels are separated by {MULTI_LABEL_SEPARATOR!r})"
        )
    for p in parts:
        if known_index is None and p.lower() in MISSING_LABELS:
            return (), f"missing label {p!r} in column {label_column!r} (a NaN is not a class)"
        if known_index is not None and p not in known_index:
            return (), (
                f"unknown label {p!r} in column {label_column!r} "
                f"(known labels: {list(known_index)})"
            )
    return tuple(dict.fromkeys(parts)), None


def label_counts(labels, label_names, multi_label=False) -> dict:
    """{label name: number of rows carrying it}, in label order (the learned-label-set report)."""
    counts = np.zeros(len(label_names), np.int64)
    for y in labels:
        counts[list(y) if multi_label else y] += 1
    return {name: int(c) for name, c in zip(label_names, counts)}


# === tf.data ===


def ragged_from_lists(rows, dtype) -> tf.RaggedTensor:
    """List of lists -> RaggedTensor [N, None] via one flat array (tf.ragged.constant is slow for
    millions)."""
    lengths = np.fromiter((len(r) for r in rows), dtype="int64", count=len(rows))
    splits = np.concatenate([[0], np.cumsum(lengths)])
    if dtype == tf.string:
        flat = (
            tf.constant([v for r in rows for v in r], tf.string)
            if splits[-1]
            else tf.zeros([0], tf.string)
        )
    else:
        flat = np.fromiter(
            (v for r in rows for v in r), dtype=dtype.as_numpy_dtype, count=int(splits[-1])
        )
    return tf.RaggedTensor.from_row_splits(flat, splits, validate=False)


def tokenizer_key(tokenizer):
    """What token counts depend on: the vocabulary and the casing."""
    return (
        hash(tuple(getattr(tokenizer, "vocabulary", ()))),
        getattr(tokenizer, "lowercase", None),
        id(tokenizer) if not hasattr(tokenizer, "vocabulary") else None,
    )


def _token_lengths(examples: ClassificationExamples, preprocessor, chunk: int = 1024) -> np.ndarray:
    """Exact WordPiece counts per row (text + pair), computed once, eagerly, in chunks."""
    tokenizer = preprocessor.tokenizer
    key = (tokenizer_key(tokenizer), len(examples))
    if key in examples._length_cache:
        return examples._length_cache[key]
    counts = []
    for start in range(0, len(examples), chunk):
        n = tokenizer(tf.constant(examples.texts[start : start + chunk])).row_lengths()
        if examples.text_pairs is not None:
            n = n + tokenizer(tf.constant(examples.text_pairs[start : start + chunk])).row_lengths()
        counts.append(np.asarray(n))
    examples._length_cache[key] = np.concatenate(counts).astype("int64")
    return examples._length_cache[key]


def _char_lengths(examples: ClassificationExamples) -> np.ndarray:
    n = np.array([len(t) for t in examples.texts], "int64")
    if examples.text_pairs is not None:
        n += np.array([len(t) for t in examples.text_pairs], "int64")
    return n


def auto_bucket_boundaries(
    lengths, batch_size: int, cap: int | None = None, num_buckets: int = DEFAULT_NUM_BUCKETS
) -> list[int]:
    """Quantile boundaries of ``lengths`` (values below ``cap``), at most ``num_buckets`` buckets,
    and at most one bucket per 4 full batches (each bucket ends in a partial batch: <= ~25% more
    steps)."""
    lengths = np.asarray(lengths)
    num_buckets = max(1, min(num_buckets, len(lengths) // max(1, 4 * batch_size)))
    if num_buckets <= 1:
        return []
    qs = np.quantile(lengths, np.linspace(0, 1, num_buckets + 1)[1:-1])
    bounds = sorted({int(q) + 1 for q in qs})  # a bucket is [lo, hi): the quantile row goes left
    if cap is not None:
        bounds = [b for b in bounds if b <= cap]
    return [b for b in bounds if b > 1]


def num_bucketed_batches(
    bucket_ids, num_buckets: int, batch_size: int, drop_remainder: bool
) -> int:
    """Batches ``bucket_by_sequence_length`` yields: each bucket fills its own batches."""
    per_bucket = np.bincount(np.asarray(bucket_ids, "int64"), minlength=num_buckets)
    if drop_remainder:
        return int(sum(n // batch_size for n in per_bucket))
    return int(sum(-(-n // batch_size) for n in per_bucket))


def with_batch_count(ds, bucket_ids, num_buckets: int, batch_size: int, drop_remainder, what):
    """``ds`` with its cardinality set to the number of batches drawn per bucket
    (``bucket_ids``: each element's bucket, all 0 when unbucketed); zero batches is a DataError
    naming ``what`` (e.g. "data.csv: 3 example(s)")."""
    num_batches = num_bucketed_batches(bucket_ids, num_buckets, batch_size, drop_remainder)
    if num_batches == 0:
        raise DataError(f"{what} make no full batch of {batch_size} with drop_remainder=True")
    return ds.apply(tf.data.experimental.assert_cardinality(num_batches))


def ragged_batches_by_bucket(
    ds, lengths, boundaries, batch_size: int, drop_remainder: bool, index_key: str, source
):
    """Ragged batches of ``ds`` (elements carry their row in ``lengths`` under ``index_key``),
    each batch drawn from one length bucket of ``boundaries`` (none: one bucket), with the
    dataset's cardinality set. ``source`` names the data in the error for zero batches."""
    if boundaries:
        bucket_ids = np.searchsorted(np.asarray(boundaries), np.asarray(lengths), side="right")
        bucket_of = tf.constant(bucket_ids, tf.int64)
        ds = ds.group_by_window(
            key_func=lambda x: tf.gather(bucket_of, x[index_key]),
            reduce_func=lambda _, window: window.ragged_batch(
                batch_size, drop_remainder=drop_remainder
            ),
            window_size=batch_size,
        )
    else:
        bucket_ids = np.zeros(len(lengths), "int64")
        ds = ds.ragged_batch(batch_size, drop_remainder=drop_remainder)
    return with_batch_count(
        ds,
        bucket_ids,
        len(boundaries) + 1,
        batch_size,
        drop_remainder,
        f"{source}: {len(lengths)} window(s)",
    )


def classification_dataset(
    path,
    text_column: str | None = None,
    label_column: str | None = None,
    preprocessor=None,
    batch_size: int = 32,
    text_pair_column: str | None = None,
    label_map=None,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    bucket_by: str = "tokens",
    bucket_boundaries: Sequence[int] | None = None,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    label_type: str = "auto",
    file_format: str | None = None,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
    header: bool = True,
    pad_to_multiple_of: int | None = None,
):
    """Returns ``(dataset, label_names)`` for a CSV / TSV / JSONL file (or
    ``ClassificationExamples``).

    Args:
      path: the file (format from the extension or ``file_format``: "csv", "tsv", "jsonl"),
        or a ``ClassificationExamples`` already read (then the reading arguments are ignored).
      text_column, text_pair_column: column names (JSON keys) of the text and optional second text.
      label_column: column of the label; None for unlabelled data (elements are features only).
      preprocessor: a ``BertPreprocessor`` (``sequence_length`` caps the padded length).
      label_map: label names in id order (or a ``{name: id}`` dict), e.g. the list returned for
        the training file, for the eval file; a label outside it is an error. Default: the
        sorted set of labels found (numeric order when all are integers).
      label_type: "auto"/"class" (labels are class names), "regression" (float32 targets;
        ``label_names`` is None) or "multi_label" (``|``-separated names, or a JSON list, per
        cell; an empty cell is a row with no label; targets float32 multi-hot [B, L]).
        A "nan" label is an error unless ``label_map`` lists it.
      shuffle, seed: shuffle all rows each epoch (deterministic for a given seed).
        Default False: pass ``shuffle=True`` for training.
      drop_remainder: drop partial batches (static batch size, for TPU / XLA / some strategies).
      bucket_by: "tokens" (exact WordPiece counts, computed once up front), "chars" (text
        length, no tokenizer pass) or "none" (plain batches in file order).
      bucket_boundaries: length boundaries (in the ``bucket_by`` unit); default: quantiles
        of the data, at most ``num_buckets`` buckets.
      encoding: text encoding of the file (the real tweets corpus is "latin-1").
      skip_invalid: skip malformed rows with a counted warning instead of raising.
      pad_to_multiple_of: pad each batch's length up to a multiple of this (capped at
        sequence_length), so jit_compile / XLA sees a few shapes instead of every length.

    The dataset is ``prefetch``ed and has a known cardinality (``len(ds)``).
    """
    if preprocessor is None:
        raise ValueError("classification_dataset needs a preprocessor (a BertPreprocessor)")
    if bucket_by not in BUCKET_BY:
        raise ValueError(f"bucket_by must be one of {BUCKET_BY}, got {bucket_by!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if isinstance(path, ClassificationExamples):
        examples = path
    else:
        if text_column is None:
            raise ValueError("classification_dataset needs text_column")
        examples = read_classification_examples(
            path,
            text_column,
            label_column,
            text_pair_column=text_pair_column,
            label_map=label_map,
            label_type=label_type,
            file_format=file_format,
            encoding=encoding,
            skip_invalid=skip_invalid,
            header=header,
        )
    dataset = examples_to_dataset(
        examples,
        preprocessor,
        batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        bucket_by=bucket_by,
        bucket_boundaries=bucket_boundaries,
        num_buckets=num_buckets,
        pad_to_multiple_of=pad_to_multiple_of,
    )
    return dataset, examples.label_names


def examples_to_dataset(
    examples: ClassificationExamples,
    preprocessor,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    bucket_by: str = "tokens",
    bucket_boundaries=None,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    pad_to_multiple_of: int | None = None,
) -> tf.data.Dataset:
    """The tf.data part of ``classification_dataset``."""
    n = len(examples)
    columns = {"text": tf.constant(examples.texts, tf.string)}
    if examples.text_pairs is not None:
        columns["text_pair"] = tf.constant(examples.text_pairs, tf.string)
    has_labels = examples.labels is not None
    if has_labels and examples.multi_label:
        columns["label"] = tf.constant(examples.multi_hot(), tf.float32)  # [N, L]
    elif has_labels:
        dtype = tf.float32 if examples.is_regression else tf.int32
        columns["label"] = tf.constant(examples.labels, dtype)

    cap = getattr(preprocessor, "sequence_length", None)
    if bucket_by == "tokens" and not hasattr(preprocessor, "tokenizer"):
        bucket_by = "chars"
    if bucket_by == "none":
        lengths, boundaries = None, []
    else:
        lengths = (
            _token_lengths(examples, preprocessor)
            if bucket_by == "tokens"
            else _char_lengths(examples)
        )
        if bucket_by == "tokens" and cap is not None:
            lengths = np.minimum(lengths, cap)  # everything above the cap pads alike
        if bucket_boundaries is None:
            boundaries = auto_bucket_boundaries(
                lengths,
                batch_size,
                cap=cap if bucket_by == "tokens" else None,
                num_buckets=num_buckets,
            )
        else:
            boundaries = sorted(int(b) for b in bucket_boundaries)
    if boundaries:
        columns["length"] = tf.constant(lengths, tf.int32)

    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if boundaries:
        ds = ds.bucket_by_sequence_length(
            element_length_func=lambda x: x["length"],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            drop_remainder=drop_remainder,
        )
        bucket_ids = np.searchsorted(np.asarray(boundaries), lengths, side="right")
    else:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        bucket_ids = np.zeros(n, "int64")
    ds = with_batch_count(
        ds,
        bucket_ids,
        len(boundaries) + 1,
        batch_size,
        drop_remainder,
        f"{examples.path}: {n} example(s)",
    )

    def preprocess(batch):
        inputs = (batch["text"], batch["text_pair"]) if "text_pair" in batch else batch["text"]
        features = preprocessor(inputs)
        features = {
            k: tf.cast(features[k], tf.int32) for k in ("token_ids", "segment_ids", "padding_mask")
        }
        if pad_to_multiple_of:
            features = pad_features(
                features, pad_to_multiple_of, cap, preprocessor.tokenizer.pad_id
            )
        labels = batch.get("label")
        if drop_remainder:  # bucketing loses the static batch size; XLA / TPU want it back
            features = {k: tf.ensure_shape(v, [batch_size, None]) for k, v in features.items()}
            if has_labels:  # [B] class ids / targets, or [B, L] multi-hot
                labels = tf.ensure_shape(labels, [batch_size, *labels.shape[1:]])
        return (features, labels) if has_labels else features

    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def pad_features(features: dict, multiple: int, cap: int | None = None, pad_id: int = 0) -> dict:
    """Pads [B, T] features on the right to T rounded up to ``multiple`` (at most ``cap``)."""
    length = tf.shape(features["token_ids"])[1]
    target = (length + multiple - 1) // multiple * multiple
    if cap is not None:
        target = tf.maximum(tf.minimum(target, cap), length)
    extra = [[0, 0], [0, target - length]]
    return {
        k: tf.pad(v, extra, constant_values=pad_id if k == "token_ids" else 0)
        for k, v in features.items()
    }


def padding_efficiency(dataset: tf.data.Dataset, max_batches: int | None = None) -> float:
    """Real tokens / computed tokens (sum of padding_mask / sum of B*T) over a dataset's batches.

    1.0 means no padding at all. Elements may be ``features`` or ``(features, labels, ...)``.
    """
    real = computed = 0
    for i, element in enumerate(dataset):
        if max_batches is not None and i >= max_batches:
            break
        features = element[0] if isinstance(element, tuple) else element
        mask = features["padding_mask"]
        real += int(tf.reduce_sum(tf.cast(mask, tf.int64)))
        computed += int(tf.size(mask, out_type=tf.int64))
    if computed == 0:
        raise ValueError("padding_efficiency: the dataset yielded no batches")
    return real / computed
