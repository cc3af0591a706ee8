"""Strategy and precision setup: which devices train, and in which float type."""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def get_strategy(name: str = "default", tpu_address: str | None = None) -> tf.distribute.Strategy:
    """The tf.distribute strategy for ``--strategy``.

    default: one device (the first GPU if any, else CPU); mirrored: all local GPUs
    (or every logical CPU device when there is no GPU); multi_worker: one process per
    machine, cluster from the ``TF_CONFIG`` environment variable; tpu: a TPU at
    ``tpu_address`` ("" or "local" for a TPU VM). The batch size is always global.
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {list(STRATEGIES)}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        if not devices:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--strategy=multi_worker needs the TF_CONFIG environment variable (cluster and "
                "task)"
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as e:
            raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from e
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
        tpu="" if tpu_address in (None, "local") else tpu_address
    )
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def set_precision(policy: str = "float32") -> None:
    """Sets Keras's global dtype policy: float32, mixed_float16 or mixed_bfloat16.

    Variables stay float32; with mixed_float16 use a LossScaleOptimizer
    (create_optimizer does it). Models built afterwards pick the policy up.
    """
    if policy not in PRECISIONS:
        raise ValueError(f"unknown mixed_precision {policy!r}; choose one of {list(PRECISIONS)}")
    keras.mixed_precision.set_global_policy(policy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes logs, checkpoints and results (always true off
    multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type in (None, "chief") or (
        task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )


def worker_id(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 0
    return int(resolver.task_id or 0)
