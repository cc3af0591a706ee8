"""Long texts as overlapping windows of WordPiece pieces, in-graph, for sequence-level tasks.

``--long_text=windows`` (classification, multi-label, regression): a text of N pieces
longer than one window (``sequence_length - 2`` pieces, [CLS] and [SEP] around it) becomes
windows starting every ``stride`` pieces; the last window is moved back to end at the
text's end, so every window is full and no piece is left out. The model scores each
window, and a text's logits are the MEAN of its windows' logits (softmax or sigmoid come
after the mean). A text that fits one window gives exactly the truncate mode's features.

One function, ``windowed_logits``, does this for evaluation (bert_tf.training.finetune)
and inside the SavedModel (export.classifier_signatures), so served == evaluated by
construction. Training (``window_dataset``) uses the same ``split_windows``: every window
is one training example carrying its text's label.

    logits = windowed_logits(model, preprocessor, texts, stride=64)  # [B, C]
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

LONG_TEXT_MODES = ("truncate", "windows")
DEFAULT_LONG_TEXT = "truncate"
# Shortest token axis handed to the model ([CLS] + [SEP]), also for an empty batch.
MIN_SEQUENCE_LENGTH = 2


def default_stride(sequence_length: int) -> int:
    """Half a window: every piece is seen in two windows (except near the ends)."""
    return max(1, (int(sequence_length) - 2) // 2)


def check_long_text(
    long_text: str, window_stride: int | None, sequence_length: int, text_pair: bool = False
) -> int | None:
    """Validates the options; returns the stride to use (None for truncate)."""
    if long_text not in LONG_TEXT_MODES:
        raise ValueError(f"long_text must be one of {LONG_TEXT_MODES}, got {long_text!r}")
    if long_text == "truncate":
        return None
    if text_pair:
        raise ValueError(
            "long_text='windows' handles single texts; text pairs are truncated "
            "(use long_text='truncate')"
        )
    window = int(sequence_length) - 2
    stride = default_stride(sequence_length) if window_stride is None else int(window_stride)
    if not 1 <= stride <= window:
        raise ValueError(f"window_stride must be in 1..{window} (max_seq_length - 2), got {stride}")
    return stride


def split_windows(pieces: tf.RaggedTensor, window_length: int, stride: int):
    """Ragged pieces [B, None] -> (windows ragged [W, None], row_ids int64 [W]).

    Row b of N pieces gives 1 + ceil(max(N - window_length, 0) / stride) windows, starting at
    k * stride, the last one at N - window_length; windows of a row are consecutive and rows
    keep their order. An empty row gives one empty window.
    """
    lengths = tf.cast(pieces.row_lengths(), tf.int64)  # [B]
    window_length = tf.constant(window_length, tf.int64)
    stride = tf.constant(stride, tf.int64)
    overflow = tf.maximum(lengths - window_length, 0)  # [B]
    counts = 1 + (overflow + stride - 1) // stride  # [B] windows per row
    row_ids = tf.repeat(tf.range(tf.size(lengths, out_type=tf.int64)), counts)  # [W]
    k = tf.ragged.range(counts).flat_values  # [W] window number within its row
    starts = tf.minimum(k * stride, tf.gather(overflow, row_ids))  # [W]
    sizes = tf.minimum(window_length, tf.gather(lengths, row_ids) - starts)  # [W]
    first = tf.gather(pieces.row_splits, row_ids) + starts  # [W] flat index of each window's start
    index = tf.ragged.range(first, first + sizes)  # [W, None]
    windows = tf.RaggedTensor.from_row_splits(
        tf.gather(pieces.flat_values, index.flat_values), index.row_splits, validate=False
    )
    return windows, row_ids


def _pad_tokens(features):
    """Pads the T axis to at least MIN_SEQUENCE_LENGTH (an empty batch has T = 0)."""
    out = {}
    for key, value in features.items():
        pad = tf.maximum(MIN_SEQUENCE_LENGTH - tf.shape(value)[1], 0)
        out[key] = tf.pad(tf.cast(value, tf.int32), [[0, 0], [0, pad]])
    return out


def window_features(preprocessor, text, stride: int):
    """[B] strings -> (encoder input dict int32 [W, T], row_ids int64 [W]), T <= sequence_length."""
    pieces = preprocessor.tokenizer(text)  # ragged [B, None]
    windows, row_ids = split_windows(pieces, preprocessor.sequence_length - 2, stride)
    return _pad_tokens(preprocessor.pack([windows])), row_ids


def mean_over_windows(window_logits, row_ids, num_rows):
    """Logits [W, C] -> [B, C]: each row's mean over its windows."""
    return tf.math.unsorted_segment_mean(window_logits, row_ids, num_rows)


def windowed_logits(model, preprocessor, text, stride: int):
    """[B] strings -> float32 logits [B, C]: the mean of the model's logits over a text's windows.

    ``model``: encoder input dict -> logits [W, C] (a BertClassifier, called with training=False).
    """
    text = tf.convert_to_tensor(text, tf.string)
    features, row_ids = window_features(preprocessor, text, stride)
    logits = tf.cast(model(features, training=False), tf.float32)  # [W, C]
    return mean_over_windows(logits, row_ids, tf.shape(text, out_type=tf.int64)[0])


def predict_windowed_logits(
    model, preprocessor, texts, stride: int, batch_size: int = 32
) -> np.ndarray:
    """``windowed_logits`` over a list of texts, batched, in order: float32 [N, C] (evaluation)."""
    predict = tf.function(
        lambda text: windowed_logits(model, preprocessor, text, stride), reduce_retracing=True
    )
    return np.concatenate([predict(batch).numpy() for batch in text_dataset(texts, batch_size)])


def window_dataset(
    examples,
    preprocessor,
    stride: int,
    batch_size: int,
    targets=None,
    shuffle: bool = False,
    seed: int | None = None,
    chunk: int = 1024,
) -> tf.data.Dataset:
    """Training batches of windows: ``(features [b, T], targets [b, ...])``, one row per window.

    ``examples``: ClassificationExamples (its texts); ``targets``: array [N, ...] per text
    (class ids, floats or multi-hot rows), repeated for each of the text's windows. Windows
    are cut once, eagerly, with ``split_windows``; tokenization of a text is as in serving.
    """
    pieces, row_ids = [], []
    for start in range(0, len(examples.texts), chunk):
        windows, rows = split_windows(
            preprocessor.tokenizer(tf.constant(examples.texts[start : start + chunk])),
            preprocessor.sequence_length - 2,
            stride,
        )
        pieces.append(windows)
        row_ids.append(rows.numpy() + start)
    windows = tf.concat(pieces, axis=0)  # ragged [W, None]
    row_ids = np.concatenate(row_ids)
    y = np.asarray(targets)[row_ids]
    ds = tf.data.Dataset.from_tensor_slices((windows, y))
    if shuffle:
        ds = ds.shuffle(len(row_ids), seed=seed, reshuffle_each_iteration=True)
    ds = ds.ragged_batch(batch_size)
    ds = ds.map(
        lambda w, t: (_pad_tokens(preprocessor.pack([w])), t), num_parallel_calls=tf.data.AUTOTUNE
    )
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-len(row_ids) // batch_size)))
    return ds.prefetch(tf.data.AUTOTUNE)


def text_dataset(texts, batch_size: int) -> tf.data.Dataset:
    """Raw [b] string batches in file order (what ``windowed_logits`` takes in evaluation)."""
    return tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string)).batch(batch_size)
