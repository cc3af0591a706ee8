"""Folder plumbing shared by every format: atomic writes, vocab and casing files."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

from bert_tf.errors import CheckpointError
from bert_tf.model_dir import TOKENIZER_CONFIG_NAME, VOCAB_NAME, read_json

# Every folder this package writes lists its own files here; only such a folder is ever replaced.
MANIFEST_NAME = ".bert_tf_manifest.json"
# A bert_tf folder saved before manifests: these names only, config.json with bert_tf_format.
_LEGACY_FILES = {"config.json", "model.weights.h5", VOCAB_NAME, TOKENIZER_CONFIG_NAME, "task.json"}


def _files_under(folder: str) -> list[str]:
    """Relative paths of every file (and symlink) under ``folder``, sorted."""
    found = []
    for directory, subdirs, files in os.walk(folder):
        links = [d for d in subdirs if os.path.islink(os.path.join(directory, d))]
        found += [os.path.relpath(os.path.join(directory, name), folder) for name in files + links]
    return sorted(found)


def _own_files(path: str, present: list[str]) -> set[str] | None:
    """The files bert_tf wrote into ``path`` (from its manifest), or None if it is not ours."""
    manifest = os.path.join(path, MANIFEST_NAME)
    if os.path.isfile(manifest):
        try:
            data = read_json(manifest)
        except CheckpointError:
            return None
        files = data.get("files")
        if data.get("written_by") == "bert_tf" and isinstance(files, list):
            return set(files) | {MANIFEST_NAME}
        return None
    config = os.path.join(path, "config.json")
    if set(present) <= _LEGACY_FILES and os.path.isfile(config):
        try:
            return _LEGACY_FILES if "bert_tf_format" in read_json(config) else None
        except CheckpointError:
            return None
    return None


def check_replaceable(path: str) -> None:
    """Raises unless ``path`` is absent, an empty folder, or holds only what bert_tf wrote there.

    A folder is ours when it holds ``.bert_tf_manifest.json`` (written by every save here) and no
    file outside its list; anything else (a project folder with a config.json, a
    sentence-transformers folder, our folder plus the user's notes) is refused, untouched.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.isfile(path):
        raise CheckpointError(f"output {path} is a file, not a folder")
    if not os.path.isdir(path):
        return
    present = _files_under(path)
    if not present and not os.listdir(path):
        return
    own = _own_files(path, present)
    if own is None:
        shown = ", ".join(sorted(os.listdir(path))[:5])
        raise CheckpointError(
            f"refusing to replace {path}: it is not empty and was not written by "
            f"bert_tf (no {MANIFEST_NAME}; it holds {shown}); choose a new or "
            "empty folder"
        )
    unknown = [f for f in present if f not in own]
    if unknown:
        raise CheckpointError(
            f"refusing to replace {path}: besides the model bert_tf wrote, it holds "
            f"{', '.join(unknown[:5])}; move those away or choose another folder"
        )


def _write_manifest(folder: str) -> None:
    write_json(
        os.path.join(folder, MANIFEST_NAME),
        {"written_by": "bert_tf", "files": _files_under(folder)},
    )


@contextlib.contextmanager
def atomic_folder(path: str):
    """Yields a fresh temporary folder next to ``path``; on success it replaces ``path`` whole.

    A failure (or a kill) part way leaves any existing folder at ``path``
    untouched; only a complete new folder is ever renamed into place, with a
    manifest of its files. An existing folder is replaced only when it holds
    nothing but what bert_tf wrote there (see check_replaceable); it is
    checked before and again just before the swap.
    """
    path = os.path.abspath(os.fspath(path))
    check_replaceable(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.partial-", dir=parent)
    try:
        yield tmp
        _write_manifest(tmp)
        check_replaceable(path)  # a user may have put files there while we wrote
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
    for name in os.listdir(tmp):  # some writers (safetensors) create 0600 files
        if os.path.isfile(os.path.join(tmp, name)):
            os.chmod(os.path.join(tmp, name), 0o644)
    backup = None
    if os.path.exists(path):
        backup = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=parent)
        os.rmdir(backup)
        os.rename(path, backup)
    try:
        os.rename(tmp, path)
    except BaseException:
        if backup:
            os.rename(backup, path)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if backup:
        shutil.rmtree(backup, ignore_errors=True)


def write_json(path: str, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def write_vocab_and_casing(folder: str, vocab_file: str | None, lowercase: bool | None) -> None:
    """Copies vocab.txt (if given) and writes tokenizer_config.json ``{"do_lower_case": ...}``."""
    if vocab_file:
        if not os.path.isfile(vocab_file):
            raise CheckpointError(f"vocab file {vocab_file} does not exist")
        shutil.copyfile(vocab_file, os.path.join(folder, VOCAB_NAME))
    write_json(
        os.path.join(folder, TOKENIZER_CONFIG_NAME),
        {"do_lower_case": True if lowercase is None else bool(lowercase)},
    )
