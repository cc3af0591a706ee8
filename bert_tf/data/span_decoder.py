"""SpanDecoder: extractive QA from raw (question, context) strings to answers, all in the TF graph.

    decoder = SpanDecoder(tokenizer, sequence_length=384, doc_stride=128, max_query_length=64,
                          max_answer_length=30, n_best_size=20)
    out = decoder(lambda features: model(features, training=False), questions, contexts)
    # out: "answer_text" [B] string, "answer_start" / "answer_end" [B] int64 (Unicode character
    #      offsets into the context, end exclusive; -1 = no answer), "score" [B] float32,
    #      "null_score" [B] float32, "no_answer" [B] bool, "num_windows" [B] int64

``bert-tf-finetune --task=question_answering`` evaluates with it and the SavedModel serves with
it, so a served answer is the answer that was evaluated. The windows are those of
bert_tf.data.squad.build_features (what training saw): ``[CLS] question [SEP] window [SEP]``, the
question cut to ``max_query_length`` pieces, windows of the context pieces ``doc_stride`` apart,
each as long as the room left. The decoding is that of bert_tf.data.squad.postprocess_predictions
(the Python reference a test holds it to): per window the ``n_best_size`` top start and end
logits, spans with start <= end, at most ``max_answer_length`` pieces, both in the context, the
start in the window where it has the most context (BERT's rule); the best span over all windows
(ties: the earliest window, then the higher-ranked start, then end). SQuAD v2.0
(``version_2_with_negative``): the answer is "" when the null score (start + end logit of [CLS],
lowest over the windows) beats the best span's by more than ``null_score_diff_threshold``.
Windows are padded to ``sequence_length`` so a window's logits do not depend on its batch.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

DEFAULT_DOC_STRIDE = 128
DEFAULT_MAX_QUERY_LENGTH = 64
DEFAULT_MAX_ANSWER_LENGTH = 30
DEFAULT_N_BEST_SIZE = 20
DEFAULT_NULL_SCORE_DIFF_THRESHOLD = 0.0
OUTPUT_KEYS = (
    "answer_text",
    "answer_start",
    "answer_end",
    "score",
    "null_score",
    "no_answer",
    "num_windows",
)


def _clean(text):
    """[B] string -> valid UTF-8 (invalid bytes become U+FFFD), as the serving signatures do."""
    return tf.strings.unicode_transcode(
        tf.convert_to_tensor(text, tf.string),
        "UTF-8",
        "UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
    )


def _padded_flat(ragged):
    """A ragged [B, None] tensor's flat values + one trailing 0 (an index that always exists)."""
    flat = tf.cast(ragged.flat_values, tf.int64)
    return tf.concat([flat, tf.zeros([1], tf.int64)], axis=0)


class SpanDecoder:
    """Windows and span decoding of extractive QA in one TF graph (see the module docstring).

    Args:
        tokenizer: a BertTokenizer (``tokenize_with_offsets``, ``cls_id``, ``sep_id``, ``pad_id``).
        sequence_length: tokens per window, specials included (the model's training length).
        doc_stride: pieces between the starts of a long context's windows.
        max_query_length: most question pieces.
        max_answer_length: most pieces in an answer.
        n_best_size: top start and end logits searched per window.
        null_score_diff_threshold: v2.0: "no answer" when null score - best span score > this.
        version_2_with_negative: whether "no answer" ("") is an answer (SQuAD v2.0).
    """

    def __init__(
        self,
        tokenizer,
        sequence_length=384,
        doc_stride=DEFAULT_DOC_STRIDE,
        max_query_length=DEFAULT_MAX_QUERY_LENGTH,
        max_answer_length=DEFAULT_MAX_ANSWER_LENGTH,
        n_best_size=DEFAULT_N_BEST_SIZE,
        null_score_diff_threshold=DEFAULT_NULL_SCORE_DIFF_THRESHOLD,
        version_2_with_negative=False,
    ):
        for name, value, least in (
            ("sequence_length", sequence_length, 3),
            ("doc_stride", doc_stride, 1),
            ("max_query_length", max_query_length, 0),
            ("max_answer_length", max_answer_length, 1),
            ("n_best_size", n_best_size, 1),
        ):
            if int(value) < least:
                raise ValueError(f"{name} must be at least {least}, got {value}")
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        self.doc_stride = int(doc_stride)
        self.max_query_length = int(max_query_length)
        self.max_answer_length = int(max_answer_length)
        self.n_best_size = int(n_best_size)
        self.null_score_diff_threshold = float(null_score_diff_threshold)
        self.version_2_with_negative = bool(version_2_with_negative)

    def get_config(self):
        return {
            "tokenizer": self.tokenizer,
            "sequence_length": self.sequence_length,
            "doc_stride": self.doc_stride,
            "max_query_length": self.max_query_length,
            "max_answer_length": self.max_answer_length,
            "n_best_size": self.n_best_size,
            "null_score_diff_threshold": self.null_score_diff_threshold,
            "version_2_with_negative": self.version_2_with_negative,
        }

    # --- windows -----------------------------------------------------------------------------
    def windows(self, question, context):
        """[B] question and context strings -> a dict: the model's ``features`` (int32 [W, T],
        T = sequence_length) for every window of every context, and what ``decode`` needs."""
        question, context = _clean(question), _clean(context)
        tokenizer = self.tokenizer
        q_ids = tokenizer(question)[:, : self.max_query_length]  # ragged [B, Q]
        c_ids, c_starts, c_ends = tokenizer.tokenize_with_offsets(context)  # ragged [B, N], bytes
        batch = tf.shape(context, out_type=tf.int64)[0]
        q_len = tf.cast(q_ids.row_lengths(), tf.int64)  # [B]
        n = tf.cast(c_ids.row_lengths(), tf.int64)  # [B]
        room = tf.maximum(self.sequence_length - 3 - q_len, 0)  # [B] most context pieces a window
        stride = tf.maximum(tf.minimum(tf.constant(self.doc_stride, tf.int64), room), 1)  # [B]
        more = tf.logical_and(n > room, room > 0)
        count = tf.where(more, (n - room + stride - 1) // stride + 1, tf.ones_like(n))  # [B]
        example = tf.repeat(tf.range(batch), count)  # [W] the context of each window
        k = tf.ragged.range(count).flat_values  # [W] window number within its context
        start = k * tf.gather(stride, example)  # [W] first context piece of the window
        length = tf.maximum(tf.minimum(tf.gather(n, example) - start, tf.gather(room, example)), 0)
        ql = tf.gather(q_len, example)[:, None]  # [W, 1]
        offset = ql + 2  # [W, 1] position of the window's first context piece
        end = offset + length[:, None]  # [W, 1] position of the last [SEP]
        pos = tf.range(self.sequence_length, dtype=tf.int64)[None, :]  # [1, T]
        in_question = (pos >= 1) & (pos <= ql)  # [W, T]
        in_context = (pos >= offset) & (pos < end)  # [W, T]
        q_flat, c_flat = _padded_flat(q_ids), _padded_flat(c_ids)
        q_index = tf.where(
            in_question,
            tf.gather(q_ids.row_splits, example)[:, None] + pos - 1,
            tf.size(q_flat, out_type=tf.int64) - 1,
        )
        c_first = tf.gather(c_ids.row_splits, example) + start  # [W] flat index of the first piece
        c_index = tf.where(
            in_context, c_first[:, None] + pos - offset, tf.size(c_flat, out_type=tf.int64) - 1
        )
        pad = tf.constant(tokenizer.pad_id, tf.int64)
        ids = tf.where(in_context, tf.gather(c_flat, c_index), pad)  # [W, T]
        ids = tf.where(in_question, tf.gather(q_flat, q_index), ids)
        ids = tf.where(pos == 0, tf.constant(tokenizer.cls_id, tf.int64), ids)
        ids = tf.where((pos == ql + 1) | (pos == end), tf.constant(tokenizer.sep_id, tf.int64), ids)
        features = {
            "token_ids": tf.cast(ids, tf.int32),
            "segment_ids": tf.cast((pos >= offset) & (pos <= end), tf.int32),
            "padding_mask": tf.cast(pos <= end, tf.int32),
        }
        return {
            "features": features,
            "example": example,
            "start": start,
            "length": length,
            "offset": offset[:, 0],
            "batch_size": batch,
            "context": context,
            "piece_splits": c_ids.row_splits,
            "piece_starts": _padded_flat(c_starts),
            "piece_ends": _padded_flat(c_ends),
        }

    # --- decoding ----------------------------------------------------------------------------
    def _max_context(self, windows, in_context):
        """[W, T] bool: the window gives the context piece at this position its most context."""
        example, start = windows["example"], windows["start"]
        offset, length = windows["offset"][:, None], windows["length"][:, None]
        t = tf.shape(in_context, out_type=tf.int64)[1]
        pos = tf.range(t, dtype=tf.int64)[None, :]
        left = pos - offset  # pieces before, in this window
        right = length - 1 - left  # pieces after
        # BERT's score, in float64 as Python computes min(left, right) + 0.01 * length.
        score = tf.cast(tf.minimum(left, right), tf.float64) + 0.01 * tf.cast(length, tf.float64)
        where = tf.where(in_context)  # [P, 2] (window, position)
        window = where[:, 0]
        window_first = tf.gather(windows["piece_splits"], example) + start  # [W] 1st piece, global
        piece = tf.gather_nd(window_first[:, None] + left, where)  # [P] global piece index
        score = tf.gather_nd(score, where)
        total = windows["piece_splits"][-1]
        best = tf.math.unsorted_segment_max(score, piece, total)
        num_windows = tf.shape(example, out_type=tf.int64)[0]
        first = tf.math.unsorted_segment_min(
            tf.where(tf.equal(score, tf.gather(best, piece)), window, num_windows), piece, total
        )
        is_max = tf.cast(tf.equal(window, tf.gather(first, piece)), tf.int32)
        return tf.scatter_nd(where, is_max, tf.shape(in_context, out_type=tf.int64)) > 0

    def decode(self, windows, start_logits, end_logits):
        """Start / end logits [W, T] of ``windows(...)``'s features -> answers (see the module)."""
        start_logits = tf.cast(start_logits, tf.float32)
        end_logits = tf.cast(end_logits, tf.float32)
        example, batch = windows["example"], windows["batch_size"]
        num_windows = tf.shape(example, out_type=tf.int64)[0]
        t = tf.shape(start_logits, out_type=tf.int64)[1]
        pos = tf.range(t, dtype=tf.int64)[None, :]
        offset, length = windows["offset"][:, None], windows["length"][:, None]
        in_context = (pos >= offset) & (pos < offset + length)  # [W, T]
        can_start = in_context & self._max_context(windows, in_context)
        k = tf.minimum(tf.constant(self.n_best_size, tf.int32), tf.cast(t, tf.int32))
        top_start = tf.math.top_k(start_logits, k).indices  # [W, k], best first
        top_end = tf.math.top_k(end_logits, k).indices
        start_ok = tf.gather(can_start, top_start, batch_dims=1)  # [W, k]
        end_ok = tf.gather(in_context, top_end, batch_dims=1)
        width = top_end[:, None, :] - top_start[:, :, None]  # [W, k(start), k(end)]: end - start
        valid = (
            start_ok[:, :, None]
            & end_ok[:, None, :]
            & (width >= 0)
            & (width < self.max_answer_length)
        )  # [W, k, k]
        pair = (
            tf.gather(start_logits, top_start, batch_dims=1)[:, :, None]
            + tf.gather(end_logits, top_end, batch_dims=1)[:, None, :]
        )  # [W, k, k]
        flat = tf.reshape(tf.where(valid, pair, -np.inf), [num_windows, -1])  # [W, k*k]
        window_best = tf.reduce_max(flat, axis=1)  # [W]
        window_arg = tf.argmax(flat, axis=1, output_type=tf.int32)  # [W] first best (start, end)
        window_has = tf.reduce_any(tf.reshape(valid, [num_windows, -1]), axis=1)  # [W]

        # Best over each context's windows: the earliest window holding the best score.
        has_span = (
            tf.math.unsorted_segment_max(tf.cast(window_has, tf.int32), example, batch) > 0
        )  # [B]
        best = tf.math.unsorted_segment_max(window_best, example, batch)  # [B]
        is_best = window_has & tf.equal(window_best, tf.gather(best, example))
        chosen = tf.math.unsorted_segment_min(
            tf.where(is_best, tf.range(num_windows), num_windows), example, batch
        )
        chosen = tf.where(has_span, chosen, 0)
        chosen = tf.minimum(chosen, tf.maximum(num_windows - 1, 0))  # [B]; only read where has_span
        arg = tf.gather(window_arg, chosen)
        s = tf.cast(tf.gather(tf.gather(top_start, chosen), arg // k, batch_dims=1), tf.int64)
        e = tf.cast(tf.gather(tf.gather(top_end, chosen), arg % k, batch_dims=1), tf.int64)
        first_piece = (
            tf.gather(windows["piece_splits"], tf.range(batch))
            + tf.gather(windows["start"], chosen)
            - tf.gather(windows["offset"], chosen)
        )  # [B] global piece index at position 0
        dummy = tf.size(windows["piece_starts"], out_type=tf.int64) - 1
        byte_start = tf.gather(windows["piece_starts"], tf.where(has_span, first_piece + s, dummy))
        byte_end = tf.gather(windows["piece_ends"], tf.where(has_span, first_piece + e, dummy))

        null = start_logits[:, 0] + end_logits[:, 0]  # [W]
        null_score = tf.math.unsorted_segment_min(null, example, batch)  # [B]
        no_answer = tf.logical_not(has_span)
        if self.version_2_with_negative:
            beaten = (
                tf.cast(null_score, tf.float64) - tf.cast(best, tf.float64)
                > self.null_score_diff_threshold
            )
            no_answer = no_answer | beaten
        context = windows["context"]
        byte_start = tf.where(no_answer, tf.zeros_like(byte_start), byte_start)
        byte_end = tf.where(no_answer, tf.zeros_like(byte_end), byte_end)
        answer = tf.strings.substr(context, byte_start, byte_end - byte_start)
        before = tf.strings.substr(context, tf.zeros_like(byte_start), byte_start)
        char_start = tf.cast(tf.strings.length(before, unit="UTF8_CHAR"), tf.int64)
        char_end = char_start + tf.cast(tf.strings.length(answer, unit="UTF8_CHAR"), tf.int64)
        minus_one = -tf.ones_like(char_start)
        return {
            "answer_text": answer,
            "answer_start": tf.where(no_answer, minus_one, char_start),
            "answer_end": tf.where(no_answer, minus_one, char_end),
            "score": tf.where(has_span, best, tf.float32.min),
            "null_score": null_score,
            "no_answer": no_answer,
            "num_windows": tf.math.bincount(
                tf.cast(example, tf.int32),
                minlength=tf.cast(batch, tf.int32),
                maxlength=tf.cast(batch, tf.int32),
                dtype=tf.int64,
            ),
        }

    def __call__(self, model_fn, question, context):
        """``model_fn``: the encoder input dict -> {"start_logits", "end_logits"} [W, T]."""
        windows = self.windows(question, context)
        outputs = model_fn(windows["features"])
        return self.decode(windows, outputs["start_logits"], outputs["end_logits"])

    # --- eager helper ------------------------------------------------------------------------
    def predict(self, model, questions, contexts, batch_size=32):
        """Runs a BertSpanLabeler over lists of questions and contexts, ``batch_size`` questions per
        graph call; returns the outputs as numpy arrays (``answer_text`` decoded to str)."""
        spec = tf.TensorSpec([None], tf.string)
        run = tf.function(
            lambda q, c: self(lambda f: model(f, training=False), q, c),
            input_signature=[spec, spec],
        )
        parts = {key: [] for key in OUTPUT_KEYS}
        for i in range(0, len(questions), batch_size):
            out = run(
                tf.constant(list(questions[i : i + batch_size]), tf.string),
                tf.constant(list(contexts[i : i + batch_size]), tf.string),
            )
            for key in OUTPUT_KEYS:
                parts[key].append(out[key].numpy())
        result = {key: (np.concatenate(v) if v else np.zeros([0])) for key, v in parts.items()}
        result["answer_text"] = [x.decode("utf-8") for x in result["answer_text"]]
        return result
