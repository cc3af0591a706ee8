"""Bare encoder, bert_tf BertEncoder vs keras-hub BertBackbone: forward and train step.

Same architecture, same inputs, both wrapped the same way: a tf.function with
jit_compile on or off around `model(inputs, training=...)`. Weights are random
(speed does not depend on their values). The padding mask is all ones: a full
fixed-shape batch.
"""

from __future__ import annotations

import gc

import keras
import numpy as np
import tensorflow as tf

from benchmarks.common import MODEL_SIZES, encoder_flops, interleaved, median, row, timed

# name -> (forward batch, train batch, sequence length, repetitions).
# bert_base trains on a smaller batch so one full run stays within minutes on 2 cores.
PLAN = {
    "bert_tiny": (32, 32, 128, 7),
    "minilm": (32, 32, 128, 5),
    "bert_base": (32, 8, 128, 5),
}
QUICK_PLAN = {"bert_tiny": (2, 2, 16, 2)}


def build_pair(size, seed=0):
    """(bert_tf BertEncoder, keras_hub BertBackbone) of the same architecture."""
    import keras_hub

    from bert_tf import BertConfig, BertEncoder

    keras.utils.set_random_seed(seed)
    config = BertConfig(**MODEL_SIZES[size])
    ours = BertEncoder(config)
    theirs = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size,
        num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads,
        hidden_dim=config.hidden_size,
        intermediate_dim=config.intermediate_size,
        dropout=config.hidden_dropout_prob,
        max_sequence_length=config.max_position_embeddings,
        num_segments=config.type_vocab_size,
    )
    return ours, theirs, config


def make_inputs(batch, seq, vocab_size, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "token_ids": tf.constant(rng.integers(1, vocab_size, (batch, seq)), tf.int32),
        "segment_ids": tf.zeros((batch, seq), tf.int32),
        "padding_mask": tf.ones((batch, seq), tf.int32),
    }


def forward_fn(model, inputs, jit):
    fn = tf.function(lambda x: model(x, training=False), jit_compile=jit)
    return lambda: [t.numpy() for t in tf.nest.flatten(fn(inputs))]


def train_fn(model, inputs, jit):
    """One optimizer step on a stand-in loss over both outputs (dropout on)."""
    optimizer = keras.optimizers.Adam(1e-5)
    variables = model.trainable_variables
    optimizer.build(variables)

    def step(x):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = tf.reduce_mean(tf.square(out["sequence_output"])) + tf.reduce_mean(
                out["pooled_output"]
            )
        grads = tape.gradient(loss, variables)
        optimizer.apply(grads, variables)
        return loss

    fn = tf.function(step, jit_compile=jit)
    return lambda: fn(inputs).numpy()


def run(
    quick=False, context=None, models=None, modes=("forward", "train"), xla_modes=(True, False)
):
    plan = QUICK_PLAN if quick else PLAN
    sizes = [m for m in (models or plan) if m in plan]
    rows = []
    for size in sizes:
        fwd_batch, train_batch, seq, reps = plan[size]
        ours, theirs, config = build_pair(size)
        for mode in modes:
            batch = fwd_batch if mode == "forward" else train_batch
            inputs = make_inputs(batch, seq, config.vocab_size)
            for jit in xla_modes:
                make = forward_fn if mode == "forward" else train_fn
                fns = {"ours": make(ours, inputs, jit), "theirs": make(theirs, inputs, jit)}
                times = interleaved(fns, reps)
                flops = encoder_flops(
                    batch,
                    seq,
                    config.num_hidden_layers,
                    config.hidden_size,
                    config.intermediate_size,
                )
                extra = {
                    "model": size,
                    "mode": mode,
                    "xla": jit,
                    "batch": batch,
                    "seq": seq,
                    "reps": reps,
                    "ours_times": times["ours"],
                    "theirs_times": times["theirs"],
                }
                if mode == "forward":
                    extra["flops"] = flops
                rows.append(
                    row(
                        "encoder",
                        f"{size} {mode} [{batch},{seq}] {'XLA' if jit else 'no XLA'}",
                        ours=median(times["ours"]),
                        theirs=median(times["theirs"]),
                        **extra,
                    )
                )
        del ours, theirs
        gc.collect()
    return rows


def flop_fraction(size, batch=32, seq=128, reps=5, matmul_n=2048):
    """Our XLA forward's matmul FLOP/s as a fraction of the matmul peak, measured in pairs.

    Each repetition times one big float32 matmul (best of two: tf.function with and
    without XLA) right before one encoder pass, so both see the same machine load;
    the fraction of each pair is recorded. Returns a result row (median of pairs,
    plus best encoder / best matmul).
    """
    from benchmarks.matmul import MatmulProbe
    from bert_tf import BertConfig, BertEncoder

    config = BertConfig(**MODEL_SIZES[size])
    model = BertEncoder(config)
    inputs = make_inputs(batch, seq, config.vocab_size)
    fn = forward_fn(model, inputs, True)
    fn()
    flops = encoder_flops(
        batch, seq, config.num_hidden_layers, config.hidden_size, config.intermediate_size
    )
    probe = MatmulProbe(matmul_n)
    peaks, times = [], []
    for _ in range(reps):
        peaks.append(probe.measure(reps=2)["peak"])
        times.append(timed(fn))
    fractions = [flops / t / p for t, p in zip(times, peaks)]
    del model
    gc.collect()
    return row(
        "flops",
        f"{size} forward [{batch},{seq}] XLA / paired matmul peak (median of {reps} pairs)",
        ours=median(fractions),
        unit="fraction",
        higher_is_better=True,
        model=size,
        batch=batch,
        seq=seq,
        fractions=fractions,
        encoder_times=times,
        matmul_peaks_gflops=[p / 1e9 for p in peaks],
        ours_gflops_median=flops / median(times) / 1e9,
        ours_gflops_best=flops / min(times) / 1e9,
        best_over_best=flops / min(times) / max(peaks),
        flops_per_pass=flops,
    )


def flop_rows(encoder_rows, peak):
    """Achieved matmul FLOP/s of our XLA forward passes as a fraction of the matmul peak."""
    rows = []
    for r in encoder_rows:
        if r.get("mode") != "forward" or not r.get("xla") or not peak:
            continue
        achieved_median = r["flops"] / median(r["ours_times"])
        achieved_best = r["flops"] / min(r["ours_times"])
        theirs_best = r["flops"] / min(r["theirs_times"])
        rows.append(
            row(
                "flops",
                f"{r['model']} forward [{r['batch']},{r['seq']}] XLA, best pass / best matmul of "
                "the run (unpaired)",
                ours=achieved_best / peak,
                theirs=theirs_best / peak,
                unit="fraction",
                higher_is_better=True,
                ours_gflops_best=achieved_best / 1e9,
                ours_gflops_median=achieved_median / 1e9,
                ours_fraction_median=achieved_median / peak,
                matmul_peak_gflops=peak / 1e9,
                flops_per_pass=r["flops"],
            )
        )
    return rows
