"""Serving signatures of multi-label classifiers, regressors, and classifiers trained with windows.

Built by the exporter for a task.json whose ``task`` is ``multi_label_classification`` or
``regression``, or ``classification`` with ``long_text.mode == "windows"`` (plain
truncating classifiers keep export.signatures.ClassifierServingModule). B = batch,
L = labels, C = classes, T = tokens.

``serving_default``: ``text`` [B] string (+ ``text_pair`` [B] for pair tasks) ->

- multi_label_classification: ``scores`` [B, L] float32 (sigmoid per label),
  ``classes`` [B, L] string (the label names, in score order) and ``labels`` [B]
  string: the names whose score is >= task.json ``threshold`` (0.5), ``|``-joined
  in label order ("" when none), the format of the training file's label cell;
- regression: ``prediction`` [B] float32;
- classification (windows): ``probabilities`` [B, C], ``label_ids`` [B] int64,
  ``labels`` [B] string, as a truncating classifier.

With ``long_text.mode == "windows"`` a text longer than one window is split into the
windows bert-tf-finetune evaluated (``window_stride`` pieces apart) and its window logits
are averaged before the sigmoid / softmax: the same function
(bert_tf.data.text_windows.windowed_logits) runs in evaluation and here.

``serve_token_ids``: ``token_ids``, ``segment_ids``, ``padding_mask`` [B, T] int32 -> the
same outputs, one window per row (the client tokenizes and cuts).
``serve_examples`` (classification and multi-label; Classify API): ``inputs`` [B]
serialized tf.Example with ``text`` (+ ``text_pair``) -> ``classes`` [B, C], ``scores`` [B, C].
"""

from __future__ import annotations

import tensorflow as tf

from bert_tf.data import text_windows
from export.signatures import _pad_tokens, _ServingModule, clean_text

SEQUENCE_TASKS = ("classification", "multi_label_classification", "regression")
DEFAULT_THRESHOLD = 0.5


def wants_sequence_module(task_info) -> bool:
    """Whether a task.json needs this module (rather than ClassifierServingModule)."""
    task = task_info.get("task")
    windows = (task_info.get("long_text") or {}).get("mode", "truncate") == "windows"
    return task in ("multi_label_classification", "regression") or (
        task == "classification" and windows
    )


class SequenceTaskServingModule(_ServingModule):
    """Serving functions of a BertClassifier trained for one of SEQUENCE_TASKS (see module doc).

    Args:
        model: the Keras task model: encoder input dict -> logits [B, C].
        preprocessor: the training BertPreprocessor.
        task_info: the task folder's task.json dict (task, labels, preprocessor,
            long_text, threshold).
        vocab_size, type_vocab_size, max_position_embeddings: encoder sizes used
            to clamp client-supplied ids in ``serve_token_ids``.
    """

    def __init__(
        self, model, preprocessor, task_info, vocab_size, type_vocab_size, max_position_embeddings
    ):
        super().__init__(model, preprocessor)
        self.task = task_info.get("task")
        if self.task not in SEQUENCE_TASKS:
            raise ValueError(
                f"SequenceTaskServingModule serves {SEQUENCE_TASKS}, not {self.task!r}"
            )
        num_outputs = int(task_info["task_config"]["num_classes"])
        if self.task == "regression":
            if num_outputs != 1:
                raise ValueError(
                    f"a regression model has one output, task.json says num_classes={num_outputs}"
                )
            labels = []
        else:
            labels = task_info.get("labels") or [str(i) for i in range(num_outputs)]
            if len(labels) != num_outputs:
                raise ValueError(
                    f"task.json lists {len(labels)} labels for num_classes={num_outputs}"
                )
        long_text = task_info.get("long_text") or {}
        self.long_text = long_text.get("mode", text_windows.DEFAULT_LONG_TEXT)
        self.text_pair = bool((task_info.get("preprocessor") or {}).get("text_pair", False))
        self.window_stride = text_windows.check_long_text(
            self.long_text,
            long_text.get("window_stride"),
            preprocessor.sequence_length,
            self.text_pair,
        )
        self.threshold = float(task_info.get("threshold", DEFAULT_THRESHOLD))
        self.label_names = list(labels)
        self.vocab_size = int(vocab_size)
        self.type_vocab_size = int(type_vocab_size)
        self.max_position_embeddings = int(max_position_embeddings)
        self._labels = tf.constant(self.label_names, dtype=tf.string)

        text_spec = tf.TensorSpec([None], tf.string, name="text")
        pair_spec = tf.TensorSpec([None], tf.string, name="text_pair")
        if self.text_pair:
            self.serving_default = tf.function(
                lambda text, text_pair: self._head(self.logits_from_text(text, text_pair)),
                input_signature=[text_spec, pair_spec],
            )
        else:
            self.serving_default = tf.function(
                lambda text: self._head(self.logits_from_text(text, None)),
                input_signature=[text_spec],
            )
        ids = [
            tf.TensorSpec([None, None], tf.int32, name=k)
            for k in ("token_ids", "segment_ids", "padding_mask")
        ]
        self.serve_token_ids = tf.function(self._from_ids, input_signature=ids)
        if self.task != "regression":
            self.serve_examples = tf.function(
                self._from_examples,
                input_signature=[tf.TensorSpec([None], tf.string, name="inputs")],
            )

    # --- logits ---------------------------------------------------------------
    def logits_from_text(self, text, text_pair=None):
        """[B] strings -> float32 logits [B, C], exactly as bert-tf-finetune evaluated them."""
        text = clean_text(text)
        if self.window_stride:
            return text_windows.windowed_logits(
                self._keras.model, self._keras.preprocessor, text, self.window_stride
            )
        inputs = text if text_pair is None else (text, clean_text(text_pair))
        return self._logits(self._keras.preprocessor(inputs))

    def _logits(self, features):
        return tf.cast(
            self._keras.model(_pad_tokens(features), training=False), tf.float32
        )  # [B, C]

    def _from_ids(self, token_ids, segment_ids, padding_mask):
        t = self.max_position_embeddings
        return self._head(
            self._logits(
                {
                    "token_ids": tf.clip_by_value(token_ids, 0, self.vocab_size - 1)[:, :t],
                    "segment_ids": tf.clip_by_value(segment_ids, 0, self.type_vocab_size - 1)[
                        :, :t
                    ],
                    "padding_mask": tf.cast(tf.not_equal(padding_mask, 0), tf.int32)[:, :t],
                }
            )
        )

    # --- decisions ------------------------------------------------------------
    def _head(self, logits):
        if self.task == "regression":
            return {"prediction": logits[:, 0]}  # [B]
        batch = tf.shape(logits)[0]
        classes = tf.tile(self._labels[None, :], [batch, 1])  # [B, C]
        if self.task == "multi_label_classification":
            scores = tf.sigmoid(logits)  # [B, L]
            chosen = tf.ragged.boolean_mask(classes, scores >= self.threshold)  # [B, None]
            return {
                "scores": scores,
                "classes": classes,
                "labels": tf.strings.reduce_join(chosen, axis=1, separator="|"),
            }
        probabilities = tf.nn.softmax(logits, axis=-1)  # [B, C]
        label_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int64)  # [B]
        return {
            "probabilities": probabilities,
            "label_ids": label_ids,
            "labels": tf.gather(self._labels, label_ids),
        }

    def _from_examples(self, inputs):
        spec = {"text": tf.io.FixedLenFeature([], tf.string, default_value="")}
        if self.text_pair:
            spec["text_pair"] = tf.io.FixedLenFeature([], tf.string, default_value="")
        parsed = tf.io.parse_example(inputs, spec)
        out = self._head(self.logits_from_text(parsed["text"], parsed.get("text_pair")))
        scores = out["scores"] if "scores" in out else out["probabilities"]
        return {
            "classes": tf.tile(self._labels[None, :], [tf.shape(inputs)[0], 1]),
            "scores": scores,
        }

    def signatures(self):
        """The signature map for tf.saved_model.save (serving_default first)."""
        out = {"serving_default": self.serving_default, "serve_token_ids": self.serve_token_ids}
        if self.task != "regression":
            out["serve_examples"] = self.serve_examples
        return out
