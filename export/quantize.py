"""Quantized SavedModels for TF Serving: the modes, which are offered, and the model for each.

A SavedModel for stock TF Serving may only use the ops of its op list
(tf_serving_2.20_ops.txt), so the quantized forms here are the Keras ones that
stay within it:

- ``dynamic_int8``: Keras ``model.quantize("int8")``: int8 Dense kernels with a
  per-channel scale, activations quantized per call, int8 x int8 -> int32 matmul.
- ``float16``: the model built with a float16 dtype policy (weights and compute).

Both load in stock TF Serving, but on CPU under the TF1 session loader neither
is faster than float32 (benchmarks/serving_cost.py measured them side by side,
see NOT_OFFERED), so bert-tf-export refuses them for ``--format=saved_model``
and points to the TFLite artifacts, whose int8 kernels are fast on CPU.
``offer_all=True`` (the benchmark) builds them anyway.
"""

from __future__ import annotations

import warnings

from bert_tf.models import load_task_model

QUANTIZE_MODES = ("none", "dynamic_int8", "float16")
ARTIFACT_FORMATS = ("saved_model", "tflite")

# Measured by `python -m benchmarks.serving_cost` (benchmarks/results/serving_cost.json): the
# fine-tuned MiniLM teacher, 500 held-out tweets, TF1 session loader, interleaved with float32.
NOT_OFFERED = {
    "dynamic_int8": "the Keras int8 SavedModel measured slower than float32 on CPU under the TF1 "
    "session loader (batch-1 p50 107.6 vs 53.2 ms, batch-32 3.4 vs 9.4 texts/s; README "
    "'Serving cost'); use --format=tflite --quantize=dynamic_int8 for int8 on CPU",
    "float16": "the float16 SavedModel measured slower than float32 on CPU under the TF1 "
    "session loader (batch-1 p50 126.5 vs 110.7 ms, batch-32 7.2 vs 8.5 texts/s; README "
    "'Serving cost'); use --format=tflite --quantize=float16 for half-size weights",
}


class QuantizeNotOffered(ValueError):
    """A quantize mode that was measured not to pay off for this format."""


def check_offered(quantize, fmt, offer_all=False):
    """Raises ValueError for an unknown mode/format, QuantizeNotOffered for a measured loser
    (unless ``offer_all``: the benchmark builds them to measure them)."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"--quantize must be one of {', '.join(QUANTIZE_MODES)}, got {quantize!r}")
    if fmt not in ARTIFACT_FORMATS:
        raise ValueError(f"--format must be one of {', '.join(ARTIFACT_FORMATS)}, got {fmt!r}")
    if fmt == "saved_model" and quantize in NOT_OFFERED and not offer_all:
        raise QuantizeNotOffered(
            f"--quantize={quantize} is not offered for --format=saved_model: "
            + NOT_OFFERED[quantize]
        )


def quantized_model(model_dir, quantize):
    """The task model of ``model_dir`` in the given SavedModel quantize mode (a fresh copy)."""
    if quantize == "float16":
        model, _ = load_task_model(model_dir, dtype="float16")
        return model
    model, _ = load_task_model(model_dir)
    if quantize == "dynamic_int8":
        with warnings.catch_warnings():  # "Layer Dropout does not have a quantize method": expected
            warnings.simplefilter("ignore")
            model.quantize("int8")
    elif quantize != "none":
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, got {quantize!r}")
    return model
