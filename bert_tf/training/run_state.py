"""RunState: what the run in OUTPUT_DIR is (OUTPUT_DIR/run.json), so a rerun resumes only itself.

A checkpoint holds weights and a step, not what produced them. Before
training, a recipe records the run's fingerprint: the SHA-256 of its data
files, the identity (file hashes) of the checkpoint it starts from, its label
map and every setting that changes the trained model. A rerun in the same
folder then:

- resumes when the fingerprint is the same (a killed run goes on);
- fails with one line naming what differs when it is not (other data, labels,
  flags or init checkpoint), instead of restoring the old run's weights;
- with ``resume=False`` (``--noresume``) first moves the old state
  (checkpoints/, logs/, model/, pretrainer/, eval_results.json, run.json)
  into ``OUTPUT_DIR/old-<UTC time>/``: set aside, never deleted.

A folder holding training state but no run.json (an older bert_tf, or not a
run folder) is resumed only with ``--noresume`` setting it aside.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os

from bert_tf.data.readers import expand_paths
from bert_tf.training.distribution import is_chief

RUN_NAME = "run.json"
# What a run leaves in OUTPUT_DIR (besides run.lock, held while it runs).
STATE_NAMES = ("checkpoints", "logs", "model", "pretrainer", "eval_results.json", RUN_NAME)
# TrainingOptions fields that do not change the trained model (how it runs, what it prints).
NEUTRAL_OPTIONS = (
    "resume",
    "verbose",
    "tensorboard",
    "checkpoint_every_n_steps",
    "strategy",
    "tpu_address",
    "jit_compile",
    "eval_every_epoch",
)
_CHUNK = 1 << 20


class RunState:
    """The fingerprint of one run in ``output_dir`` and what a rerun may do with the old state.

    Args:
        output_dir: the run's folder (held under a RunLock while training).
        fingerprint: a JSON-able dict; see ``fingerprint()`` for the recipes' one.
    """

    def __init__(self, output_dir, fingerprint: dict):
        self.output_dir = os.fspath(output_dir)
        self.fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True))  # plain JSON types
        self.path = os.path.join(self.output_dir, RUN_NAME)

    def begin(self, resume: bool = True) -> str | None:
        """Checks (resume) or sets aside (no resume) the old state, then writes run.json.

        Returns the folder the old state was moved to, if any.
        """
        old = [name for name in STATE_NAMES if os.path.exists(os.path.join(self.output_dir, name))]
        if old == [RUN_NAME]:  # a run that stopped before its first checkpoint: nothing to keep
            old = []
        moved_to = None
        if old and resume:
            recorded = _read_fingerprint(self.path)
            if recorded is None:
                raise ValueError(
                    f"{self.output_dir} holds {', '.join(old)} of a run with no {RUN_NAME} "
                    "(another program or an older bert_tf); pass --noresume (resume=False) to set "
                    "them aside in an old-<time> folder, or use another --output_dir"
                )
            differences = describe_differences(recorded, self.fingerprint)
            if differences:
                raise ValueError(
                    f"{self.output_dir} holds another run ({'; '.join(differences[:4])}); pass "
                    "--noresume (resume=False) to set the old run aside and start over, "
                    "or use another --output_dir"
                )
        elif old:
            moved_to = self._set_aside(old)
        _write_json_atomic(
            self.path,
            {"fingerprint": self.fingerprint, "written_by": "bert_tf", "started": _utc_now()},
        )
        return moved_to

    def _set_aside(self, names) -> str:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        target = os.path.join(self.output_dir, f"old-{stamp}")
        suffix = 1
        while os.path.exists(target):
            suffix += 1
            target = os.path.join(self.output_dir, f"old-{stamp}-{suffix}")
        os.makedirs(target)
        for name in names:
            os.rename(os.path.join(self.output_dir, name), os.path.join(target, name))
        print(f"note: set the previous run in {self.output_dir} aside in {target}", flush=True)
        return target


def fingerprint(options, data_files: dict, init_checkpoint=None, labels=None, **settings) -> dict:
    """The recipes' run fingerprint.

    Args:
        options: the TrainingOptions (its fields but NEUTRAL_OPTIONS count).
        data_files: ``{"train_file": path-or-glob, ...}``; their contents count, not their paths.
        init_checkpoint: the local folder training starts from (its files' contents count).
        labels: the label map (list of names in id order), if any.
        settings: recipe arguments that change the result (max_seq_length, columns, ...).
    """
    chosen = {k: v for k, v in dataclasses.asdict(options).items() if k not in NEUTRAL_OPTIONS}
    return {
        "data": {name: files_digest(paths) for name, paths in data_files.items() if paths},
        "init_checkpoint": folder_digest(init_checkpoint) if init_checkpoint else None,
        "labels": list(labels) if labels is not None else None,
        "settings": {**chosen, **settings},
    }


def begin_run(
    output_dir, strategy, options, data_files: dict, init_checkpoint=None, labels=None, **settings
):
    """What a recipe calls before training: the chief checks / sets aside / records the run."""
    if not is_chief(strategy):
        return None
    identity = fingerprint(options, data_files, init_checkpoint, labels, **settings)
    return RunState(output_dir, identity).begin(resume=options.resume)


def describe_differences(old: dict, new: dict) -> list[str]:
    """Short phrases naming what differs between two fingerprints (empty when they match)."""
    out = []
    old_data, new_data = old.get("data") or {}, new.get("data") or {}
    for name in sorted(set(old_data) | set(new_data)):
        if old_data.get(name, {}).get("sha256") != new_data.get(name, {}).get("sha256"):
            shown = (new_data.get(name) or old_data.get(name) or {}).get("paths", [])
            out.append(f"{name} {', '.join(shown[:2])} has other contents")
    if old.get("init_checkpoint") != new.get("init_checkpoint"):
        where = (new.get("init_checkpoint") or {}).get("path") or "none"
        out.append(f"init_checkpoint {where} holds another model")
    if old.get("labels") != new.get("labels"):
        out.append(f"labels {old.get('labels')} -> {new.get('labels')}")
    old_settings, new_settings = old.get("settings") or {}, new.get("settings") or {}
    for key in sorted(set(old_settings) | set(new_settings)):
        if old_settings.get(key) != new_settings.get(key):
            out.append(f"{key} {old_settings.get(key)!r} -> {new_settings.get(key)!r}")
    return out


def files_digest(paths) -> dict:
    """``{"paths": [...], "sha256": ...}`` of a path, glob or comma list (contents, sorted)."""
    files = expand_paths(paths)
    digest = hashlib.sha256()
    for path in files:
        digest.update(file_sha256(path).encode())
    return {"paths": [os.path.abspath(f) for f in files], "sha256": digest.hexdigest()}


def folder_digest(folder) -> dict:
    """A model folder's identity: the SHA-256 of its top-level files (not hidden ones or *.md)."""
    folder = os.fspath(folder)
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith(".") or name.lower().endswith(".md") or not os.path.isfile(path):
            continue
        digest.update(f"{name}:{file_sha256(path)}\n".encode())
    return {"path": os.path.abspath(folder), "sha256": digest.hexdigest()}


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_fingerprint(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data.get("fingerprint") if isinstance(data, dict) else None


def _write_json_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
