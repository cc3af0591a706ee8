"""TFLite artifacts of a classifier: a ``.tflite`` model with the tokenizer inside, or on token ids.

    write_tflite_artifact(model, preprocessor, task_info, folder, quantize="dynamic_int8")

``raw_text=True`` (the default): the model's input is ``text`` [B] string and
tokenization runs inside the interpreter with tensorflow-text's TFLite kernels
(FastBertNormalize, FastWordpieceTokenize, RaggedTensorToTensor); run it with
``InterpreterWithCustomOps(custom_op_registerers=tf_text.tflite_registrar.SELECT_TFTEXT_OPS)``
(TFLiteClassifier does). bert_tf's own BertTokenizer normalizes with RE2
regexes (exact BERT rules) that TFLite cannot run; this graph uses
FastBertNormalizer instead, which differs only where the text has control
characters (BERT removes them, FastBertNormalizer makes them spaces) and a few
compatibility characters (tests/test_export_serving_cost.py measures it on real text).
``raw_text=False``: inputs ``token_ids``, ``segment_ids``, ``padding_mask`` [B, T]
int32; tokenize with the ``vocab.txt`` / ``tokenizer_config.json`` written beside it.

Either way the single output is ``probabilities`` [B, C] float32 and the folder
holds ``model.tflite``, ``labels.txt``, ``vocab.txt``, ``tokenizer_config.json``
and ``task.json``. Quantization: ``none`` (float32), ``float16`` (weights),
``dynamic_int8`` (dynamic-range: int8 weights, activations quantized on the fly).
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

# InterpreterWithCustomOps (custom_op_registerers) is how tensorflow-text documents running its
# TFLite kernels; tf.lite.Interpreter has no way to register them.
from tensorflow.lite.python import interpreter as tflite_interpreter

from bert_tf.text import BertPreprocessor

TFLITE_QUANTIZE = ("none", "float16", "dynamic_int8")
MODEL_FILE = "model.tflite"
# A word longer than this many bytes becomes [UNK] (BERT: 100 characters; equal for ASCII).
MAX_BYTES_PER_WORD = 100


class TFLiteExportError(RuntimeError):
    """A model that could not be converted to TFLite."""


class _TFLiteModule(tf.Module):
    """The functions converted: raw text (tokenizer inside) or token ids -> probabilities."""

    def __init__(self, model, preprocessor):
        super().__init__(name="bert_tf_tflite")
        tokenizer = preprocessor.tokenizer
        self._keras = [
            model
        ]  # a plain list: tf.Module would track the Keras model's variables twice
        # Tracked directly so the converter freezes their values into the flatbuffer
        # (model None: the packing graph alone).
        self.model_variables = [
            v.value if hasattr(v, "value") else v for v in getattr(model, "variables", [])
        ]
        self.sequence_length = int(preprocessor.sequence_length)
        self.cls_id, self.sep_id, self.pad_id = tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id
        self._normalizer = tf_text.FastBertNormalizer(
            lower_case_nfd_strip_accents=tokenizer.lowercase
        )
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=list(tokenizer.vocabulary),
            suffix_indicator=tokenizer.suffix_indicator,
            max_bytes_per_word=MAX_BYTES_PER_WORD,
            token_out_type=tf.int32,
            unknown_token=tokenizer.unknown_token,
            no_pretokenization=False,
            support_detokenization=False,
        )

    def pack(self, text):
        """[B] strings -> [CLS] pieces [SEP] as dense [B, T] int32 features (T = longest row)."""
        ids = self._wordpiece.tokenize(self._normalizer.normalize(text))  # ragged [B, N]
        budget = self.sequence_length - 2
        lengths = tf.minimum(tf.cast(ids.row_lengths(), tf.int32), budget)  # [B]
        body = ids.to_tensor(default_value=self.pad_id)[:, :budget]  # [B, N']
        batch = tf.shape(body)[0]
        column = tf.fill([batch, 1], self.pad_id)
        padded = tf.concat([column, body, column, column], axis=1)  # [B, N' + 3]: room for [SEP]
        positions = tf.expand_dims(tf.range(tf.shape(padded)[1]), 0)  # [1, T]
        sep_at = tf.expand_dims(lengths + 1, 1)  # [B, 1]
        token_ids = tf.where(
            positions == 0, self.cls_id, tf.where(positions == sep_at, self.sep_id, padded)
        )
        padding_mask = tf.cast(positions <= sep_at, tf.int32)
        # Keep T >= 2 and cut the spare column: T = longest row's length + 2.
        width = tf.maximum(tf.reduce_max(tf.concat([lengths, [0]], axis=0)) + 2, 2)
        return {
            "token_ids": token_ids[:, :width],
            "segment_ids": tf.zeros_like(token_ids[:, :width]),
            "padding_mask": padding_mask[:, :width],
        }

    def probabilities(self, features):
        logits = self._keras[0](features, training=False)  # [B, C]
        return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)

    def functions(self, raw_text):
        if raw_text:
            fn = tf.function(
                lambda text: {"probabilities": self.probabilities(self.pack(text))},
                input_signature=[tf.TensorSpec([None], tf.string, name="text")],
            )
        else:
            fn = tf.function(
                lambda token_ids, segment_ids, padding_mask: {
                    "probabilities": self.probabilities(
                        {
                            "token_ids": token_ids,
                            "segment_ids": segment_ids,
                            "padding_mask": padding_mask,
                        }
                    )
                },
                input_signature=[
                    tf.TensorSpec([None, None], tf.int32, name=n)
                    for n in ("token_ids", "segment_ids", "padding_mask")
                ],
            )
        return fn.get_concrete_function()


def convert(model, preprocessor, quantize="none", raw_text=True):
    """The .tflite flatbuffer (bytes) of a classifier; TFLiteExportError when it cannot convert."""
    if quantize not in TFLITE_QUANTIZE:
        raise ValueError(f"quantize must be one of {TFLITE_QUANTIZE} for TFLite, got {quantize!r}")
    module = _TFLiteModule(model, preprocessor)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.functions(raw_text)], module
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = raw_text  # tensorflow-text's kernels (tflite_registrar)
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except Exception as e:
        first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise TFLiteExportError(f"TFLite conversion failed: {first}") from e


def write_tflite_artifact(model, preprocessor, task_info, folder, quantize="none", raw_text=True):
    """Writes model.tflite and its assets into ``folder`` (must not exist); returns model.tflite."""
    flatbuffer = convert(model, preprocessor, quantize=quantize, raw_text=raw_text)
    os.makedirs(folder)
    path = os.path.join(folder, MODEL_FILE)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    tokenizer = preprocessor.tokenizer
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(tokenizer.vocabulary) + "\n")
    with open(os.path.join(folder, "labels.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(task_info["labels"]) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "do_lower_case": tokenizer.lowercase,
                "sequence_length": preprocessor.sequence_length,
                "max_bytes_per_word": MAX_BYTES_PER_WORD,
                "raw_text_input": raw_text,
            },
            f,
            indent=2,
        )
    info = {
        **task_info,
        "tflite": {"quantize": quantize, "raw_text_input": raw_text, "outputs": ["probabilities"]},
    }
    with open(os.path.join(folder, "task.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    return path


class TFLiteClassifier:
    """Runs a .tflite classifier: ``predict(texts) -> probabilities`` [B, C] float32.

    Args:
        path: the model.tflite (its folder holds labels.txt, vocab.txt, tokenizer_config.json).
        num_threads: interpreter threads (default: all cores, as a TF session uses).
        preprocessor: for token-id models, the BertPreprocessor to tokenize with
            (default: one built from the assets beside the model).
    """

    def __init__(self, path, num_threads=None, preprocessor=None):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        with open(os.path.join(folder, "tokenizer_config.json"), encoding="utf-8") as f:
            self.tokenizer_config = json.load(f)
        self.raw_text = bool(self.tokenizer_config["raw_text_input"])
        self.num_threads = num_threads or os.cpu_count()
        self.interpreter = tflite_interpreter.InterpreterWithCustomOps(
            model_path=path,
            custom_op_registerers=tf_text.tflite_registrar.SELECT_TFTEXT_OPS,
            num_threads=self.num_threads,
        )
        self._inputs = {d["name"]: d for d in self.interpreter.get_input_details()}
        (self._output,) = self.interpreter.get_output_details()
        self._shapes = None
        if not self.raw_text and preprocessor is None:
            preprocessor = BertPreprocessor.from_pretrained(
                folder, sequence_length=int(self.tokenizer_config["sequence_length"])
            )
        self.preprocessor = preprocessor

    def _input(self, name):
        for key, detail in self._inputs.items():
            if name in key:  # the converter names them e.g. "serving_default_text:0"
                return detail
        raise KeyError(f"{self.path} has no input {name!r} (inputs: {sorted(self._inputs)})")

    def predict(self, texts):
        if self.raw_text:
            feeds = {
                "text": np.array(
                    [t.encode("utf-8") if isinstance(t, str) else t for t in texts], dtype=object
                )
            }
        else:
            features = self.preprocessor(tf.constant(list(texts)))
            feeds = {k: np.asarray(v, np.int32) for k, v in features.items()}
        shapes = {k: v.shape for k, v in feeds.items()}
        if shapes != self._shapes:
            for name, value in feeds.items():
                self.interpreter.resize_tensor_input(self._input(name)["index"], value.shape)
            self.interpreter.allocate_tensors()
            self._shapes = shapes
        for name, value in feeds.items():
            self.interpreter.set_tensor(self._input(name)["index"], value)
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self._output["index"]), dtype=np.float32)
