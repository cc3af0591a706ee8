"""bert-tf-serve-local: the development stand-in for TF Serving, as a named, documented tool."""

import json
import os
import pathlib
import subprocess
import sys
import urllib.request

import pytest
import tensorflow as tf

from export import serve_local

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _toy_export(base):
    """base/toy/1: a SavedModel whose serving_default doubles ``x`` [B] float32."""
    module = tf.Module()
    module.double = tf.function(
        lambda x: {"y": 2.0 * x}, input_signature=[tf.TensorSpec([None], tf.float32, name="x")]
    )
    tf.saved_model.save(
        module, os.path.join(base, "toy", "1"), signatures={"serving_default": module.double}
    )


def test_local_server_answers_rest_and_closes(tmp_path):
    _toy_export(str(tmp_path))
    with serve_local.LocalServer(str(tmp_path), "toy") as server:
        assert server.versions == [1] and server.host == "127.0.0.1"
        request = urllib.request.Request(
            f"http://{server.rest_address}/v1/models/toy:predict",
            data=json.dumps({"inputs": {"x": [1.0, 2.5]}}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert json.load(reply) == {"outputs": {"y": [2.0, 5.0]}}
    assert server._grpc_server is None and server._rest_server is None


def test_local_server_without_versions_is_a_clear_error(tmp_path):
    (tmp_path / "toy").mkdir()
    with pytest.raises(ValueError, match="no version folder"):
        serve_local.LocalServer(str(tmp_path), "toy")


def test_help_says_development_not_production():
    assert "FOR DEVELOPMENT, NOT PRODUCTION" in serve_local.__doc__
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    result = subprocess.run(
        [sys.executable, "-m", "export.serve_local", "--helpshort"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert "FOR DEVELOPMENT, NOT PRODUCTION" in result.stdout and "--export_dir" in result.stdout


def test_serve_local_is_a_console_script_and_benchmarks_is_not_installed():
    setup = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    assert "bert-tf-serve-local = export.serve_local:run" in setup
    packages = setup.split("[options.packages.find]")[1].split("\n[")[0]
    assert "benchmarks" not in [line.strip() for line in packages.splitlines()]
