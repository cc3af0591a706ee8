"""Trainer: one readable training loop for every strategy (tf.function + strategy.run).

Why our own loop rather than ``model.fit``: Keras 3's fit fails under
MultiWorkerMirroredStrategy (keras-team/keras #20585), and its BackupAndRestore
resumes at epoch granularity only. This loop drives the same Keras model and
optimizer, and gives fit's conveniences: progress bar, TensorBoard, checkpoints
every N steps, exact resume after a kill, early stopping, Keras callbacks.
``model.fit`` keeps working on the same model and optimizer in a notebook.

Read top to bottom: ``fit`` -> ``_train_epoch`` -> ``_train_step`` -> ``_replica_step``.

Loss convention: ``loss_fn(labels, outputs)`` returns ``{name: (values, weights)}``
(same shapes); each term is ``sum(values * weights) / sum(weights)`` over the
*global* batch (the weight sum is all-reduced), so a replica's gradient summed
over replicas equals the one-device gradient, whatever the split.
"""

from __future__ import annotations

import math
import os
import shutil
import time

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from bert_tf.errors import cause_line
from bert_tf.training.distribution import is_chief, worker_id
from bert_tf.training.optimization import inner_optimizer

CHECKPOINT_SUBDIR = "checkpoints"
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
)
LOG_SUBDIR = "logs"


class Trainer:
    """Trains a Keras model with a Keras optimizer under a tf.distribute strategy.

    Args:
        model: a Keras model built (variables created) under ``strategy.scope()``.
        optimizer: a Keras optimizer created under ``strategy.scope()``
            (``create_optimizer`` gives BERT's); its ``global_clipnorm`` is made
            exact across replicas here.
        loss_fn: ``(labels, outputs) -> {name: (values, weights)}``, see module doc.
        strategy: the tf.distribute strategy (default: the current one).
        model_dir: where checkpoints/ and logs/ go (None: neither).
        checkpoint_every_n_steps: also checkpoint every N steps (the end of each
            epoch and of training always checkpoint when model_dir is set).
        keep_checkpoints: how many checkpoints to keep.
        jit_compile: XLA-compile the forward and backward pass.
        tensorboard: write TensorBoard scalars under model_dir/logs.
        log_every_n_steps: TensorBoard scalar frequency.
        verbose: 1 shows a Keras progress bar (chief only), 0 is silent.
    """

    def __init__(
        self,
        model,
        optimizer,
        loss_fn,
        strategy=None,
        model_dir=None,
        checkpoint_every_n_steps=None,
        keep_checkpoints=2,
        jit_compile=False,
        tensorboard=True,
        log_every_n_steps=10,
        verbose=1,
    ):
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.strategy = strategy or tf.distribute.get_strategy()
        self.model_dir = model_dir
        self.checkpoint_every_n_steps = checkpoint_every_n_steps
        self.keep_checkpoints = keep_checkpoints
        self.jit_compile = jit_compile
        self.tensorboard = tensorboard
        self.log_every_n_steps = log_every_n_steps
        self.verbose = verbose
        self.chief = is_chief(self.strategy)
        self.num_replicas = self.strategy.num_replicas_in_sync
        self.step = 0  # training batches done (global)
        self.history: list[dict] = []
        self.stop_training = False

        # Keras clips each replica's gradient before summing them; to clip the
        # global gradient we all-reduce first and hand every replica sum/R, with
        # the clip norm divided by R (clipping is homogeneous, so this is exact).
        inner = inner_optimizer(optimizer)
        self._clipnorm = inner.global_clipnorm
        self._reduce_gradients = bool(self._clipnorm) and self.num_replicas > 1
        if self._reduce_gradients:
            inner.global_clipnorm = self._clipnorm / self.num_replicas

        with self.strategy.scope():
            optimizer.build(model.trainable_variables)
        self._forward = (
            tf.function(lambda features: model(features, training=True), jit_compile=True)
            if jit_compile
            else (lambda features: model(features, training=True))
        )
        self._train_function = None
        self._predict_function = None
        self._checkpoint = None
        self._manager = None
        self._saved_step = None  # the step this trainer last saved or restored
        self._early_stopping = None  # EarlyStoppingState variables, checkpointed with the run
        self._writers = {}

    # === The loop ===

    def fit(
        self,
        dataset_fn,
        epochs=1,
        steps_per_epoch=None,
        eval_fn=None,
        callbacks=None,
        early_stopping_patience=None,
        early_stopping_metric=None,
        early_stopping_mode="max",
        resume=True,
    ):
        """Trains for ``epochs`` x ``steps_per_epoch`` global batches.

        Args:
            dataset_fn: ``epoch -> tf.data.Dataset`` of ``(features, labels)``
                global batches; must give the same batches for the same epoch
                (seeded shuffles), which is what makes resume exact.
            steps_per_epoch: batches per epoch (default: the dataset's cardinality).
            eval_fn: ``() -> dict`` of metrics, run after each epoch.
            callbacks: Keras callbacks (on_train_begin/end, on_epoch_begin/end,
                on_train_batch_end get called).
            early_stopping_patience: stop after this many epochs without a better
                ``early_stopping_metric`` (from eval_fn). The model ends with the best
                epoch's weights (stopped early or not); the best metric, the patience
                count and the best weights are checkpointed, so a resumed run stops at
                the same epoch and a finished one does not train on.
            resume: continue from the latest checkpoint in model_dir, if any.

        Returns the list of per-epoch logs.
        """
        if steps_per_epoch is None:
            steps_per_epoch = int(dataset_fn(0).cardinality())
            if steps_per_epoch <= 0:
                raise ValueError(
                    "steps_per_epoch is needed when the dataset size is unknown or infinite"
                )
        if steps_per_epoch <= 0:
            raise ValueError("there is nothing to train on (0 steps per epoch)")
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = epochs * steps_per_epoch
        callbacks = keras.callbacks.CallbackList(callbacks or [], model=self.model)
        if early_stopping_patience:
            self._track_early_stopping()
        if resume:
            self.restore()
        stopper = self._early_stopping if early_stopping_patience else None
        callbacks.on_train_begin()
        start_epoch = self.step // steps_per_epoch
        for epoch in range(start_epoch, epochs):
            if self.stop_training:
                break
            callbacks.on_epoch_begin(epoch)
            logs = self._train_epoch(dataset_fn, epoch, epochs, callbacks)
            if eval_fn is not None:
                eval_logs = eval_fn()
                logs.update({f"eval_{k}": v for k, v in eval_logs.items() if np.isscalar(v)})
                self._write_scalars("eval", eval_logs, self.step)
                if stopper is not None:
                    value = float(eval_logs[early_stopping_metric])
                    best = float(stopper["best"].numpy())
                    better = not bool(stopper["has_best"].numpy()) or (
                        value > best if early_stopping_mode == "max" else value < best
                    )
                    if better:
                        stopper["best"].assign(value)
                        stopper["has_best"].assign(True)
                        stopper["bad_epochs"].assign(0)
                        for variable, weight in zip(stopper["weights"], self.model.get_weights()):
                            variable.assign(weight)
                    else:
                        stopper["bad_epochs"].assign_add(1)
                        if int(stopper["bad_epochs"].numpy()) >= early_stopping_patience:
                            self.stop_training = True
                            stopper["stopped"].assign(True)
            logs["epoch"] = epoch + 1
            self.history.append(logs)
            if self.verbose and self.chief:
                shown = {k: round(float(v), 4) for k, v in logs.items() if k.startswith("eval_")}
                if shown:
                    print(f"epoch {epoch + 1}: {shown}", flush=True)
            callbacks.on_epoch_end(epoch, logs)
            self.save()
        if stopper is not None and bool(stopper["has_best"].numpy()):
            self.model.set_weights([v.numpy() for v in stopper["weights"]])
        self.save()
        callbacks.on_train_end(self.history[-1] if self.history else {})
        self._flush_writers()
        self._remove_worker_checkpoints()
        return self.history

    def _train_epoch(self, dataset_fn, epoch, epochs, callbacks):
        done_in_epoch = self.step - epoch * self.steps_per_epoch
        dataset = dataset_fn(epoch)
        if done_in_epoch:
            dataset = dataset.skip(done_in_epoch)  # exact resume: same batches, same order
        if self.num_replicas > 1:
            # Every worker builds the same batches; each replica takes its slice of each.
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA
            )
            dataset = dataset.with_options(options)
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        train_function = self._make_train_function()
        progbar = None
        if self.verbose and self.chief:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            progbar = keras.utils.Progbar(self.steps_per_epoch, stateful_metrics=["learning_rate"])
            if done_in_epoch:
                progbar.update(done_in_epoch)
        sums, count, started = {}, 0, time.time()
        for _ in range(self.steps_per_epoch - done_in_epoch):
            try:
                losses = train_function(iterator)
            except (StopIteration, tf.errors.OutOfRangeError):
                break
            losses = {k: float(v) for k, v in losses.items()}
            losses["loss"] = sum(losses.values())
            if not math.isfinite(losses["loss"]):
                raise FloatingPointError(
                    f"the training loss became {losses['loss']} at step {self.step + 1}; "
                    "lower --learning_rate, or train in float32"
                )
            self.step += 1
            count += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            lr = self.current_learning_rate()
            if progbar is not None:
                progbar.update(
                    self.step - epoch * self.steps_per_epoch,
                    [("loss", losses["loss"]), ("learning_rate", lr)],
                )
            if self.step % self.log_every_n_steps == 0:
                self._write_scalars("train", {**losses, "learning_rate": lr}, self.step)
            if self.checkpoint_every_n_steps and self.step % self.checkpoint_every_n_steps == 0:
                self.save()
            callbacks.on_train_batch_end(self.step - 1, losses)
            if self.stop_training:
                break
        logs = {k: v / max(count, 1) for k, v in sums.items()}
        logs["seconds"] = time.time() - started
        return logs

    def _make_train_function(self):
        if self._train_function is None:
            strategy = self.strategy

            @tf.function
            def train_function(iterator):
                features, labels = next(iterator)
                per_replica = strategy.run(self._replica_step, args=(features, labels))
                return {
                    k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                    for k, v in per_replica.items()
                }

            self._train_function = train_function
        return self._train_function

    def _replica_step(self, features, labels):
        ctx = tf.distribute.get_replica_context()
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            outputs = self._forward(features)
            losses = {}
            for name, (values, weights) in self.loss_fn(labels, outputs).items():
                weights = tf.cast(weights, tf.float32)
                numerator = tf.reduce_sum(tf.cast(values, tf.float32) * weights)
                denominator = ctx.all_reduce(
                    tf.distribute.ReduceOp.SUM, tf.stop_gradient(tf.reduce_sum(weights))
                )
                losses[name] = tf.math.divide_no_nan(numerator, denominator)
            loss = tf.add_n(list(losses.values()))
            scaled_loss = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled_loss, variables)
        # Dense embedding gradients: Keras's global norm of tf.IndexedSlices counts a repeated
        # token's rows separately, and its Adam updates IndexedSlices lazily (rows absent from
        # the batch keep stale moments); dense gives BERT's / torch's AdamW, with or without
        # clipping and gradient accumulation alike.
        grads = [g if g is None else tf.convert_to_tensor(g) for g in grads]
        if self._reduce_gradients:
            present = [i for i, g in enumerate(grads) if g is not None]
            reduced = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
            grads = list(grads)
            for i, g in zip(present, reduced):
                grads[i] = g / self.num_replicas
        self.optimizer.apply(grads, variables)
        return losses

    def current_learning_rate(self) -> float:
        inner = inner_optimizer(self.optimizer)
        return float(keras.ops.convert_to_numpy(inner.learning_rate))

    # === Prediction ===

    def predict(self, dataset):
        """Runs the model (training=False) over a dataset of features or (features, labels).

        Yields ``(outputs, labels)`` per batch as numpy (labels None when absent).
        Runs on this process's default device, outside the strategy (every
        worker may call it; only the chief should write results).
        """
        if self._predict_function is None:
            self._predict_function = tf.function(
                lambda f: self.model(f, training=False),
                reduce_retracing=True,
                jit_compile=self.jit_compile or None,
            )
        for batch in dataset:
            features, labels = batch if isinstance(batch, tuple) else (batch, None)
            outputs = self._predict_function(features)
            yield (
                keras.tree.map_structure(np.asarray, outputs),
                (None if labels is None else keras.tree.map_structure(np.asarray, labels)),
            )

    # === Checkpoints ===

    @property
    def checkpoint_dir(self):
        if self.model_dir is None:
            return None
        if self.chief:
            return os.path.join(self.model_dir, CHECKPOINT_SUBDIR)
        # Non-chief workers must save too (collectives), into a scratch folder.
        return os.path.join(
            self.model_dir, f".{CHECKPOINT_SUBDIR}_worker{worker_id(self.strategy)}"
        )

    def _get_manager(self):
        if self._manager is None and self.model_dir is not None:
            self._step_variable = tf.Variable(
                0, dtype=tf.int64, trainable=False, name="trainer_step"
            )
            # Every model variable (incl. dropout seed states) and every optimizer
            # variable (incl. iterations, accumulators, loss scale): exact resume.
            tracked = {}
            if self._early_stopping is not None:
                tracked["early_stopping"] = tf.train.Checkpoint(
                    **{k: v for k, v in self._early_stopping.items() if k != "weights"},
                    weights=list(self._early_stopping["weights"]),
                )
            self._checkpoint = tf.train.Checkpoint(
                model_variables=list(self.model.variables),
                optimizer_variables=list(self.optimizer.variables),
                step=self._step_variable,
                **tracked,
            )
            self._manager = tf.train.CheckpointManager(
                self._checkpoint, self.checkpoint_dir, max_to_keep=self.keep_checkpoints
            )
        return self._manager

    def _track_early_stopping(self):
        """Creates the early-stopping variables (once), so the checkpoint holds them."""
        if self._early_stopping is not None:
            return
        with tf.init_scope(), tf.device("/cpu:0"):  # a host copy of the best weights
            self._early_stopping = {
                "best": tf.Variable(0.0, dtype=tf.float64, trainable=False),
                "has_best": tf.Variable(False, trainable=False),
                "bad_epochs": tf.Variable(0, dtype=tf.int64, trainable=False),
                "stopped": tf.Variable(False, trainable=False),
                "weights": [
                    tf.Variable(np.zeros(w.shape, w.dtype), trainable=False)
                    for w in self.model.get_weights()
                ],
            }
        self._manager = None  # rebuilt with them

    def save(self):
        """Writes a checkpoint of the current step (no-op without model_dir, or when this trainer
        saved or restored this very step already; a checkpoint of the same number from another
        run in model_dir is overwritten, never taken for this one)."""
        manager = self._get_manager()
        if manager is None:
            return None
        if self._saved_step == self.step and manager.latest_checkpoint:
            return manager.latest_checkpoint
        self._step_variable.assign(self.step)
        path = manager.save(checkpoint_number=self.step)
        self._saved_step = self.step
        return path

    def restore(self) -> bool:
        """Restores the latest checkpoint of model_dir (the chief's); returns whether one was
        found."""
        manager = self._get_manager()
        if manager is None:
            return False
        latest = tf.train.latest_checkpoint(os.path.join(self.model_dir, CHECKPOINT_SUBDIR))
        if latest is None:
            return False
        try:
            self._checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
            raise ValueError(
                f"checkpoint {latest} does not fit this model/optimizer "
                f"(another size or task?): {cause_line(e)}"
            ) from e
        self.step = int(self._step_variable.numpy())
        self._saved_step = self.step
        if self._early_stopping is not None and bool(self._early_stopping["stopped"].numpy()):
            self.stop_training = True
        if self.verbose and self.chief:
            print(f"resumed from {latest} at step {self.step}", flush=True)
        return True

    def _remove_worker_checkpoints(self):
        if self.model_dir is not None and not self.chief:
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

    # === TensorBoard ===

    def _write_scalars(self, split, values, step):
        if not (self.tensorboard and self.model_dir and self.chief):
            return
        writer = self._writers.get(split)
        if writer is None:
            writer = self._writers[split] = tf.summary.create_file_writer(
                os.path.join(self.model_dir, LOG_SUBDIR, split)
            )
        with writer.as_default(step=step):
            for k, v in values.items():
                if np.isscalar(v) and isinstance(v, (int, float, np.number)):
                    # tf.summary.scalar needs the tensorboard package; this core op
                    # writes the same event (scalars plugin) without it.
                    tf.summary.write(
                        k, tf.constant(float(v), tf.float32), metadata=_SCALAR_METADATA
                    )

    def _flush_writers(self):
        for writer in self._writers.values():
            writer.flush()
