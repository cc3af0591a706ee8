"""One training process for the distributed tests (run as a script, in a subprocess).

python tests/distributed_worker.py --mode=single|mirrored|multi_worker[,...] --out=F.npz
    [--model_dir=D] [--kill_at=K] [--logical_cpus=2] [--max_grad_norm=X]
Writes the final weights and per-epoch losses to --out (skipped when killed);
with several modes, one after the other in this process, to OUT with the mode
appended (F.single.npz, F.mirrored.npz).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

EPOCHS = 3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model_dir")
    parser.add_argument("--kill_at", type=int)
    parser.add_argument("--logical_cpus", type=int, default=1)
    parser.add_argument("--max_grad_norm", type=float, default=1.0)
    parser.add_argument("--checkpoint_every", type=int, default=2)
    args = parser.parse_args()

    if args.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )

    from bert_tf.training import Trainer, create_optimizer, get_strategy
    from tests.training_helpers import classification_loss, dataset_fn, tiny_classifier

    modes = args.mode.split(",")
    for mode in modes:
        out = args.out if len(modes) == 1 else args.out.replace(".npz", f".{mode}.npz")
        train(
            mode,
            out,
            args,
            Trainer,
            create_optimizer,
            get_strategy,
            classification_loss,
            dataset_fn,
            tiny_classifier,
        )


def train(
    mode,
    out,
    args,
    Trainer,
    create_optimizer,
    get_strategy,
    classification_loss,
    dataset_fn,
    tiny_classifier,
):
    strategy = get_strategy(
        {"single": "default", "mirrored": "mirrored", "multi_worker": "multi_worker"}[mode]
    )
    with strategy.scope():
        model = tiny_classifier(seed=1, dropout=0.0)  # no dropout: replicas draw different masks
        optimizer = create_optimizer(
            5e-3, EPOCHS * 3, warmup_ratio=0.2, max_grad_norm=args.max_grad_norm
        )
    trainer = Trainer(
        model,
        optimizer,
        classification_loss,
        strategy=strategy,
        model_dir=args.model_dir,
        checkpoint_every_n_steps=args.checkpoint_every,
        verbose=0,
    )

    class KillAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if args.kill_at and trainer.step == args.kill_at:
                print(f"killed at step {trainer.step}", flush=True)
                os._exit(3)  # like a preemption: no cleanup, no final checkpoint

    history = trainer.fit(dataset_fn(batch_size=16), epochs=EPOCHS, callbacks=[KillAt()])
    np.savez(
        out,
        losses=np.array([h["loss"] for h in history]),
        step=trainer.step,
        replicas=strategy.num_replicas_in_sync,
        **{f"w{i}": w for i, w in enumerate(model.get_weights())},
    )
    print(
        f"{mode} done: {trainer.step} steps on {strategy.num_replicas_in_sync} replicas", flush=True
    )


if __name__ == "__main__":
    main()
