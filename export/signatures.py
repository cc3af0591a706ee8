"""Serving signatures: a tf.Module whose tf.functions wrap the preprocessor and the task model.

Signatures of a classifier export (B = batch, C = classes, T = tokens):

- ``serving_default``: ``text`` [B] string (+ ``text_pair`` [B] for pair tasks)
  -> ``probabilities`` [B, C] float32, ``label_ids`` [B] int64, ``labels`` [B] string.
  Tokenization runs in the graph, with the same preprocessor (vocabulary,
  casing, sequence_length, truncation) as training.
- ``serve_token_ids``: ``token_ids``, ``segment_ids``, ``padding_mask`` [B, T] int32
  -> the same outputs, for clients that tokenize themselves.
- ``serve_examples``: ``inputs`` [B] serialized tf.Example with a bytes feature
  ``text`` (+ ``text_pair``) -> ``classes`` [B, C] string and ``scores`` [B, C]
  float32: the names TF Serving's Classify API reads (the exporter marks this
  signature's method_name ``tensorflow/serving/classify``).

Every function handles an empty batch (shape [0] -> [0, C]) and hostile text
(empty, whitespace, invalid UTF-8, NUL, very long): invalid UTF-8 is replaced by
U+FFFD in the graph, the preprocessor truncates to sequence_length tokens, and
the token axis is padded to at least 2 so no slice sees a size-0 axis.
"""

from __future__ import annotations

import tensorflow as tf

PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
EXAMPLES_SIGNATURE = "serve_examples"
# Shortest token axis handed to the model: [CLS] + [SEP], also for an empty batch.
MIN_SEQUENCE_LENGTH = 2


def _pad_tokens(features, min_length=MIN_SEQUENCE_LENGTH):
    """Pads the T axis of each [B, T] int tensor to at least min_length with zeros."""
    out = {}
    for key in ("token_ids", "segment_ids", "padding_mask"):
        x = tf.cast(features[key], tf.int32)
        pad = tf.maximum(min_length - tf.shape(x)[1], 0)
        out[key] = tf.pad(x, [[0, 0], [0, pad]])
    return out


def clean_text(text):
    """[B] string -> [B] valid UTF-8 (invalid byte sequences become U+FFFD); valid text unchanged."""
    return tf.strings.unicode_transcode(
        text, input_encoding="UTF-8", output_encoding="UTF-8", errors="replace",
        replacement_char=0xFFFD)


class _Untracked:
    """A plain holder: tf.Module does not track what it keeps."""

    def __init__(self, **objects):
        self.__dict__.update(objects)


def _trackable_resources(obj):
    """Lookup tables and other TF resources a preprocessor owns (they must be saved with it)."""
    from tensorflow.python.trackable import resource

    found, seen, stack = [], set(), [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (resource.CapturableResource, tf.Variable)):
            found.append(item)
            continue
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif hasattr(item, "__dict__") and not isinstance(item, (str, bytes, type)):
            stack.extend(v for k, v in vars(item).items() if not k.startswith("__"))
    return found


class ClassifierServingModule(tf.Module):
    """Serving functions of a sequence classifier (``task == "classification"``).

    Args:
        model: the Keras task model: encoder input dict -> logits [B, C].
        preprocessor: callable, [B] strings (or a (texts_a, texts_b) tuple)
            -> {"token_ids", "segment_ids", "padding_mask"} [B, T] int.
        task_info: the task folder's task.json dict (labels, preprocessor.text_pair).
        vocab_size, type_vocab_size, max_position_embeddings: encoder sizes used
            to clamp client-supplied ids in ``serve_token_ids``.
    """

    def __init__(self, model, preprocessor, task_info, vocab_size, type_vocab_size,
                 max_position_embeddings):
        super().__init__(name="bert_tf_serving")
        num_classes = int(task_info["task_config"]["num_classes"])
        labels = task_info.get("labels") or [str(i) for i in range(num_classes)]
        if len(labels) != num_classes:
            raise ValueError(f"task.json lists {len(labels)} labels for num_classes={num_classes}")
        self.text_pair = bool(task_info.get("preprocessor", {}).get("text_pair", False))
        self.num_classes = num_classes
        self.label_names = list(labels)
        self.vocab_size = int(vocab_size)
        self.type_vocab_size = int(type_vocab_size)
        self.max_position_embeddings = int(max_position_embeddings)
        # The Keras objects stay untracked (tracking a Keras 3 model saves every
        # variable twice, and the TF1 loader TF Serving uses then restores the
        # copies the functions do not read); their tf.Variables are tracked
        # directly, as keras.export.ExportArchive does.
        self._keras = _Untracked(model=model, preprocessor=preprocessor)
        self.model_variables = [v.value if hasattr(v, "value") else v for v in model.variables]
        self.preprocessor_resources = _trackable_resources(preprocessor)
        self._labels = tf.constant(self.label_names, dtype=tf.string)

        text_spec = tf.TensorSpec([None], tf.string, name="text")
        pair_spec = tf.TensorSpec([None], tf.string, name="text_pair")
        ids_spec = {k: tf.TensorSpec([None, None], tf.int32, name=k)
                    for k in ("token_ids", "segment_ids", "padding_mask")}
        if self.text_pair:
            self.serving_default = tf.function(
                lambda text, text_pair: self._from_text(text, text_pair),
                input_signature=[text_spec, pair_spec])
        else:
            self.serving_default = tf.function(
                lambda text: self._from_text(text, None), input_signature=[text_spec])
        self.serve_token_ids = tf.function(
            lambda token_ids, segment_ids, padding_mask: self._from_ids(
                {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}),
            input_signature=[ids_spec["token_ids"], ids_spec["segment_ids"], ids_spec["padding_mask"]])
        self.serve_examples = tf.function(
            self._from_examples, input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])

    # --- the shared core ------------------------------------------------------
    def _outputs(self, features):
        features = _pad_tokens(features)
        logits = self._keras.model(features, training=False)  # [B, C]
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)  # [B, C]
        label_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int64)  # [B]
        return {
            "probabilities": probabilities,
            "label_ids": label_ids,
            "labels": tf.gather(self._labels, label_ids),
        }

    def preprocess(self, text, text_pair=None):
        """[B] strings -> the encoder's input dict, exactly as in training (plus UTF-8 repair)."""
        text = clean_text(text)
        if text_pair is None:
            return self._keras.preprocessor(text)
        return self._keras.preprocessor((text, clean_text(text_pair)))

    def _from_text(self, text, text_pair):
        return self._outputs(self.preprocess(text, text_pair))

    def _from_ids(self, features):
        t = self.max_position_embeddings
        mask = tf.cast(tf.not_equal(features["padding_mask"], 0), tf.int32)[:, :t]
        return self._outputs({
            "token_ids": tf.clip_by_value(features["token_ids"], 0, self.vocab_size - 1)[:, :t],
            "segment_ids": tf.clip_by_value(features["segment_ids"], 0, self.type_vocab_size - 1)[:, :t],
            "padding_mask": mask,
        })

    def _from_examples(self, inputs):
        spec = {"text": tf.io.FixedLenFeature([], tf.string, default_value="")}
        if self.text_pair:
            spec["text_pair"] = tf.io.FixedLenFeature([], tf.string, default_value="")
        parsed = tf.io.parse_example(inputs, spec)
        out = self._from_text(parsed["text"], parsed.get("text_pair"))
        batch = tf.shape(inputs)[0]
        return {
            "classes": tf.tile(self._labels[None, :], [batch, 1]),  # [B, C]
            "scores": out["probabilities"],  # [B, C]
        }

    def signatures(self):
        """The signature map for tf.saved_model.save (serving_default first)."""
        return {
            "serving_default": self.serving_default,
            "serve_token_ids": self.serve_token_ids,
            EXAMPLES_SIGNATURE: self.serve_examples,
        }
