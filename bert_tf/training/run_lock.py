"""RunLock: one training run at a time in an output folder (OUTPUT_DIR/run.lock).

Two runs writing one ``--output_dir`` would mix their checkpoints and results.
The lock is a file created atomically (``O_CREAT | O_EXCL``) holding the
owner's pid, host and start time; a second run fails at once with a one-line
error naming the owner. A lock left by a dead process on this host (a kill -9,
a power cut) is taken over with a warning; one from another host is refused
(its process cannot be checked from here), naming the file to delete.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import socket
import time
import uuid
import warnings

LOCK_NAME = "run.lock"
_REMOTE_PREFIXES = ("gs://", "s3://", "hdfs://", "http://", "https://")


class RunLock:
    """Holds ``folder/run.lock`` between ``acquire()`` and ``release()`` (or as a context manager).

    Args:
        folder: the run's output folder; created when missing. It must be a local
            (or mounted) folder: remote URLs (``gs://...``) are refused, because the
            model folder and results are written with local file operations.
    """

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, LOCK_NAME)
        self._token = None
        self._created = False  # the folder did not exist: removed again if the run left it empty

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def acquire(self) -> None:
        self._created = not os.path.exists(self.folder)
        prepare_output_dir(self.folder)
        token = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "id": uuid.uuid4().hex,
        }
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(token, f)
            self._token = token
            return
        raise RuntimeError(f"could not take the lock {self.path} (another run keeps creating it)")

    def release(self) -> None:
        if self._token is None:
            return
        if (_read(self.path) or {}).get("id") == self._token["id"]:
            os.remove(self.path)
        self._token = None
        if self._created:
            try:
                os.rmdir(self.folder)  # only when empty: a run that failed before writing anything
            except OSError:
                pass

    def _take_over_if_stale(self) -> None:
        owner = _read(self.path)
        if owner is None:  # being written this instant, or removed meanwhile: look again
            time.sleep(0.05)
            owner = _read(self.path)
            if owner is None and os.path.exists(self.path):
                raise RuntimeError(
                    f"{self.folder} is locked by another run ({self.path} is "
                    "unreadable); if no run uses it, delete that file"
                )
            if owner is None:
                return
        pid, host = owner.get("pid"), owner.get("host")
        if host != socket.gethostname():
            raise RuntimeError(
                f"{self.folder} is in use by run pid {pid} on host {host} "
                f"({self.path}); wait for it, use another --output_dir, or delete "
                "the lock if that run is dead"
            )
        if _alive(pid):
            raise RuntimeError(
                f"{self.folder} is in use by another run (pid {pid}, {self.path}); "
                "wait for it or use another --output_dir"
            )
        # Dead owner on this host: move its lock aside atomically (one taker wins the rename).
        stale = f"{self.path}.stale-{uuid.uuid4().hex}"
        try:
            os.rename(self.path, stale)
        except FileNotFoundError:
            return
        moved = _read(stale) or {}
        if moved.get("id") != owner.get("id"):  # another taker's fresh lock: put it back
            try:
                os.link(stale, self.path)
            except FileExistsError:
                pass
            os.remove(stale)
            raise RuntimeError(f"{self.folder} is in use by another run ({self.path})")
        os.remove(stale)
        warnings.warn(
            f"took over the lock of a dead run (pid {pid}) in {self.folder}", stacklevel=3
        )


def prepare_output_dir(folder) -> None:
    """Fails at once (one line) on an output folder training could not write to."""
    folder = os.fspath(folder or "")
    if not folder:
        raise ValueError("output_dir is required")
    if folder.startswith(_REMOTE_PREFIXES) or "://" in folder:
        raise ValueError(
            f"output_dir {folder} is remote, which is not supported; write to a local "
            "folder and copy it afterwards (e.g. gsutil -m cp -r)"
        )
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"output_dir {folder} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create output_dir {folder}: {e.strerror or e}") from e
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"output_dir {folder} is not writable")


def holds_output_dir(recipe):
    """Decorates a training recipe with an ``output_dir`` argument: the run holds its RunLock.

    Only the chief takes the lock under MultiWorkerMirroredStrategy (the other
    workers write nothing there but scratch checkpoints).
    """
    signature = inspect.signature(recipe)

    @functools.wraps(recipe)
    def wrapped(*args, **kwargs):
        output_dir = signature.bind_partial(*args, **kwargs).arguments.get("output_dir")
        if not _is_chief_task():
            prepare_output_dir(output_dir)
            return recipe(*args, **kwargs)
        with RunLock(output_dir):
            return recipe(*args, **kwargs)

    return wrapped


def _is_chief_task() -> bool:
    """From TF_CONFIG (the strategy does not exist yet): the chief, or worker 0 without one."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except ValueError:
        return True  # get_strategy reports the bad TF_CONFIG
    task = config.get("task") or {}
    task_type, index = task.get("type"), int(task.get("index") or 0)
    cluster = config.get("cluster") or {}
    return task_type in (None, "chief") or (
        task_type == "worker" and index == 0 and "chief" not in cluster
    )


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
