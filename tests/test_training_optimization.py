"""Optimizer recipe: schedule shape and serialization, weight-decay exclusions, clipping,
accumulation."""

import keras
import numpy as np
import pytest

from bert_tf.training import LinearWarmupDecay, create_optimizer
from bert_tf.training.optimization import warmup_steps_for


def test_schedule_warms_up_then_decays_linearly():
    s = LinearWarmupDecay(1e-3, total_steps=100, warmup_steps=10)
    values = [float(s(step)) for step in (0, 5, 10, 55, 100, 150)]
    np.testing.assert_allclose(values, [0.0, 5e-4, 1e-3, 5e-4, 0.0, 0.0], atol=1e-9)


def test_schedule_without_warmup_and_with_end_rate():
    s = LinearWarmupDecay(1e-3, total_steps=10, warmup_steps=0, end_learning_rate=1e-4)
    assert float(s(0)) == pytest.approx(1e-3)
    assert float(s(10)) == pytest.approx(1e-4)


def test_schedule_round_trips_through_keras_serialization():
    s = LinearWarmupDecay(2e-5, total_steps=300, warmup_steps=30)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
    assert isinstance(restored, LinearWarmupDecay) and restored.get_config() == s.get_config()
    opt = create_optimizer(2e-5, 300)
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(clone._learning_rate, LinearWarmupDecay)
    assert clone._learning_rate.get_config() == opt._learning_rate.get_config()


@pytest.mark.parametrize("bad", [dict(total_steps=0), dict(total_steps=10, warmup_steps=11)])
def test_schedule_rejects_bad_steps(bad):
    with pytest.raises(ValueError):
        LinearWarmupDecay(1e-3, **bad)


def test_warmup_ratio_rounds_up_like_hf():
    assert warmup_steps_for(113, 0.1) == 12
    assert warmup_steps_for(113, 0.1, warmup_steps=5) == 5


def _toy_variables():
    kernel = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    bias = keras.Variable(np.ones((2,), "float32"), name="bias")
    gamma = keras.Variable(np.ones((2,), "float32"), name="gamma")
    beta = keras.Variable(np.ones((2,), "float32"), name="beta")
    return [kernel, bias, gamma, beta]


def test_adamw_decays_only_kernels():
    variables = _toy_variables()
    opt = create_optimizer(
        0.1, total_steps=10, warmup_ratio=0.0, weight_decay=0.5, max_grad_norm=None
    )
    opt.apply(
        [np.zeros(v.shape, "float32") for v in variables], variables
    )  # zero grads: decay only
    kernel, bias, gamma, beta = (np.asarray(v) for v in variables)
    np.testing.assert_allclose(kernel, 1 - 0.1 * 0.5)
    for v in (bias, gamma, beta):
        np.testing.assert_allclose(v, 1.0)


def test_global_norm_clipping_and_lamb_and_loss_scale():
    opt = create_optimizer(1e-3, 10, max_grad_norm=1.0)
    assert opt.global_clipnorm == 1.0 and isinstance(opt, keras.optimizers.AdamW)
    assert create_optimizer(1e-3, 10, max_grad_norm=0).global_clipnorm is None
    assert isinstance(create_optimizer(1e-3, 10, optimizer="lamb"), keras.optimizers.Lamb)
    scaled = create_optimizer(1e-3, 10, mixed_precision="mixed_float16")
    assert isinstance(scaled, keras.optimizers.LossScaleOptimizer)
    with pytest.raises(ValueError, match="unknown optimizer"):
        create_optimizer(1e-3, 10, optimizer="sgd")


def test_gradient_accumulation_updates_every_k_batches_with_the_mean():
    v = keras.Variable(np.zeros((1,), "float32"), name="kernel")
    opt = create_optimizer(
        1.0,
        total_steps=4,
        warmup_ratio=0.0,
        weight_decay=0.0,
        max_grad_norm=None,
        gradient_accumulation_steps=2,
    )
    assert opt.gradient_accumulation_steps == 2
    # Adam is scale invariant unless gradients are near its epsilon (1e-8): there the update of the
    # mean (2e-8) differs from that of the sum (4e-8), so the value tells which one was applied.
    opt.apply([np.array([1e-8], "float32")], [v])
    assert float(np.asarray(v)[0]) == 0.0  # first micro-batch: accumulated, no update
    opt.apply([np.array([3e-8], "float32")], [v])

    def one_step(gradient):
        w = keras.Variable(np.zeros((1,), "float32"), name="kernel")
        create_optimizer(
            1.0, total_steps=2, warmup_ratio=0.0, weight_decay=0.0, max_grad_norm=None
        ).apply([np.array([gradient], "float32")], [w])
        return float(np.asarray(w)[0])

    mean, total = one_step(2e-8), one_step(4e-8)
    assert abs(mean - total) > 0.05  # -0.0595 vs -0.1123
    np.testing.assert_allclose(float(np.asarray(v)[0]), mean, rtol=1e-5)  # one step on the mean
