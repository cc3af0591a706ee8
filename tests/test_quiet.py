"""Quiet start-up: the CLIs and the demo open without TensorFlow's C++ start-up notices."""

import logging
import os
import pathlib
import re
import subprocess
import sys

from bert_tf import _quiet

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Every line TensorFlow prints while loading on a CPU machine matches one of these.
STARTUP_NOISE = re.compile(
    r"absl::InitializeLog|cudart_stub|cuInit|cuda_|oneDNN|cpu_feature_guard"
    r"|rebuild TensorFlow|Could not find cuda"
)
CLI_MODULES = [
    "bert_tf.cli.vocab",
    "bert_tf.cli.convert",
    "bert_tf.cli.finetune",
    "bert_tf.cli.pretrain",
    "export.cli",
    "export.serve_local",
    "bert_tf.demo",
]


def _env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", _quiet.VERBOSE_ENV, "GRPC_VERBOSITY")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def test_cli_starts_without_tensorflow_notices():
    # One CLI run (each costs a TensorFlow start); the others import the same module first
    # (test_every_cli_imports_the_quiet_module_first).
    # A fast failing command: the flags are parsed after every import (TensorFlow's included).
    result = subprocess.run(
        [sys.executable, "-m", "bert_tf.cli.vocab", "--no_such_flag"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 1
    assert "no_such_flag" in result.stderr  # the message that matters is kept
    noise = [line for line in result.stderr.splitlines() if STARTUP_NOISE.search(line)]
    assert noise == []


def test_verbose_env_brings_tensorflow_logs_back():
    # Quiet mode sets TF_CPP_MIN_LOG_LEVEL=2; verbose mode leaves TensorFlow's default.
    code = (
        "import os, sys, bert_tf; "
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), 'tensorflow' in sys.modules)"
    )
    verbose = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(BERT_TF_VERBOSE="1"),
        cwd=ROOT,
        timeout=300,
    )
    assert verbose.stdout.split() == ["None", "True"]  # TensorFlow's own default level


def test_is_verbose_reads_env_and_verbosity_flag():
    assert not _quiet.is_verbose({}, ["prog"])
    assert not _quiet.is_verbose({"BERT_TF_VERBOSE": "0"}, ["prog", "--verbosity=0"])
    assert _quiet.is_verbose({"BERT_TF_VERBOSE": "1"}, ["prog"])
    assert _quiet.is_verbose({}, ["prog", "--verbosity=1"])
    assert _quiet.is_verbose({}, ["prog", "-v", "2"])
    assert not _quiet.is_verbose({}, ["prog", "--verbosity=-1"])


def test_replay_drops_only_the_known_notices(capsys):
    _quiet._replay(
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
        "E0000 00:00:1.0 1 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n"
        "UserWarning: something the user should see\n"
    )
    assert capsys.readouterr().err == "UserWarning: something the user should see\n"


def test_every_cli_imports_the_quiet_module_first():
    for module in CLI_MODULES:
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        imports = [
            line
            for line in source.splitlines()
            if line.startswith(("import bert_tf", "from bert_tf", "from export"))
        ]
        assert imports and imports[0].startswith("import bert_tf._quiet"), module


def test_quiet_start_hides_tensorflow_python_info_lines(monkeypatch):
    logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.delenv(_quiet.VERBOSE_ENV, raising=False)
    monkeypatch.delenv("GRPC_VERBOSITY", raising=False)  # quiet_start sets it; restored after
    monkeypatch.setattr(sys, "argv", ["prog"])
    _quiet.quiet_start()
    assert logger.level == logging.WARNING
    monkeypatch.setattr(logger, "level", logging.INFO)  # a level the program chose stays
    _quiet.quiet_start()
    assert logger.level == logging.INFO


def test_quiet_absl_logging_hides_info_unless_asked(monkeypatch):
    from absl import logging as absl_logging

    monkeypatch.delenv(_quiet.VERBOSE_ENV, raising=False)
    monkeypatch.setattr(sys, "argv", ["prog"])
    before = absl_logging.get_verbosity()
    try:
        absl_logging.set_verbosity(absl_logging.INFO)  # what absl's app.run leaves
        _quiet.quiet_absl_logging()
        assert absl_logging.get_verbosity() == absl_logging.WARNING
        absl_logging.set_verbosity(absl_logging.INFO)
        monkeypatch.setenv(_quiet.VERBOSE_ENV, "1")
        _quiet.quiet_absl_logging()
        assert absl_logging.get_verbosity() == absl_logging.INFO
    finally:
        absl_logging.set_verbosity(before)
