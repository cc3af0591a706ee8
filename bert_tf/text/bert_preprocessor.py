"""BertPreprocessor: raw strings (or pairs) -> the encoder's input dict, in-graph."""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bert_tf.raw_inputs import accept_raw_inputs
from bert_tf.text.bert_tokenizer import BertTokenizer

TRUNCATIONS = ("round_robin", "longest_first")


def _truncate_to(segment, lengths):
    """Keeps the first lengths[b] ids of row b of a ragged [B, None] tensor."""
    positions = tf.ragged.range(segment.row_lengths())
    return tf.ragged.boolean_mask(segment, positions < tf.expand_dims(lengths, -1))


def longest_first_lengths(lengths_a, lengths_b, budget):
    """Hugging Face tokenizers' LongestFirst rule for a pair, per row (int64 tensors).

    If both fit, nothing is cut. If the shorter one fits in half the budget it is
    kept and the longer one gets the rest; otherwise the first gets budget // 2
    and the second the remainder, except that the longer one gets the extra
    token of an odd budget.
    """
    budget = tf.cast(budget, lengths_a.dtype)
    short = tf.minimum(lengths_a, lengths_b)
    fits = lengths_a + lengths_b <= budget
    short_fits = 2 * short <= budget
    half, extra = budget // 2, budget % 2
    a_is_short = lengths_a <= lengths_b  # ties: no swap, so the second gets the extra token
    a_half = tf.where(a_is_short, half, half + extra)
    b_half = tf.where(a_is_short, half + extra, half)
    new_a = tf.where(
        fits,
        lengths_a,
        tf.where(short_fits, tf.where(a_is_short, lengths_a, budget - short), a_half),
    )
    new_b = tf.where(
        fits,
        lengths_b,
        tf.where(short_fits, tf.where(a_is_short, budget - short, lengths_b), b_half),
    )
    return tf.minimum(new_a, lengths_a), tf.minimum(new_b, lengths_b)


@keras.saving.register_keras_serializable(package="bert_tf")
class BertPreprocessor(keras.layers.Layer):
    """Texts or text pairs -> {"token_ids", "segment_ids", "padding_mask"} int32 [B, T].

    [CLS] a [SEP] (b [SEP]); segment ids 0 for the first text and its [SEP], 1
    for the second. T is the longest packed row of the batch, at most
    ``sequence_length`` (no padding to the cap: short batches stay short).

    Args:
        tokenizer: a BertTokenizer.
        sequence_length: the most tokens a packed row may have, specials included.
        truncation: "round_robin" (one token from each text in turn, as
            tensorflow-text's RoundRobinTrimmer) or "longest_first" (Hugging
            Face's default: cut the longer text first).

    Call: a tf.string tensor [B] (or scalar), or a tuple/list (texts_a, texts_b).

    Example:

    ```python
    preprocessor = BertPreprocessor.from_pretrained("path/to/bert", sequence_length=128)
    features = preprocessor(tf.constant(["great film", "awful"]))  # each [2, T] int32
    pairs = preprocessor((tf.constant(["a question?"]), tf.constant(["its context."])))
    dataset = dataset.map(lambda text, label: (preprocessor(text), label))  # in tf.data too
    ```
    """

    def __init__(self, tokenizer, sequence_length=128, truncation="round_robin", **kwargs):
        kwargs.pop("dtype", None)
        super().__init__(dtype="int32", **kwargs)
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        if not isinstance(tokenizer, BertTokenizer):
            raise TypeError(f"tokenizer must be a BertTokenizer, got {type(tokenizer).__name__}")
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
        if int(sequence_length) < 3:
            raise ValueError(f"sequence_length must be at least 3, got {sequence_length}")
        for name in ("cls_id", "sep_id", "pad_id"):
            if getattr(tokenizer, name) is None:
                raise ValueError(f"the tokenizer's vocabulary lacks the {name[:-3].upper()} token")
        # === Config ===
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        self.truncation = truncation
        accept_raw_inputs(self)  # strings and (texts_a, texts_b) tuples reach call() as they are
        self.built = True

    @classmethod
    def from_pretrained(cls, path, sequence_length=128, truncation="round_robin", lowercase=None):
        """Tokenizer (vocab.txt + casing) of a model folder, packed to at most sequence_length."""
        return cls(
            BertTokenizer.from_pretrained(path, lowercase=lowercase),
            sequence_length=sequence_length,
            truncation=truncation,
        )

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        config.update(
            {
                "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                "sequence_length": self.sequence_length,
                "truncation": self.truncation,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)

    def trackables(self):
        """The TensorFlow objects a SavedModel calling this layer must track (the tokenizer's)."""
        return self.tokenizer.trackables()

    # --- packing ---

    def _trim(self, segments):
        budget = self.sequence_length - len(segments) - 1  # [CLS] + one [SEP] per segment
        if len(segments) == 1:
            return [segments[0][:, :budget]]
        if self.truncation == "round_robin":
            return list(tf_text.RoundRobinTrimmer(max_seq_length=budget).trim(segments))
        if len(segments) != 2:
            raise ValueError("longest_first truncation handles one or two segments")
        a, b = segments
        new_a, new_b = longest_first_lengths(a.row_lengths(), b.row_lengths(), budget)
        return [_truncate_to(a, new_a), _truncate_to(b, new_b)]

    def pack(self, segments):
        """Already tokenized segments (list of ragged int [B, None]) -> the encoder's input dict."""
        if not isinstance(segments, (list, tuple)):
            segments = [segments]
        segments = [
            tf.cast(
                s if isinstance(s, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(s), tf.int32
            )
            for s in segments
        ]
        segments = self._trim(segments)
        ids, segment_ids = tf_text.combine_segments(
            segments,
            start_of_sequence_id=self.tokenizer.cls_id,
            end_of_segment_id=self.tokenizer.sep_id,
        )
        return {
            "token_ids": tf.cast(ids.to_tensor(default_value=self.tokenizer.pad_id), tf.int32),
            "segment_ids": tf.cast(segment_ids.to_tensor(default_value=0), tf.int32),
            "padding_mask": tf.cast(
                tf.ones_like(ids, tf.int32).to_tensor(default_value=0), tf.int32
            ),
        }

    def call(self, inputs):
        texts = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not 1 <= len(texts) <= 2:
            raise ValueError(
                f"BertPreprocessor takes one text or a pair of texts, got {len(texts)}"
            )
        texts = [tf.convert_to_tensor(t, tf.string) for t in texts]
        # Keras-style [B, 1] string inputs are taken as [B].
        texts = [tf.squeeze(t, -1) if t.shape.rank == 2 and t.shape[-1] == 1 else t for t in texts]
        scalar = texts[0].shape.rank == 0
        if scalar:
            texts = [tf.expand_dims(t, 0) for t in texts]
        features = self.pack([self.tokenizer(t) for t in texts])
        if scalar:
            features = {k: v[0] for k, v in features.items()}
        return features

    def compute_output_spec(self, inputs):
        first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        shape = tuple(first.shape)
        shape = (shape[:-1] if len(shape) == 2 and shape[-1] == 1 else shape) + (None,)
        return {
            k: keras.KerasTensor(shape, dtype="int32")
            for k in ("token_ids", "segment_ids", "padding_mask")
        }
