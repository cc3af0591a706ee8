"""Shared helpers: interleaved timing, machine description, result rows.

This machine is shared and noisy, so every comparison runs both contenders in
the same process, alternating them repetition by repetition, and reports the
median of N plus the ratio of medians (theirs / ours: > 1 means bert_tf wins).
"""

from __future__ import annotations

import os
import platform
import subprocess
import time

import numpy as np

# Architectures timed side by side. MiniLM is the size of all-MiniLM-L6-v2.
MODEL_SIZES = {
    "bert_tiny": dict(
        num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=512
    ),
    "minilm": dict(
        num_hidden_layers=6, hidden_size=384, num_attention_heads=12, intermediate_size=1536
    ),
    "bert_base": dict(
        num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072
    ),
}


def encoder_flops(batch, seq, layers, hidden, intermediate):
    """Matmul FLOPs of one encoder forward pass (multiply-add = 2 FLOPs).

    Per layer: projections and FFN 2*B*T*(4H^2 + 2HI) (q, k, v, output: 4 HxH;
    FFN: 2 HxI) plus attention scores and context 2 * 2*B*T^2*H. Embedding
    look-ups, softmax, GELU and LayerNorm are not counted (they are not matmuls).
    """
    per_layer = (
        2 * batch * seq * (4 * hidden * hidden + 2 * hidden * intermediate)
        + 2 * 2 * batch * seq * seq * hidden
    )
    return layers * per_layer


def timed(fn):
    """Seconds one call of fn takes (fn must block until its result is ready)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(fns, reps, warmup=1):
    """Times each callable of the dict `fns` `reps` times, alternating them.

    The order flips every repetition (A B, B A, ...) so a burst of load from
    another process hurts both sides alike. Returns {name: [seconds, ...]}.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    names = list(fns)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            times[name].append(timed(fns[name]))
    return times


def median(values):
    return float(np.median(values)) if len(values) else float("nan")


def row(section, name, ours=None, theirs=None, unit="s", higher_is_better=False, **extra):
    """One result line. ratio > 1 always means bert_tf is better."""
    ratio = None
    if ours is not None and theirs is not None and ours > 0 and theirs > 0:
        ratio = ours / theirs if higher_is_better else theirs / ours
    result = {
        "section": section,
        "name": name,
        "ours": ours,
        "theirs": theirs,
        "unit": unit,
        "ratio": ratio,
    }
    result.update(extra)
    return result


def cpu_model_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info():
    import keras
    import tensorflow as tf

    try:
        import keras_hub

        keras_hub_version = keras_hub.__version__
    except ImportError:
        keras_hub_version = None
    return {
        "cpu": cpu_model_name(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_hub": keras_hub_version,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "load_average_at_start": list(os.getloadavg()),
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
