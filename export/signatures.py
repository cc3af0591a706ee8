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

Token classifiers (``task == "token_classification"``, NER): ``serving_default``
``text`` [B] -> word-level ``word_labels``/``word_starts``/``word_ends`` [B, W]
and BIO-merged ``entity_types``, ``entity_texts``, ``entity_starts``,
``entity_ends`` (Unicode character offsets into the input text, end exclusive),
``entity_scores`` [B, E] padded with ""/-1/0, and ``num_entities`` [B], over the
whole text (overlapping windows in the graph, bert_tf.data.token_windows).
QA models (``task == "question_answering"``): ``serving_default`` ``question``,
``context`` [B] -> ``answer_text``, ``answer_start``/``answer_end`` (character
offsets into the context), ``score``, ``null_score``, ``no_answer`` [B], the
best span over all windows of the context (as ``bert-tf-finetune`` evaluated).
Embedders (an encoder folder): ``serving_default`` ``text`` [B] -> ``embeddings`` [B, H].

Every function handles an empty batch (shape [0] -> [0, C]) and hostile text
(empty, whitespace, invalid UTF-8, NUL, very long): invalid UTF-8 is replaced by
U+FFFD in the graph, the preprocessor truncates to sequence_length tokens, and
the token axis is padded to at least 2 so no slice sees a size-0 axis.
"""

from __future__ import annotations

import tensorflow as tf

from bert_tf.data.span_decoder import SpanDecoder
from bert_tf.data.token_windows import DEFAULT_WORD_SPLIT, TokenWindows

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
    """[B] string -> [B] valid UTF-8 (invalid byte sequences become U+FFFD); valid text
    unchanged."""
    return tf.strings.unicode_transcode(
        text,
        input_encoding="UTF-8",
        output_encoding="UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
    )


class _Untracked:
    """A plain holder: tf.Module does not track what it keeps."""

    def __init__(self, **objects):
        self.__dict__.update(objects)


def _preprocessor_trackables(preprocessor):
    """The tf.Modules (WordPiece model, lookup tables) a preprocessor's graph reads.

    They are tracked by the serving module so a SavedModel saves whatever resources
    they hold. A BertPreprocessor lists them itself (``trackables()``); any other
    callable without that method is taken to hold none.
    """
    trackables = getattr(preprocessor, "trackables", None)
    return list(trackables()) if callable(trackables) else []


class _ServingModule(tf.Module):
    """Shared plumbing: untracked Keras objects, their tf.Variables and resources tracked
    directly."""

    def __init__(self, model, preprocessor):
        super().__init__(name="bert_tf_serving")
        # The Keras objects stay untracked (tracking a Keras 3 model saves every
        # variable twice, and the TF1 loader TF Serving uses then restores the
        # copies the functions do not read); their tf.Variables are tracked
        # directly, as keras.export.ExportArchive does.
        self._keras = _Untracked(model=model, preprocessor=preprocessor)
        self.model_variables = [v.value if hasattr(v, "value") else v for v in model.variables]
        self.preprocessor_resources = _preprocessor_trackables(preprocessor)

    def signatures(self):
        raise NotImplementedError


class ClassifierServingModule(_ServingModule):
    """Serving functions of a sequence classifier (``task == "classification"``).

    Args:
        model: the Keras task model: encoder input dict -> logits [B, C].
        preprocessor: callable, [B] strings (or a (texts_a, texts_b) tuple)
            -> {"token_ids", "segment_ids", "padding_mask"} [B, T] int.
        task_info: the task folder's task.json dict (labels, preprocessor.text_pair).
        vocab_size, type_vocab_size, max_position_embeddings: encoder sizes used
            to clamp client-supplied ids in ``serve_token_ids``.
    """

    def __init__(
        self, model, preprocessor, task_info, vocab_size, type_vocab_size, max_position_embeddings
    ):
        super().__init__(model, preprocessor)
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
        self._labels = tf.constant(self.label_names, dtype=tf.string)

        text_spec = tf.TensorSpec([None], tf.string, name="text")
        pair_spec = tf.TensorSpec([None], tf.string, name="text_pair")
        ids_spec = {
            k: tf.TensorSpec([None, None], tf.int32, name=k)
            for k in ("token_ids", "segment_ids", "padding_mask")
        }
        if self.text_pair:
            self.serving_default = tf.function(
                lambda text, text_pair: self._from_text(text, text_pair),
                input_signature=[text_spec, pair_spec],
            )
        else:
            self.serving_default = tf.function(
                lambda text: self._from_text(text, None), input_signature=[text_spec]
            )
        self.serve_token_ids = tf.function(
            lambda token_ids, segment_ids, padding_mask: self._from_ids(
                {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
            ),
            input_signature=[
                ids_spec["token_ids"],
                ids_spec["segment_ids"],
                ids_spec["padding_mask"],
            ],
        )
        self.serve_examples = tf.function(
            self._from_examples, input_signature=[tf.TensorSpec([None], tf.string, name="inputs")]
        )

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
        return self._outputs(
            {
                "token_ids": tf.clip_by_value(features["token_ids"], 0, self.vocab_size - 1)[:, :t],
                "segment_ids": tf.clip_by_value(
                    features["segment_ids"], 0, self.type_vocab_size - 1
                )[:, :t],
                "padding_mask": mask,
            }
        )

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


class TokenClassifierServingModule(_ServingModule):
    """Serving functions of a token classifier (NER): word labels and entities with offsets.

    ``serving_default`` runs ``bert_tf.data.token_windows.TokenWindows.serving_outputs``, the
    function ``bert-tf-finetune`` evaluates with: words are split as task.json's
    ``token_classification.word_split`` says ("whitespace": whitespace-separated, each CJK
    ideograph alone; "characters": every non-space character), text longer than one window is
    cut into windows ``window_stride`` pieces apart, and every word takes the label of its first
    WordPiece in the window where that piece has the most context. Entities are BIO runs of
    words (a new entity starts at ``B-X``, at a type change, or after ``O``); plain labels
    without a B-/I- prefix (``PER``) merge adjacent words of the same label.
    ``entity_scores`` is the mean over the entity's words of the winning probability.
    Folders without that task.json entry (older exports) get whitespace words and the default
    stride (sequence_length // 2).
    """

    def __init__(self, model, preprocessor, task_info, outside_label="O"):
        super().__init__(model, preprocessor)
        num_classes = int(task_info["task_config"]["num_classes"])
        labels = task_info.get("labels") or [str(i) for i in range(num_classes)]
        if len(labels) != num_classes:
            raise ValueError(f"task.json lists {len(labels)} labels for num_classes={num_classes}")
        settings = task_info.get("token_classification") or {}
        self.label_names = list(labels)
        self.outside_label = outside_label
        self.sequence_length = int(preprocessor.sequence_length)
        windows = TokenWindows(
            preprocessor.tokenizer,
            self.sequence_length,
            self.label_names,
            window_stride=settings.get("window_stride"),
            word_split=settings.get("word_split", DEFAULT_WORD_SPLIT),
            outside_label=outside_label,
        )
        self.window_stride = windows.window_stride
        self.word_split = windows.word_split
        self._windows = _Untracked(tagger=windows)
        self.serving_default = tf.function(
            self._from_text, input_signature=[tf.TensorSpec([None], tf.string, name="text")]
        )

    def _from_text(self, text):
        return self._windows.tagger.serving_outputs(self._keras.model, clean_text(text))

    def signatures(self):
        return {"serving_default": self.serving_default}


class EmbedderServingModule(_ServingModule):
    """Serving function of a sentence embedder (BertTextEmbedder): ``text`` [B] -> ``embeddings``
    [B, H]."""

    def __init__(self, embedder):
        super().__init__(embedder.encoder, embedder.preprocessor)
        self._embedder = _Untracked(model=embedder)
        self.hidden_size = int(embedder.encoder.config.hidden_size)
        self.serving_default = tf.function(
            self._from_text, input_signature=[tf.TensorSpec([None], tf.string, name="text")]
        )

    def _from_text(self, text):
        # One empty text rides along so the batch is never empty (no size-0 slices in the
        # encoder); it is the shortest row, so it changes neither T nor the other rows.
        padded = tf.concat([clean_text(text), [""]], axis=0)
        embeddings = tf.cast(self._embedder.model(padded, training=False), tf.float32)  # [B + 1, H]
        return {"embeddings": embeddings[:-1]}

    def signatures(self):
        return {"serving_default": self.serving_default}


class SpanLabelerServingModule(_ServingModule):
    """Serving function of an extractive QA model (BertSpanLabeler).

    ``serving_default``: ``question`` [B], ``context`` [B] strings ->
    ``answer_text`` [B] string, ``answer_start`` / ``answer_end`` [B] int64
    (Unicode character offsets into ``context``, end exclusive; -1 when there is
    no answer), ``score`` [B] (start + end logit of the best span), ``null_score``
    [B] (the lowest [CLS] score over the windows) and ``no_answer`` [B] bool
    (answer_text is ""). Every window of a long context is scored in the graph:
    bert_tf.data.span_decoder.SpanDecoder, the same windows (``doc_stride``,
    ``max_query_length``) and decoding (``n_best_size``, ``max_answer_length``,
    SQuAD v2.0 ``null_score_diff_threshold``) ``bert-tf-finetune`` evaluated
    with, read from task.json ``squad``.
    """

    def __init__(self, model, preprocessor, task_info):
        super().__init__(model, preprocessor)
        self.sequence_length = int(preprocessor.sequence_length)
        squad = task_info.get("squad") or {}  # what bert-tf-finetune trained and evaluated with
        defaults = SpanDecoder(preprocessor.tokenizer).get_config()
        options = {
            key: type(defaults[key])(squad.get(key, defaults[key]))
            for key in (
                "doc_stride",
                "max_query_length",
                "max_answer_length",
                "n_best_size",
                "null_score_diff_threshold",
            )
        }
        # Untracked (in _keras): the tokenizer's resources are tracked with the preprocessor's.
        self._keras.decoder = SpanDecoder(
            preprocessor.tokenizer,
            self.sequence_length,
            version_2_with_negative=str(squad.get("version", "1.1")) == "2.0",
            **options,
        )
        self.serving_default = tf.function(
            self._from_text,
            input_signature=[
                tf.TensorSpec([None], tf.string, name="question"),
                tf.TensorSpec([None], tf.string, name="context"),
            ],
        )

    def _from_text(self, question, context):
        model = self._keras.model
        out = self._keras.decoder(
            lambda features: model(features, training=False), question, context
        )
        return {
            key: out[key]
            for key in (
                "answer_text",
                "answer_start",
                "answer_end",
                "score",
                "null_score",
                "no_answer",
            )
        }

    def signatures(self):
        return {"serving_default": self.serving_default}
