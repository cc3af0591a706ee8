"""Quiet start-up: TensorFlow loads without its C++ start-up noise, unless asked for it.

TensorFlow prints 4-8 lines on stderr as it loads (a CUDA stub notice, "All log
messages before absl::InitializeLog() ...", the oneDNN notice, "failed call to
cuInit: ... UNKNOWN ERROR (303)" on a CPU-only machine). None is an error, but
they read like one. Some come from C++ static initialisers before any log level
is read, so setting ``TF_CPP_MIN_LOG_LEVEL`` alone cannot hide them: this module
also loads TensorFlow (and finds its devices, which is when cuInit runs) with
file descriptor 2 sent to a temporary file, then writes back every captured line
that is not one of those known notices. Warnings and errors of your own run,
progress bars and results are untouched.

Imported first by ``bert_tf/__init__.py`` (so by every CLI, the demo and any
``import bert_tf``), before TensorFlow loads; the CLIs' ``main`` (through
``bert_tf.cli.common.main_wrapper``) and the demo also call ``quiet_absl_logging()``
for TensorFlow's Python INFO lines. To see everything TensorFlow says:

    BERT_TF_VERBOSE=1 bert-tf-finetune ...
    bert-tf-finetune --verbosity=1 ...      # absl's flag, also read here
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile

from absl import flags as absl_flags
from absl import logging as absl_logging

VERBOSE_ENV = "BERT_TF_VERBOSE"
# Default C++ log level when quiet: 2 hides INFO and WARNING, keeps ERROR and FATAL.
QUIET_TF_CPP_MIN_LOG_LEVEL = "2"
# The start-up notices hidden when quiet (each is harmless; anything else is written back).
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|cudart_stub\.cc|cuda_platform\.cc|cuda_diagnostics\.cc|cuda_executor\.cc"
    r"|failed call to cuInit|Could not find cuda drivers"
    r"|oneDNN custom operations are on"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|TF-TRT Warning: Could not find TensorRT"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .* rebuild TensorFlow"
)


def _verbosity_from_argv(argv):
    """absl's --verbosity / -v value in argv (both "--verbosity=1" and "-v 1"), or None."""
    for i, arg in enumerate(argv):
        for name in ("--verbosity", "-v"):
            if arg == name and i + 1 < len(argv):
                value = argv[i + 1]
            elif arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
            else:
                continue
            try:
                return int(value)
            except ValueError:
                return None
    return None


def is_verbose(environ=None, argv=None) -> bool:
    """True when BERT_TF_VERBOSE is set to anything but ""/0/false/no, or --verbosity >= 1."""
    environ = os.environ if environ is None else environ
    argv = sys.argv if argv is None else argv
    if environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return True
    verbosity = _verbosity_from_argv(argv[1:])
    return verbosity is not None and verbosity >= 1


def _replay(captured: str) -> None:
    kept = [line for line in captured.splitlines(keepends=True) if not NOISE.search(line)]
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()


def load_tensorflow_quietly() -> None:
    """Imports TensorFlow and lists its devices with stderr captured; writes back all but NOISE."""
    module = sys.modules.get("tensorflow")
    if module is not None and not hasattr(module, "config"):
        return  # a bare stand-in package (export/client_cli.py imports protos without the runtime)
    # Also when TensorFlow is already imported: finding the devices (cuInit) may not have run yet.
    try:
        saved_fd = os.dup(2)
    except OSError:  # no usable stderr: nothing to hide
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # device discovery: where cuInit reports
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            capture.seek(0)
            _replay(capture.read().decode("utf-8", errors="replace"))


def quiet_absl_logging() -> None:
    """Inside absl's app.run: hides Python INFO logs (TensorFlow logs through absl: "Sharding
    callback duration", "Assets written to" ...), unless BERT_TF_VERBOSE is set or --verbosity
    was given. app.run sets INFO after parsing the flags, so a CLI's main calls this first."""
    if is_verbose():
        return
    if "verbosity" in absl_flags.FLAGS and absl_flags.FLAGS["verbosity"].present:
        return
    absl_logging.set_verbosity(absl_logging.WARNING)


def quiet_start() -> None:
    """Quiet defaults, then TensorFlow loaded quietly; with BERT_TF_VERBOSE=1, does nothing."""
    if is_verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_TF_CPP_MIN_LOG_LEVEL)
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    load_tensorflow_quietly()
    # TensorFlow's Python INFO lines (e.g. "Sharding callback duration" on every checkpoint save),
    # which absl's app.run would print; a level the program set itself is kept.
    tf_logger = logging.getLogger("tensorflow")
    if tf_logger.level == logging.NOTSET:
        tf_logger.setLevel(logging.WARNING)


os.environ.setdefault("KERAS_BACKEND", "tensorflow")
quiet_start()
