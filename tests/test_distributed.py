"""tf.distribute: 2 logical CPUs agree with 1 device; 2 worker processes train, checkpoint, resume.

Each test runs its training in subprocesses (logical devices and TF_CONFIG are
process-wide), on the tiny synthetic classifier of tests/training_helpers.py,
with gradient clipping on (max_grad_norm below the gradient norm) so that the
cross-replica clipping is exercised too.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.distributed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "distributed_worker.py")
CLIP = "0.05"  # the tiny model's gradient norm is ~0.13: clipping is active
TOTAL_STEPS = 9


def _env(**extra):
    env = dict(
        os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES=""
    )
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _weights(path):
    data = np.load(path)
    return [data[f"w{i}"] for i in range(len([k for k in data.files if k.startswith("w")]))], data


def _assert_same(a, b, atol=2e-6):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol)


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_mirrored_two_logical_cpus_matches_one_device(tmp_path):
    out = str(tmp_path / "run.npz")
    subprocess.run(
        [
            sys.executable,
            WORKER,
            "--mode=single,mirrored",
            "--logical_cpus=2",
            f"--max_grad_norm={CLIP}",
            f"--out={out}",
        ],
        check=True,
        env=_env(),
        cwd=ROOT,
        timeout=300,
    )
    single, s = _weights(out.replace(".npz", ".single.npz"))
    mirrored, m = _weights(out.replace(".npz", ".mirrored.npz"))
    assert int(s["replicas"]) == 1 and int(m["replicas"]) == 2
    np.testing.assert_allclose(s["losses"], m["losses"], rtol=1e-5)
    _assert_same(single, mirrored)


def _run_workers(tmp_path, model_dir, tag, kill_at=None):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        cmd = [
            sys.executable,
            WORKER,
            "--mode=multi_worker",
            f"--max_grad_norm={CLIP}",
            f"--model_dir={model_dir}",
            f"--out={tmp_path}/{tag}_worker{index}.npz",
        ]
        if kill_at:
            cmd.append(f"--kill_at={kill_at}")
        procs.append(
            subprocess.Popen(
                cmd,
                env=_env(TF_CONFIG=tf_config),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = []
    for p in procs:
        try:
            outputs.append(p.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    return [p.returncode for p in procs], outputs


def _single_device_run(out):
    """The worker script's training, in this process (default strategy; saves a process start)."""
    import argparse

    from bert_tf.training import Trainer, create_optimizer, get_strategy
    from tests import distributed_worker
    from tests.training_helpers import classification_loss, dataset_fn, tiny_classifier

    args = argparse.Namespace(
        max_grad_norm=float(CLIP), model_dir=None, checkpoint_every=2, kill_at=None
    )
    distributed_worker.train(
        "single",
        out,
        args,
        Trainer,
        create_optimizer,
        get_strategy,
        classification_loss,
        dataset_fn,
        tiny_classifier,
    )


def test_multi_worker_trains_checkpoints_and_resumes_like_one_device(tmp_path):
    model_dir = str(tmp_path / "run")
    # Two workers, killed after step 5 (last checkpoint: step 4).
    codes, outputs = _run_workers(tmp_path, model_dir, "killed", kill_at=5)
    # Each worker exits at step 5 (code 3), or fails first when its peer is gone.
    assert all(code != 0 for code in codes), outputs
    assert os.path.exists(os.path.join(model_dir, "checkpoints", "ckpt-4.index")), os.listdir(
        model_dir
    )
    # Two fresh workers resume from it and finish.
    codes, outputs = _run_workers(tmp_path, model_dir, "resumed")
    assert codes == [0, 0], outputs
    w0, d0 = _weights(str(tmp_path / "resumed_worker0.npz"))
    w1, _ = _weights(str(tmp_path / "resumed_worker1.npz"))
    assert int(d0["replicas"]) == 2 and int(d0["step"]) == TOTAL_STEPS
    _assert_same(w0, w1, atol=0)  # the workers agree exactly
    assert not os.path.exists(os.path.join(model_dir, ".checkpoints_worker1"))  # scratch removed

    # And the result equals one uninterrupted single-device run of the same global batches.
    ref = str(tmp_path / "single.npz")
    _single_device_run(ref)
    single, _ = _weights(ref)
    _assert_same(single, w0)


FIT_WORKER = os.path.join(ROOT, "tests", "fit_worker.py")


def _fit(tmp_path, max_grad_norm):
    out = str(tmp_path / "fit.npz")
    subprocess.run(
        [sys.executable, FIT_WORKER, f"--out={out}", f"--max_grad_norm={max_grad_norm}"],
        check=True,
        env=_env(),
        cwd=ROOT,
        timeout=300,
    )
    single, s = _weights(out.replace(".npz", ".single.npz"))
    mirrored, m = _weights(out.replace(".npz", ".mirrored.npz"))
    assert int(s["replicas"]) == 1 and int(m["replicas"]) == 2
    # The word-embedding gradient is a tf.IndexedSlices on both.
    assert bool(s["sparse_embedding_gradient"]) and bool(m["sparse_embedding_gradient"])
    assert s["losses"][-1] < s["losses"][0]  # it trains
    return single, s, mirrored, m


def test_model_fit_under_mirrored_strategy_matches_one_device(tmp_path):
    """Keras model.fit, 2 replicas x 8 vs 1 device x 16, word-embedding gradients as IndexedSlices.

    keras-team/keras #21069: sparse (IndexedSlices) gradients under MirroredStrategy. Measured max
    |weight diff| after 9 steps: 1.2e-7.
    """
    single, s, mirrored, m = _fit(tmp_path, max_grad_norm=0)
    np.testing.assert_allclose(s["losses"], m["losses"], rtol=1e-5)
    _assert_same(single, mirrored)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Keras model.fit applies global_clipnorm to each replica's gradients before they are "
        "summed, so 2 replicas clip differently from 1 device (measured max |weight diff| 0.02); "
        "bert_tf's Trainer clips after the all-reduce "
        "(test_mirrored_two_logical_cpus_matches_one_device)"
    ),
)
def test_model_fit_under_mirrored_strategy_with_active_clipping_matches_one_device(tmp_path):
    single, s, mirrored, m = _fit(tmp_path, max_grad_norm=CLIP)
    _assert_same(single, mirrored)
