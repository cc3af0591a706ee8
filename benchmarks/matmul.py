"""The machine's dense float32 matmul FLOP/s: the yardstick for the encoder's FLOP fraction.

A square N x N x N matmul inside tf.function, with and without XLA, best of
several runs; the better of the two is the machine figure (the stricter
denominator). NumPy's BLAS is reported beside it for reference.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from benchmarks.common import row, timed


class MatmulProbe:
    """Compiled N x N x N float32 matmuls (tf.function with and without XLA), ready to time."""

    def __init__(self, n=2048):
        rng = np.random.default_rng(0)
        self.n = n
        self.flops = 2.0 * n**3
        self.a_np = rng.standard_normal((n, n), dtype=np.float32)
        self.b_np = rng.standard_normal((n, n), dtype=np.float32)
        a, b = tf.constant(self.a_np), tf.constant(self.b_np)
        self.fns = {}
        for key, jit in (("tf_function", False), ("tf_function_xla", True)):
            fn = tf.function(lambda x, y: tf.matmul(x, y), jit_compile=jit)
            fn(a, b).numpy()
            self.fns[key] = lambda fn=fn: fn(a, b).numpy()

    def measure(self, reps=7, numpy_too=False):
        """{'tf_function', 'tf_function_xla', ('numpy'), 'peak'}: best-of-reps FLOP/s; peak = best
        TF one."""
        result = {
            key: self.flops / min(timed(fn) for _ in range(reps)) for key, fn in self.fns.items()
        }
        if numpy_too:
            result["numpy"] = self.flops / min(
                timed(lambda: self.a_np @ self.b_np) for _ in range(reps)
            )
        result["peak"] = max(result["tf_function"], result["tf_function_xla"])
        return result


def measure_peak(n=2048, reps=7):
    """{'tf_function': F, 'tf_function_xla': F, 'numpy': F, 'peak': max of the TF two} in FLOP/s."""
    return MatmulProbe(n).measure(reps, numpy_too=True)


def run(quick=False, context=None):
    n, reps = (512, 3) if quick else (2048, 7)
    peak = measure_peak(n, reps)
    if context is not None:
        context["matmul_peak"] = max(context.get("matmul_peak", 0.0), peak["peak"])
    rows = []
    for key in ("tf_function", "tf_function_xla", "numpy"):
        rows.append(
            row(
                "matmul",
                f"float32 {n}^3 matmul, {key} (best of {reps})",
                ours=peak[key] / 1e9,
                unit="GFLOP/s",
                higher_is_better=True,
            )
        )
    return rows
