"""TF Serving configuration files written next to an export.

- ``models.config``: a ModelServerConfig text proto with one entry per model
  under the export base (``--model_config_file``); entries for other models
  are kept when a new one is added.
- ``batching_parameters.txt``: server-side batching (``--enable_batching
  --batching_parameters_file``), tuned for small BERT models on CPU.

Exports into one base folder may run at once (several processes): each
read-modify-write of ``models.config`` holds an fcntl lock on
``.models.config.lock`` beside it, so no entry is lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

MODELS_CONFIG = "models.config"
BATCHING_PARAMETERS = "batching_parameters.txt"
LOCK_NAME = ".models.config.lock"
_held = threading.local()  # export folders whose lock this thread holds (the lock is re-entrant)
# Where the docker image expects models: `-v BASE:/models`.
DEFAULT_SERVING_ROOT = "/models"

BATCHING_PARAMETERS_TEXT = """\
# TF Serving server-side batching (BatchingParameters text proto).
# Use with: --enable_batching=true --batching_parameters_file=<this file>
# Largest batch one session run gets; 32 is where a small BERT's CPU throughput levels off.
max_batch_size { value: 32 }
# How long a partial batch waits for more requests: bounds the added p50 latency.
batch_timeout_micros { value: 2000 }
# Requests queued beyond this are refused (UNAVAILABLE) instead of piling up.
max_enqueued_batches { value: 100 }
# Threads running batches; set to the number of cores serving this model.
num_batch_threads { value: 4 }
# serve_token_ids takes [B, T] inputs whose T differs between requests.
pad_variable_length_inputs: true
# Fewer distinct batch shapes: each is padded up to the next of these sizes.
allowed_batch_sizes: 1
allowed_batch_sizes: 2
allowed_batch_sizes: 4
allowed_batch_sizes: 8
allowed_batch_sizes: 16
allowed_batch_sizes: 32
"""


def _atomic_write(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it 0600; the server may run as another user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def config_lock(export_dir):
    """Holds the exclusive lock on EXPORT_DIR's models.config (fcntl.flock; waits for holders).

    Re-entrant within a thread. The lock file stays (removing it would race a waiting process).
    """
    key = os.path.abspath(export_dir)
    held = _held.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    os.makedirs(key, exist_ok=True)
    with open(os.path.join(key, LOCK_NAME), "a", encoding="utf-8") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def models_config_text(config: model_server_config_pb2.ModelServerConfig) -> str:
    return text_format.MessageToString(config)


def write_models_config(export_dir, model_name, serving_root=DEFAULT_SERVING_ROOT):
    """Adds (or refreshes) ``model_name`` in EXPORT_DIR/models.config; returns the file path.

    ``base_path`` is ``serving_root/model_name`` as the server sees it (``/models/NAME``
    in the docker image with ``-v EXPORT_DIR:/models``); pass the export's absolute
    directory as ``serving_root`` for a tensorflow_model_server on this machine.
    Holds config_lock for the read-modify-write.
    """
    with config_lock(export_dir):
        return _add_model(export_dir, model_name, serving_root)


def _add_model(export_dir, model_name, serving_root):
    path = os.path.join(export_dir, MODELS_CONFIG)
    config = model_server_config_pb2.ModelServerConfig()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            try:
                text_format.Parse(f.read(), config)
            except text_format.ParseError as e:
                raise ValueError(f"{path} is not a ModelServerConfig text proto: {e}") from e
    entries = config.model_config_list.config
    entry = next((c for c in entries if c.name == model_name), None)
    if entry is None:
        entry = entries.add()
        entry.name = model_name
    entry.base_path = serving_root.rstrip("/") + "/" + model_name
    entry.model_platform = "tensorflow"
    _atomic_write(
        path,
        "# TF Serving --model_config_file, written by bert-tf-export.\n"
        + models_config_text(config),
    )
    return path


def write_batching_parameters(export_dir):
    """Writes EXPORT_DIR/batching_parameters.txt unless one is there (it may be tuned by hand)."""
    path = os.path.join(export_dir, BATCHING_PARAMETERS)
    if not os.path.exists(path):
        _atomic_write(path, BATCHING_PARAMETERS_TEXT)
    return path
