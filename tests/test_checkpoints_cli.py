"""bert-tf-convert, run as a subprocess on tiny folders."""

import os
import subprocess
import sys

import numpy as np
import pytest

from bert_tf.checkpoints import detect_checkpoint_format
from bert_tf.models import BertEncoder
from tests.checkpoint_fixtures import hf_state_dict, write_hf_folder


def _convert(*args):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "bert_tf.cli.convert", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_convert_hf_to_google_to_bert_tf_to_hf(tmp_path, tiny_config, tiny_inputs):
    source = write_hf_folder(
        str(tmp_path / "hf"), tiny_config, hf_state_dict(tiny_config, heads=True)
    )
    google, ours, hf = (str(tmp_path / n) for n in ("google", "ours", "hf_again"))
    # One process for the three steps would hide per-call state; each call is its own CLI run.
    result = _convert(f"--input={source}", f"--output={google}", "--format=google")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(google)) == [
        ".bert_tf_manifest.json",
        "bert_config.json",
        "bert_model.ckpt.data-00000-of-00001",
        "bert_model.ckpt.index",
        "tokenizer_config.json",
        "vocab.txt",
    ]
    result = _convert(f"--input={google}", f"--output={ours}")
    assert result.returncode == 0, result.stderr
    assert "left out 7 head tensor(s)" in result.stderr  # MLM + NSP do not fit an encoder folder
    result = _convert(
        f"--input={ours}", f"--output={hf}", "--format=huggingface", "--hf_prefix=yes"
    )
    assert result.returncode == 0, result.stderr
    assert (
        detect_checkpoint_format(google) == "google" and detect_checkpoint_format(ours) == "bert_tf"
    )
    assert detect_checkpoint_format(hf) == "huggingface"
    reference = BertEncoder.from_pretrained(source)(tiny_inputs)
    for folder in (google, ours, hf):
        out = BertEncoder.from_pretrained(folder)(tiny_inputs)
        np.testing.assert_array_equal(
            out["sequence_output"].numpy(), reference["sequence_output"].numpy()
        )
        np.testing.assert_array_equal(
            out["pooled_output"].numpy(), reference["pooled_output"].numpy()
        )


def test_convert_errors_are_one_line(tmp_path, tiny_config):
    state = hf_state_dict(tiny_config)
    state["encoder.layer.0.output.dense.weight"] = np.zeros((3, 3), np.float32)
    bad = write_hf_folder(str(tmp_path / "bad"), tiny_config, state)
    out = str(tmp_path / "out")
    result = _convert(f"--input={bad}", f"--output={out}")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "encoder.layer.0.output.dense.weight has shape (3, 3)" in lines[0]
    assert "Traceback" not in result.stderr
    assert not os.path.exists(out)
    result = _convert(f"--input={tmp_path / 'missing'}", f"--output={out}")
    assert result.returncode == 1 and "error: model folder" in result.stderr


def test_console_script_help_lists_the_flags():
    script = os.path.join(os.path.dirname(sys.executable), "bert-tf-convert")
    if not os.path.exists(script):
        pytest.skip("bert-tf-convert is not installed in this environment")
    result = subprocess.run(
        [script, "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, KERAS_BACKEND="tensorflow"),
    )
    assert "--input" in result.stdout and "--format" in result.stdout
