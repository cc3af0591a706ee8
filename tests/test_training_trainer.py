"""The custom loop: it learns, checkpoints, resumes exactly, stops early, checks numerics."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.training import Trainer, create_optimizer
from tests.training_helpers import classification_loss, dataset_fn, tiny_classifier

EPOCHS = 4
STEPS_PER_EPOCH = 3  # 48 rows / batch 16


class _KillAt(keras.callbacks.Callback):
    """Raises like a preemption after the given global step."""

    def __init__(self, trainer, step):
        super().__init__()
        self.trainer, self.kill_step = trainer, step

    def on_train_batch_end(self, batch, logs=None):
        if self.trainer.step == self.kill_step:
            raise KeyboardInterrupt


def _train(model_dir, kill_at=None, checkpoint_every=None, seed=1):
    model = tiny_classifier(seed=seed)
    optimizer = create_optimizer(2e-3, EPOCHS * STEPS_PER_EPOCH, warmup_ratio=0.2)
    trainer = Trainer(
        model,
        optimizer,
        classification_loss,
        model_dir=model_dir,
        checkpoint_every_n_steps=checkpoint_every,
        verbose=0,
        log_every_n_steps=1,
    )
    callbacks = [_KillAt(trainer, kill_at)] if kill_at else None
    try:
        trainer.fit(dataset_fn(), epochs=EPOCHS, callbacks=callbacks)
    except KeyboardInterrupt:
        return None, trainer
    return model.get_weights(), trainer


def test_loop_learns_and_writes_logs(tmp_path):
    weights_before = tiny_classifier().get_weights()
    weights, trainer = _train(str(tmp_path))
    assert trainer.step == EPOCHS * STEPS_PER_EPOCH
    assert trainer.history[-1]["loss"] < trainer.history[0]["loss"]
    assert any(not np.allclose(a, b) for a, b in zip(weights, weights_before))
    assert trainer.current_learning_rate() == pytest.approx(0.0)
    assert os.listdir(tmp_path / "logs" / "train"), "no TensorBoard events"
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith(f"-{trainer.step}")


def test_killed_and_resumed_run_matches_uninterrupted(tmp_path):
    reference, _ = _train(str(tmp_path / "a"))
    # killed mid-epoch 2 (step 5), last checkpoint at step 4 -> resume redoes step 5
    killed, trainer = _train(str(tmp_path / "b"), kill_at=5, checkpoint_every=2)
    assert killed is None and trainer.step == 5
    resumed, trainer = _train(
        str(tmp_path / "b"), seed=99
    )  # fresh weights: all must come from the checkpoint
    assert trainer.step == EPOCHS * STEPS_PER_EPOCH
    for a, b in zip(reference, resumed):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_fresh_seed_gives_other_weights(tmp_path):
    """Guards the test above: without the checkpoint, seed 99 would end elsewhere."""
    reference, _ = _train(str(tmp_path / "a"))
    other, _ = _train(str(tmp_path / "c"), seed=99)
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(reference, other))


def test_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    _train(str(tmp_path))
    keras.utils.set_random_seed(0)
    from bert_tf import BertClassifier, BertConfig, BertEncoder

    other = BertClassifier(
        BertEncoder(
            BertConfig(
                vocab_size=64,
                hidden_size=16,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=24,
            )
        ),
        num_classes=2,
    )
    trainer = Trainer(
        other, create_optimizer(1e-3, 10), classification_loss, model_dir=str(tmp_path), verbose=0
    )
    with pytest.raises(ValueError, match="does not fit this model"):
        trainer.restore()


def test_early_stopping_restores_best_weights():
    model = tiny_classifier()
    trainer = Trainer(model, create_optimizer(1e-3, 30), classification_loss, verbose=0)
    scores = iter([0.5, 0.9, 0.6, 0.7, 0.8, 0.95])
    snapshots = []

    def eval_fn():
        snapshots.append(model.get_weights())
        return {"accuracy": next(scores)}

    trainer.fit(
        dataset_fn(),
        epochs=6,
        eval_fn=eval_fn,
        early_stopping_patience=2,
        early_stopping_metric="accuracy",
    )
    assert len(trainer.history) == 4  # best at epoch 2, two worse epochs, stop
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_non_finite_loss_stops_with_clear_error():
    model = tiny_classifier()

    def nan_loss(labels, logits):
        values, weights = classification_loss(labels, logits)["loss"]
        return {"loss": (values * np.nan, weights)}

    trainer = Trainer(model, create_optimizer(1e-3, 10), nan_loss, verbose=0)
    with pytest.raises(FloatingPointError, match="step 1"):
        trainer.fit(dataset_fn(), epochs=1)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_finite_loss(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = tiny_classifier()
        optimizer = create_optimizer(2e-3, 6, mixed_precision=policy)
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == (
            policy == "mixed_float16"
        )
        trainer = Trainer(model, optimizer, classification_loss, verbose=0)
        history = trainer.fit(dataset_fn(), epochs=2)
        assert model.encoder.embeddings.compute_dtype == policy.split("_")[1]
        assert all(np.isfinite(h["loss"]) for h in history)
        assert all(w.dtype == np.float32 for w in model.get_weights() if w.dtype.kind == "f")
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_jit_compile_matches_eager_graph():
    losses = []
    for jit in (False, True):
        model = tiny_classifier(dropout=0.0)
        trainer = Trainer(
            model, create_optimizer(1e-3, 6), classification_loss, jit_compile=jit, verbose=0
        )
        losses.append(trainer.fit(dataset_fn(), epochs=2)[-1]["loss"])
    assert losses[0] == pytest.approx(losses[1], rel=5e-3)  # XLA reorders float sums


def test_predict_yields_outputs_and_labels():
    model = tiny_classifier()
    trainer = Trainer(model, create_optimizer(1e-3, 3), classification_loss, verbose=0)
    batches = list(trainer.predict(dataset_fn()(0)))
    assert sum(o.shape[0] for o, _ in batches) == 48
    assert batches[0][0].shape[1] == 2 and batches[0][1].shape == (16,)


def test_model_fit_works_with_the_same_optimizer():
    """Notebook path: plain Keras compile/fit with create_optimizer on a BERT task model."""
    model = tiny_classifier()
    model.compile(
        optimizer=create_optimizer(2e-3, 6),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(dataset_fn()(0), epochs=2, verbose=0)
    assert (
        np.isfinite(history.history["loss"]).all()
        and history.history["loss"][1] < history.history["loss"][0]
    )


def test_gradient_accumulation_matches_the_big_batch():
    """2 micro-batches of 8 accumulated == one batch of 16 (same rows, same schedule, clipping
    on)."""
    weights = []
    for batch_size, accumulation in ((16, 1), (8, 2)):
        model = tiny_classifier(dropout=0.0)
        steps = EPOCHS * STEPS_PER_EPOCH * accumulation
        optimizer = create_optimizer(
            2e-3,
            steps,
            warmup_ratio=0.2,
            max_grad_norm=0.05,
            gradient_accumulation_steps=accumulation,
        )
        Trainer(model, optimizer, classification_loss, verbose=0).fit(
            dataset_fn(batch_size=batch_size), epochs=EPOCHS
        )
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-6)
