"""Token classification (NER, POS) from CoNLL-2003 style files -> batched tf.data.

File format: one token per line, whitespace-separated columns, the tag in the last
column (CoNLL-2003: ``token POS chunk NER``; 2-column ``token TAG`` files work too);
a blank line ends a sentence; ``-DOCSTART-`` lines mark documents and are skipped.

Label alignment (the loss / metric convention):
  each word's label goes on its FIRST WordPiece; its other pieces, [CLS], [SEP] and
  padding get ``IGNORE_LABEL`` (-100). Train with
  ``keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)``
  and compute metrics only where ``labels != IGNORE_LABEL`` (one position per word).
  Words cut off by ``sequence_length`` have no position; ``word_labels_from_logits``
  gives them ``fill_label``.

    ds, labels = token_classification_dataset("train.txt", preprocessor, batch_size=32, shuffle=True, seed=0)
    # ({"token_ids", "segment_ids", "padding_mask"} int32 [B, T], labels int32 [B, T])
    tags = predict_word_labels(model, "test.txt", preprocessor, labels)   # [[tag per word], ...]
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import tensorflow as tf

from bert_tf.data.classification import (DEFAULT_NUM_BUCKETS, auto_bucket_boundaries, num_bucketed_batches,
                                         ragged_from_lists, tokenizer_key)
from bert_tf.data.readers import DataError, read_text_lines, where

logger = logging.getLogger(__name__)

IGNORE_LABEL = -100  # label of positions that are not the first piece of a word (ignored in loss/metrics)
DOCSTART = "-DOCSTART-"


@dataclasses.dataclass
class TokenClassificationExamples:
    """Sentences read from a CoNLL file; ``tags`` are label names, ``label_ids`` their ids."""

    path: str
    sentences: list  # [[word, ...], ...]
    tags: list | None  # [[tag, ...], ...] or None (unlabelled file)
    label_ids: list | None
    label_names: list | None
    line_numbers: list  # line of each sentence's first word (1-based)
    # piece counts per tokenizer, so a dataset rebuilt every epoch does not tokenize twice
    _length_cache: dict = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self):
        return len(self.sentences)


def read_conll(path: str, label_column: int | None = -1, encoding: str = "utf-8"):
    """Yields ``(line, words, tags)`` per sentence (``tags`` None when ``label_column`` is None).

    Every non-blank line must have the same number of columns as the file's first token line.
    """
    words, tags, start, ncols = [], [], None, None
    for line, text in read_text_lines(path, encoding):
        fields = text.split()
        if not fields or fields[0] == DOCSTART:
            if words:
                yield start, words, tags if label_column is not None else None
            words, tags, start = [], [], None
            continue
        if ncols is None:
            ncols = len(fields)
            if label_column is not None and ncols < 2:
                raise DataError(f"{where(path, line)}: expected a token and a tag column, found 1 column "
                                f"(pass label_column=None for unlabelled files)")
        if len(fields) != ncols:
            raise DataError(f"{where(path, line)}: expected {ncols} columns like the first token line, "
                            f"found {len(fields)}")
        if start is None:
            start = line
        words.append(fields[0])
        if label_column is not None:
            tags.append(fields[label_column])
    if words:
        yield start, words, tags if label_column is not None else None


def read_token_classification_examples(path: str, label_map=None, label_column: int | None = -1,
                                       encoding: str = "utf-8") -> TokenClassificationExamples:
    """Reads a CoNLL file; labels sorted by name unless ``label_map`` (names in id order) is given.

    A tag outside ``label_map`` raises ``DataError("path:line: unknown label ...")``.
    """
    sentences, all_tags, lines = [], [], []
    if isinstance(label_map, dict):
        label_map = [name for name, _ in sorted(label_map.items(), key=lambda kv: kv[1])]
    known = list(label_map) if label_map is not None else None
    index = {name: i for i, name in enumerate(known)} if known else None
    for line, words, tags in read_conll(path, label_column=label_column, encoding=encoding):
        if index is not None and tags is not None:
            for offset, tag in enumerate(tags):
                if tag not in index:
                    raise DataError(f"{where(path, line + offset)}: unknown label {tag!r} (known labels: {known})")
        sentences.append(words)
        all_tags.append(tags)
        lines.append(line)
    if not sentences:
        raise DataError(f"{path}: no sentences found")
    if label_column is None:
        return TokenClassificationExamples(str(path), sentences, None, None, known, lines)
    names = known or sorted({t for tags in all_tags for t in tags})
    index = {name: i for i, name in enumerate(names)}
    ids = [[index[t] for t in tags] for tags in all_tags]
    return TokenClassificationExamples(str(path), sentences, all_tags, ids, names, lines)


# === tf.data ===

def _piece_counts(tokenizer, sentences, chunk: int = 4096) -> np.ndarray:
    """WordPiece count of each sentence, computed once, eagerly."""
    flat = [w for s in sentences for w in s]
    counts = np.concatenate([np.asarray(tokenizer(tf.constant(flat[i:i + chunk])).row_lengths())
                             for i in range(0, len(flat), chunk)])
    splits = np.cumsum([0] + [len(s) for s in sentences])
    return np.add.reduceat(counts, splits[:-1]) if len(counts) else np.zeros(len(sentences), "int64")


def align_labels(tokenizer, words: tf.RaggedTensor, labels: tf.RaggedTensor, sequence_length: int):
    """In-graph: words [B, W] string, word labels [B, W] int -> features, token labels, word ids.

    Returns ``(features, token_labels [B, T], word_ids [B, T])``: ``token_labels`` holds the word's
    label on its first piece and IGNORE_LABEL elsewhere; ``word_ids`` the word's index in its
    sentence on first pieces and -1 elsewhere. T = min(longest row + 2, sequence_length).
    """
    pieces = tokenizer(words.flat_values)  # [N_words, P]
    piece_word = pieces.value_rowids()  # [N_pieces] word (global) of each piece
    first = tf.ragged.range(pieces.row_lengths()).flat_values == 0  # [N_pieces]
    word_pos = tf.ragged.range(words.row_lengths()).flat_values  # [N_words] index within its sentence
    piece_labels = tf.where(first, tf.gather(tf.cast(labels.flat_values, tf.int32), piece_word), IGNORE_LABEL)
    piece_word_ids = tf.where(first, tf.cast(tf.gather(word_pos, piece_word), tf.int32), -1)
    splits = tf.gather(pieces.row_splits, words.row_splits)  # pieces per sentence
    ids, tok_labels, word_ids = (tf.RaggedTensor.from_row_splits(v, splits)[:, :sequence_length - 2]
                                 for v in (pieces.flat_values, piece_labels, piece_word_ids))
    batch = words.nrows()

    def wrap(rt, left, right, pad):
        col = lambda v: tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.constant(v, rt.dtype)))
        return tf.concat([col(left), rt, col(right)], axis=1).to_tensor(pad)

    token_ids = wrap(ids, tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id)
    padding_mask = wrap(tf.ones_like(ids), 1, 1, 0)
    features = {"token_ids": tf.cast(token_ids, tf.int32), "segment_ids": tf.zeros_like(padding_mask),
                "padding_mask": padding_mask}
    return features, wrap(tok_labels, IGNORE_LABEL, IGNORE_LABEL, IGNORE_LABEL), wrap(word_ids, -1, -1, -1)


def token_classification_dataset(path, preprocessor, batch_size: int = 32, label_map=None,
                                 shuffle: bool = False, seed: int | None = None, drop_remainder: bool = False,
                                 bucket: bool = True, bucket_boundaries=None,
                                 num_buckets: int = DEFAULT_NUM_BUCKETS, label_column: int | None = -1,
                                 encoding: str = "utf-8", return_word_ids: bool = False):
    """Returns ``(dataset, label_names)`` for a CoNLL file (or ``TokenClassificationExamples``).

    Elements: ``(features, labels)``; features int32 [B, T] (single segment), labels int32 [B, T]
    with IGNORE_LABEL off first pieces. With ``return_word_ids=True``: ``(features, labels,
    {"word_ids" [B, T], "example_index" [B]})`` for mapping predictions back to words.
    ``bucket``: group sentences of similar WordPiece length (exact counts, computed up front).
    ``preprocessor``: a BertPreprocessor (its ``tokenizer`` and ``sequence_length`` are used).
    """
    if isinstance(path, TokenClassificationExamples):
        examples = path
    else:
        examples = read_token_classification_examples(path, label_map=label_map, label_column=label_column,
                                                      encoding=encoding)
    tokenizer = preprocessor.tokenizer
    sequence_length = int(preprocessor.sequence_length)
    n = len(examples)
    label_ids = examples.label_ids or [[0] * len(s) for s in examples.sentences]
    columns = {
        "words": ragged_from_lists(examples.sentences, tf.string),
        "labels": ragged_from_lists(label_ids, tf.int32),
        "example_index": tf.range(n, dtype=tf.int32),
    }
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)

    boundaries = []
    if bucket:
        key = (tokenizer_key(tokenizer), len(examples))
        if key not in examples._length_cache:
            examples._length_cache[key] = _piece_counts(tokenizer, examples.sentences)
        lengths = np.minimum(examples._length_cache[key] + 2, sequence_length)
        boundaries = (sorted(int(b) for b in bucket_boundaries) if bucket_boundaries is not None
                      else auto_bucket_boundaries(lengths, batch_size, cap=sequence_length, num_buckets=num_buckets))
    if boundaries:
        bucket_of = tf.constant(np.searchsorted(np.asarray(boundaries), lengths, side="right"), tf.int64)
        ds = ds.group_by_window(
            key_func=lambda x: tf.gather(bucket_of, x["example_index"]),
            reduce_func=lambda _, window: window.ragged_batch(batch_size, drop_remainder=drop_remainder),
            window_size=batch_size)
        num_batches = num_bucketed_batches(np.asarray(bucket_of), len(boundaries) + 1, batch_size, drop_remainder)
    else:
        ds = ds.ragged_batch(batch_size, drop_remainder=drop_remainder)
        num_batches = n // batch_size if drop_remainder else -(-n // batch_size)
    if num_batches == 0:
        raise DataError(f"{examples.path}: {n} sentence(s) make no full batch of {batch_size} "
                        f"with drop_remainder=True")
    ds = ds.apply(tf.data.experimental.assert_cardinality(num_batches))

    def to_features(batch):
        features, labels, word_ids = align_labels(tokenizer, batch["words"], batch["labels"], sequence_length)
        if drop_remainder:
            features = {k: tf.ensure_shape(v, [batch_size, None]) for k, v in features.items()}
            labels = tf.ensure_shape(labels, [batch_size, None])
        if return_word_ids:
            return features, labels, {"word_ids": word_ids, "example_index": batch["example_index"]}
        return features, labels

    ds = ds.map(to_features, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE), examples.label_names


# === Predictions back to words ===

def word_labels_from_logits(logits, word_ids, num_words, label_names, fill_label="O"):
    """Token logits [B, T, C] (or predicted ids [B, T]) + word_ids [B, T] -> tags per word.

    Each word takes the prediction at its first piece. ``num_words[i]`` is the word count of
    row i; words with no piece in the window (cut off by sequence_length) get ``fill_label``
    (default "O"; falls back to ``label_names[0]`` when "O" is not a label).
    """
    logits = np.asarray(logits)
    predicted = logits.argmax(-1) if logits.ndim == 3 else logits
    word_ids = np.asarray(word_ids)
    if fill_label not in label_names:
        fill_label = label_names[0]
    out = []
    for row, ids, count in zip(predicted, word_ids, num_words):
        tags = [fill_label] * int(count)
        for label, w in zip(row, ids):
            if 0 <= w < count:
                tags[w] = label_names[int(label)]
        out.append(tags)
    return out


def predict_word_labels(model, path, preprocessor, label_names, batch_size: int = 32, fill_label: str = "O",
                        label_column: int | None = None, encoding: str = "utf-8"):
    """Runs a token classifier over a CoNLL file; returns one tag per word for every sentence, in file order.

    ``label_column=None`` reads only the first column (an unlabelled file works).
    """
    examples = path if isinstance(path, TokenClassificationExamples) else read_token_classification_examples(
        path, label_column=label_column, encoding=encoding)
    ds, _ = token_classification_dataset(examples, preprocessor, batch_size=batch_size, return_word_ids=True)
    result = [None] * len(examples)
    forward = tf.function(lambda f: model(f, training=False), reduce_retracing=True)
    for features, _, meta in ds:
        logits = forward(features)
        index = meta["example_index"].numpy()
        counts = [len(examples.sentences[i]) for i in index]
        for i, tags in zip(index, word_labels_from_logits(logits, meta["word_ids"], counts, label_names,
                                                          fill_label)):
            result[i] = tags
    return result
