"""Token classification (NER, POS) from CoNLL-2003 style files -> batched tf.data.

File format: one token per line, whitespace-separated columns, the tag in the last
column (CoNLL-2003: ``token POS chunk NER``; 2-column ``token TAG`` files work too);
a blank line ends a sentence; ``-DOCSTART-`` lines mark documents and are skipped.

Label alignment (the loss / metric convention):
  each word's label goes on its FIRST WordPiece; its other pieces, [CLS], [SEP] and
  padding get ``IGNORE_LABEL`` (-100). Train with
  ``keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)``
  and compute metrics only where ``labels != IGNORE_LABEL`` (one position per word).

Words and long sentences (see bert_tf.data.token_windows): every token is first split into the
words the SavedModel sees on raw text (``word_split``: "whitespace" keeps the token whole except
that each CJK ideograph is its own word; "characters" makes each character a word); a token's
later words get its label continued (B-X -> I-X). A sentence longer than one window of
``sequence_length - 2`` pieces becomes several overlapping windows, ``window_stride`` pieces
apart, each a training example; evaluation and serving label every word from its max-context
window (``TokenWindows``), so nothing is cut off.

    ds, labels = token_classification_dataset(
        "train.txt", preprocessor, batch_size=32, shuffle=True, seed=0
    )
    # ({"token_ids", "segment_ids", "padding_mask"} int32 [B, T], labels int32 [B, T])
    tags = predict_word_labels(model, "test.txt", preprocessor, labels)   # [[tag per word], ...]

Files whose tokens carry a prefix (WikiANN's ``en:Paris``) read with ``token_prefix="en:"``.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import tensorflow as tf

from bert_tf.data.classification import (
    DEFAULT_NUM_BUCKETS,
    auto_bucket_boundaries,
    ragged_batches_by_bucket,
    ragged_from_lists,
    tokenizer_key,
)
from bert_tf.data.readers import DataError, read_text_lines, where
from bert_tf.data.token_windows import (
    DEFAULT_WORD_SPLIT,
    TokenWindows,
    default_window_stride,
    split_words,
    window_starts,
)

logger = logging.getLogger(__name__)

IGNORE_LABEL = (
    -100
)  # label of positions that are not the first piece of a word (ignored in loss/metrics)
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
    _length_cache: dict = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __len__(self):
        return len(self.sentences)


def read_conll(
    path: str,
    label_column: int | None = -1,
    encoding: str = "utf-8",
    token_prefix: str | None = None,
):
    """Yields ``(line, words, tags)`` per sentence (``tags`` None when ``label_column`` is None).

    Every non-blank line must have the same number of columns as the file's first token line.
    ``token_prefix``: removed from the start of every token that has it (WikiANN: "en:").
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
                raise DataError(
                    f"{where(path, line)}: expected a token and a tag column, found 1 column "
                    f"(pass label_column=None for unlabelled files)"
                )
        if len(fields) != ncols:
            raise DataError(
                f"{where(path, line)}: expected {ncols} columns like the first token line, "
                f"found {len(fields)}"
            )
        if start is None:
            start = line
        word = fields[0]
        if token_prefix and word.startswith(token_prefix) and len(word) > len(token_prefix):
            word = word[len(token_prefix) :]
        words.append(word)
        if label_column is not None:
            tags.append(fields[label_column])
    if words:
        yield start, words, tags if label_column is not None else None


def read_token_classification_examples(
    path: str,
    label_map=None,
    label_column: int | None = -1,
    encoding: str = "utf-8",
    token_prefix: str | None = None,
) -> TokenClassificationExamples:
    """Reads a CoNLL file; labels sorted by name unless ``label_map`` (names in id order) is given.

    ``token_prefix``: stripped from every token that starts with it (see ``read_conll``).

    A tag outside ``label_map`` raises ``DataError("path:line: unknown label ...")``.
    """
    sentences, all_tags, lines = [], [], []
    if isinstance(label_map, dict):
        label_map = [name for name, _ in sorted(label_map.items(), key=lambda kv: kv[1])]
    known = list(label_map) if label_map is not None else None
    index = {name: i for i, name in enumerate(known)} if known else None
    for line, words, tags in read_conll(
        path, label_column=label_column, encoding=encoding, token_prefix=token_prefix
    ):
        if index is not None and tags is not None:
            for offset, tag in enumerate(tags):
                if tag not in index:
                    raise DataError(
                        f"{where(path, line + offset)}: unknown label {tag!r} (known labels: "
                        f"{known})"
                    )
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


def continuation_ids(label_names) -> list[int]:
    """The label of a token's later words: B-X -> I-X (when I-X is a label), else itself."""
    index = {name: i for i, name in enumerate(label_names)}
    return [
        index.get("I-" + name[2:], i) if name.startswith("B-") else i
        for i, name in enumerate(label_names)
    ]


def token_word_pieces(
    tokenizer, tokens, labels=None, word_split: str = DEFAULT_WORD_SPLIT, continuation=None
):
    """In-graph: tokens [B, W] string (+ labels [B, W] int) -> pieces and their labels per sentence.

    Each token is split into words (``split_words``) and each word tokenized on its own, as
    ``TokenWindows`` does on the joined text. Returns ragged [B, N] ``ids`` (int32),
    ``labels`` (the word's label on each word's first piece, IGNORE_LABEL elsewhere; a token's
    later words get ``continuation[label]``) and ``word_ids`` (the token's index in its sentence
    on the first piece of its first word, -1 elsewhere).
    """
    split = split_words(tokens.flat_values, word_split)["words"]  # [N_tokens, K]
    first_word = tf.ragged.range(split.row_lengths()).flat_values == 0  # [N_words]
    word_token = split.value_rowids()  # [N_words] global token index
    token_pos = tf.cast(tf.ragged.range(tokens.row_lengths()).flat_values, tf.int32)  # [N_tokens]
    pieces = tokenizer(split.flat_values)  # [N_words, P]
    first_piece = tf.ragged.range(pieces.row_lengths()).flat_values == 0  # [N_pieces]
    piece_word = pieces.value_rowids()
    word_ids = tf.where(
        first_piece & tf.gather(first_word, piece_word),
        tf.gather(tf.gather(token_pos, word_token), piece_word),
        -1,
    )
    splits = tf.gather(pieces.row_splits, tf.gather(split.row_splits, tokens.row_splits))  # [B + 1]
    out = {
        "ids": tf.RaggedTensor.from_row_splits(tf.cast(pieces.flat_values, tf.int32), splits),
        "word_ids": tf.RaggedTensor.from_row_splits(word_ids, splits),
    }
    if labels is not None:
        token_label = tf.gather(tf.cast(labels.flat_values, tf.int32), word_token)  # [N_words]
        if continuation is not None:
            token_label = tf.where(
                first_word, token_label, tf.gather(tf.constant(continuation, tf.int32), token_label)
            )
        piece_labels = tf.where(first_piece, tf.gather(token_label, piece_word), IGNORE_LABEL)
        out["labels"] = tf.RaggedTensor.from_row_splits(piece_labels, splits)
    return out


def align_labels(
    tokenizer,
    words: tf.RaggedTensor,
    labels: tf.RaggedTensor,
    sequence_length: int,
    window_start=None,
    word_split: str = DEFAULT_WORD_SPLIT,
    continuation=None,
):
    """In-graph: words [B, W] string, word labels [B, W] int -> features, token labels, word ids.

    Returns ``(features, token_labels [B, T], word_ids [B, T])`` for one window per row: the
    ``sequence_length - 2`` pieces from ``window_start`` [B] (default 0). ``token_labels`` holds
    the word's label on its first piece and IGNORE_LABEL elsewhere; ``word_ids`` the token's index
    in its sentence on first pieces and -1 elsewhere. T = longest window + 2.
    """
    pieces = token_word_pieces(tokenizer, words, labels, word_split, continuation)
    batch = tf.cast(words.nrows(), tf.int64)
    start = tf.zeros([batch], tf.int64) if window_start is None else tf.cast(window_start, tf.int64)
    length = tf.maximum(
        tf.minimum(tf.constant(sequence_length - 2, tf.int64), pieces["ids"].row_lengths() - start),
        0,
    )
    windows = TokenWindows(tokenizer, sequence_length, ["O"])
    features, index = windows.pack(pieces["ids"], tf.range(batch), start, length)
    width = tf.shape(features["token_ids"], out_type=tf.int64)[1]

    def spread(values):  # [N] per piece -> [B, T] at the window positions of each piece
        inner = index.with_flat_values(tf.gather(values.flat_values, index.flat_values))
        column = tf.RaggedTensor.from_tensor(
            tf.fill([batch, 1], tf.constant(IGNORE_LABEL, tf.int32))
        )
        return tf.concat([column, inner, column], axis=1).to_tensor(
            default_value=IGNORE_LABEL, shape=tf.stack([batch, width])
        )

    word_ids = tf.maximum(spread(pieces["word_ids"]), -1)  # the IGNORE_LABEL fill -> -1
    return features, spread(pieces["labels"]), word_ids


def _piece_counts(
    tokenizer, sentences, word_split: str = DEFAULT_WORD_SPLIT, chunk: int = 4096
) -> np.ndarray:
    """WordPiece count of each sentence (tokens split into words as in training), eagerly."""
    flat = [w for s in sentences for w in s]
    counts = []
    for i in range(0, len(flat), chunk):
        words = split_words(tf.constant(flat[i : i + chunk]), word_split)["words"]
        counts.append(_row_sums(tokenizer(words.flat_values).row_lengths(), words.row_splits))
    counts = np.concatenate(counts) if counts else np.zeros(0, "int64")
    splits = np.cumsum([0] + [len(s) for s in sentences])
    return (
        np.add.reduceat(counts, splits[:-1]) if len(counts) else np.zeros(len(sentences), "int64")
    )


def _row_sums(values, row_splits) -> np.ndarray:
    cumulative = np.concatenate([[0], np.cumsum(np.asarray(values))])
    return cumulative[np.asarray(row_splits)[1:]] - cumulative[np.asarray(row_splits)[:-1]]


def token_classification_dataset(
    path,
    preprocessor,
    batch_size: int = 32,
    label_map=None,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
    bucket: bool = True,
    bucket_boundaries=None,
    num_buckets: int = DEFAULT_NUM_BUCKETS,
    label_column: int | None = -1,
    encoding: str = "utf-8",
    return_word_ids: bool = False,
    window_stride: int | None = None,
    word_split: str = DEFAULT_WORD_SPLIT,
):
    """Returns ``(dataset, label_names)`` for a CoNLL file (or ``TokenClassificationExamples``).

    Elements: ``(features, labels)``, one row per window; features int32 [B, T] (single segment),
    labels int32 [B, T] with IGNORE_LABEL off first pieces. A sentence longer than
    ``sequence_length - 2`` pieces gives several windows, ``window_stride`` pieces apart
    (default ``default_window_stride(sequence_length)``). With ``return_word_ids=True``:
    ``(features, labels, {"word_ids" [B, T], "example_index" [B], "window_start" [B]})``.
    ``bucket``: group windows of similar WordPiece length (exact counts, computed up front).
    ``word_split``: "whitespace" or "characters" (see bert_tf.data.token_windows).
    ``preprocessor``: a BertPreprocessor (its ``tokenizer`` and ``sequence_length`` are used).
    """
    if isinstance(path, TokenClassificationExamples):
        examples = path
    else:
        examples = read_token_classification_examples(
            path, label_map=label_map, label_column=label_column, encoding=encoding
        )
    tokenizer = preprocessor.tokenizer
    sequence_length = int(preprocessor.sequence_length)
    stride = default_window_stride(sequence_length) if window_stride is None else int(window_stride)
    TokenWindows(
        tokenizer, sequence_length, ["O"], window_stride=stride, word_split=word_split
    )  # checks
    label_ids = examples.label_ids or [[0] * len(s) for s in examples.sentences]
    continuation = continuation_ids(examples.label_names) if examples.label_names else None

    key = (tokenizer_key(tokenizer), len(examples), word_split)
    if key not in examples._length_cache:
        examples._length_cache[key] = _piece_counts(tokenizer, examples.sentences, word_split)
    pieces = examples._length_cache[key]
    room = sequence_length - 2
    window_of = [(i, s) for i, n in enumerate(pieces) for s in window_starts(n, room, stride)]
    sentence = np.asarray([i for i, _ in window_of], "int64")
    start = np.asarray([s for _, s in window_of], "int64")
    lengths = (
        np.minimum(pieces[sentence] - start, room) + 2 if len(window_of) else np.zeros(0, "int64")
    )
    n = len(window_of)
    columns = {
        "words": ragged_from_lists([examples.sentences[i] for i in sentence], tf.string),
        "labels": ragged_from_lists([label_ids[i] for i in sentence], tf.int32),
        "example_index": tf.constant(sentence, tf.int32),
        "window_start": tf.constant(start, tf.int64),
        "window_index": tf.range(n, dtype=tf.int32),
    }
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)

    boundaries = []
    if bucket:
        boundaries = (
            sorted(int(b) for b in bucket_boundaries)
            if bucket_boundaries is not None
            else auto_bucket_boundaries(
                lengths, batch_size, cap=sequence_length, num_buckets=num_buckets
            )
        )
    ds = ragged_batches_by_bucket(
        ds, lengths, boundaries, batch_size, drop_remainder, "window_index", examples.path
    )

    def to_features(batch):
        features, labels, word_ids = align_labels(
            tokenizer,
            batch["words"],
            batch["labels"],
            sequence_length,
            batch["window_start"],
            word_split,
            continuation,
        )
        if drop_remainder:
            features = {k: tf.ensure_shape(v, [batch_size, None]) for k, v in features.items()}
            labels = tf.ensure_shape(labels, [batch_size, None])
        if return_word_ids:
            return (
                features,
                labels,
                {
                    "word_ids": word_ids,
                    "example_index": batch["example_index"],
                    "window_start": batch["window_start"],
                },
            )
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


def predict_word_labels(
    model,
    path,
    preprocessor,
    label_names,
    batch_size: int = 32,
    fill_label: str = "O",
    label_column: int | None = None,
    encoding: str = "utf-8",
    window_stride: int | None = None,
    word_split: str = DEFAULT_WORD_SPLIT,
    token_prefix: str | None = None,
):
    """Runs a token classifier over a CoNLL file; returns one tag per word for every sentence, in
    file order.

    The sentences go through ``TokenWindows.predict`` (joined as raw text, every window, the
    max-context decision): the tags the exported SavedModel gives for the same text.
    ``label_column=None`` reads only the first column (an unlabelled file works).
    ``fill_label``: the tag of tokens with no WordPiece (default "O").
    """
    examples = (
        path
        if isinstance(path, TokenClassificationExamples)
        else read_token_classification_examples(
            path, label_column=label_column, encoding=encoding, token_prefix=token_prefix
        )
    )
    windows = TokenWindows(
        preprocessor.tokenizer,
        preprocessor.sequence_length,
        label_names,
        window_stride=window_stride,
        word_split=word_split,
        outside_label=fill_label,
    )
    return windows.predict(model, examples.sentences, batch_size=batch_size)
