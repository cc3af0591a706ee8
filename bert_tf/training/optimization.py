"""Optimizers for BERT: AdamW or LAMB with warmup + linear decay, clipping, accumulation, loss
scaling.

All of it is stock Keras (AdamW, Lamb, LossScaleOptimizer, global_clipnorm,
gradient_accumulation_steps); this module only picks BERT's defaults.
"""

from __future__ import annotations

import math

import keras

from bert_tf.training.linear_warmup_decay import LinearWarmupDecay

# Variables without weight decay, matched against Keras variable names: LayerNorm
# scale/offset ("gamma", "beta") and every bias (incl. the MLM head's "output_bias").
NO_DECAY_NAMES = ("gamma", "beta", "bias")
# Adam's epsilon; torch/HF AdamW default (google-research/bert used 1e-6).
ADAM_EPSILON = 1e-8
# Google's LAMB recipe for BERT pretraining.
LAMB_EPSILON = 1e-6
OPTIMIZERS = ("adamw", "lamb")


def warmup_steps_for(
    total_steps: int, warmup_ratio: float = 0.1, warmup_steps: int | None = None
) -> int:
    """Explicit warmup_steps win; otherwise ceil(warmup_ratio * total_steps) (HF's rule)."""
    if warmup_steps is not None:
        return int(warmup_steps)
    if not 0.0 <= warmup_ratio <= 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1], got {warmup_ratio}")
    return int(math.ceil(warmup_ratio * total_steps))


def create_optimizer(
    learning_rate: float,
    total_steps: int,
    warmup_ratio: float = 0.1,
    warmup_steps: int | None = None,
    weight_decay: float = 0.01,
    max_grad_norm: float | None = 1.0,
    gradient_accumulation_steps: int = 1,
    optimizer: str = "adamw",
    mixed_precision: str | None = None,
    end_learning_rate: float = 0.0,
) -> keras.optimizers.Optimizer:
    """A ready Keras optimizer for BERT fine-tuning (AdamW) or pretraining (LAMB).

    Args:
        learning_rate: peak learning rate, reached after warmup.
        total_steps: training batches in the whole run (micro-batches when
            accumulating); the schedule counts optimizer updates, so it spans
            ``total_steps // gradient_accumulation_steps`` of them.
        warmup_ratio: fraction of updates spent warming up (ignored if
            warmup_steps is given).
        weight_decay: decoupled weight decay; LayerNorm and bias are excluded.
        max_grad_norm: clip the gradient to this global norm (None or 0: off).
        gradient_accumulation_steps: micro-batches averaged per update (1: off).
        optimizer: "adamw" or "lamb".
        mixed_precision: "mixed_float16" wraps it in a LossScaleOptimizer
            (dynamic loss scaling; updates with non-finite gradients are skipped).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {list(OPTIMIZERS)}")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if gradient_accumulation_steps < 1:
        raise ValueError(
            f"gradient_accumulation_steps must be >= 1, got {gradient_accumulation_steps}"
        )
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    updates = max(int(total_steps) // gradient_accumulation_steps, 1)
    schedule = LinearWarmupDecay(
        peak_learning_rate=learning_rate,
        total_steps=updates,
        warmup_steps=warmup_steps_for(updates, warmup_ratio, warmup_steps),
        end_learning_rate=end_learning_rate,
        steps_per_update=gradient_accumulation_steps,
    )
    common = dict(
        learning_rate=schedule,
        weight_decay=weight_decay or None,
        global_clipnorm=max_grad_norm or None,
        gradient_accumulation_steps=gradient_accumulation_steps
        if gradient_accumulation_steps > 1
        else None,
        beta_1=0.9,
        beta_2=0.999,
    )
    if optimizer == "adamw":
        common["weight_decay"] = float(weight_decay)  # Keras's AdamW wants a float, 0.0 included
        opt = keras.optimizers.AdamW(epsilon=ADAM_EPSILON, **common)
    else:
        opt = keras.optimizers.Lamb(epsilon=LAMB_EPSILON, **common)
    if weight_decay:
        opt.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
    if mixed_precision == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def inner_optimizer(opt):
    """The optimizer doing the updates (unwraps a LossScaleOptimizer)."""
    return getattr(opt, "inner_optimizer", opt)
