"""model.fit on the tiny classifier, in a subprocess (logical devices are per process).

python tests/fit_worker.py --out=F.npz [--max_grad_norm=X]
Makes 2 logical CPUs, then trains the same tiny model with the same data twice with Keras
``model.fit``: on one device and under MirroredStrategy over the 2 CPUs (global batch 16 = 2 x 8).
Writes F.single.npz and F.mirrored.npz: final weights (w0, w1, ...), per-epoch losses, the number
of replicas and whether the token embedding's gradient is a tf.IndexedSlices.
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
    parser.add_argument("--out", required=True)
    parser.add_argument("--max_grad_norm", type=float, default=0.0)
    args = parser.parse_args()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from bert_tf.training import create_optimizer
    from tests.training_helpers import dataset_fn, tiny_classifier

    for mode in ("single", "mirrored"):
        strategy = (
            tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
            if mode == "mirrored"
            else tf.distribute.get_strategy()
        )
        with strategy.scope():
            model = tiny_classifier(
                seed=1, dropout=0.0
            )  # no dropout: replicas draw different masks
            model.compile(
                optimizer=create_optimizer(
                    5e-3, EPOCHS * 3, warmup_ratio=0.2, max_grad_norm=args.max_grad_norm or None
                ),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
        make = dataset_fn(batch_size=16)
        losses = [
            model.fit(make(epoch), epochs=1, verbose=0).history["loss"][0]
            for epoch in range(EPOCHS)
        ]
        features, labels = next(iter(make(0)))
        table = model.encoder.embeddings.word_embeddings.embeddings
        with tf.GradientTape() as tape:
            loss = keras.losses.sparse_categorical_crossentropy(
                labels, model(features), from_logits=True
            )
        sparse = isinstance(tape.gradient(loss, table), tf.IndexedSlices)
        weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
        np.savez(
            args.out.replace(".npz", f".{mode}.npz"),
            losses=np.array(losses),
            replicas=strategy.num_replicas_in_sync,
            sparse_embedding_gradient=sparse,
            **weights,
        )


if __name__ == "__main__":
    main()
