"""LinearWarmupDecay: BERT's learning-rate schedule as a serializable Keras schedule."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bert_tf")
class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to ``peak_learning_rate``, then linear decay to ``end_learning_rate``.

    ``lr(step) = peak * step / warmup_steps`` while ``step < warmup_steps``, then
    ``end + (peak - end) * (total_steps - step) / (total_steps - warmup_steps)``,
    never below ``end`` (google-research/bert's polynomial decay with power 1,
    and the step counting of HF's ``get_linear_schedule_with_warmup``).
    ``step`` counts optimizer updates: Keras calls the schedule with its micro-batch
    counter even when accumulating gradients, so ``steps_per_update`` (the
    gradient_accumulation_steps) divides it back.

    Args:
        peak_learning_rate: the rate reached at the end of warmup.
        total_steps: optimizer updates in the whole run.
        warmup_steps: updates spent warming up (0 for none).
        end_learning_rate: the rate at and after ``total_steps``.
        steps_per_update: micro-batches per optimizer update (gradient accumulation).
    """

    def __init__(
        self,
        peak_learning_rate,
        total_steps,
        warmup_steps=0,
        end_learning_rate=0.0,
        steps_per_update=1,
    ):
        if total_steps <= 0:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"warmup_steps must be in [0, total_steps={total_steps}], got {warmup_steps}"
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.end_learning_rate = float(end_learning_rate)
        self.steps_per_update = int(steps_per_update)

    def __call__(self, step):
        step = ops.cast(ops.floor_divide(step, self.steps_per_update), "float32")
        peak, end = self.peak_learning_rate, self.end_learning_rate
        warm = peak * step / max(self.warmup_steps, 1)
        decay_span = max(self.total_steps - self.warmup_steps, 1)
        remaining = ops.clip((self.total_steps - step) / decay_span, 0.0, 1.0)
        decayed = end + (peak - end) * remaining
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "end_learning_rate": self.end_learning_rate,
            "steps_per_update": self.steps_per_update,
        }
