"""A model folder: a local folder or Hugging Face hub id -> local folder, its vocab and casing.

Bottom-level (it imports only bert_tf.errors): bert_tf.text finds a folder's vocab.txt and
casing here, and bert_tf.checkpoints builds its formats on it.
"""

from __future__ import annotations

import json
import os
import re

from bert_tf.errors import CheckpointError, cause_line

VOCAB_NAME = "vocab.txt"
TOKENIZER_CONFIG_NAME = "tokenizer_config.json"
# "org/name" as the hub spells repo ids (no path separators beyond the one slash).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
# What a BERT snapshot needs; the big alternative weight formats (tf, flax, onnx) are left on the
# hub.
_ALLOW = [
    "config.json",
    "bert_config.json",
    "vocab.txt",
    "tokenizer_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*.safetensors",
]


def looks_like_hub_id(path: str) -> bool:
    return bool(_HUB_ID.match(path)) and not path.startswith((".", "/", "~"))


def resolve_model_dir(path_or_hub_id) -> str:
    """A local folder for ``path_or_hub_id``.

    An existing local path wins (a checkpoint prefix such as
    ``.../bert_model.ckpt`` gives its folder). Otherwise an ``org/name`` id is
    fetched with ``huggingface_hub.snapshot_download`` (from its cache when
    offline); anything else is a clear error.
    """
    path = os.path.expanduser(os.fspath(path_or_hub_id))
    if os.path.isdir(path):
        return path
    if os.path.exists(path + ".index"):  # a TF checkpoint prefix
        return os.path.dirname(os.path.abspath(path))
    if os.path.exists(path):
        raise CheckpointError(f"{path} is a file; pass the model folder that holds it")
    if not looks_like_hub_id(path):
        raise CheckpointError(f"model folder {path} does not exist")
    return _download(path)


def _download(repo_id: str) -> str:
    try:
        import huggingface_hub  # lazy: optional dependency, only for hub ids
    except ImportError as e:
        raise CheckpointError(
            f"{repo_id!r} is not a local folder; fetching it from the Hugging Face hub needs "
            "huggingface-hub (pip install huggingface-hub)"
        ) from e
    try:
        folder = huggingface_hub.snapshot_download(repo_id, allow_patterns=_ALLOW)
        if not _has_safetensors(folder):  # only pytorch_model.bin on the hub: fetch that too
            folder = huggingface_hub.snapshot_download(
                repo_id, allow_patterns=_ALLOW + ["pytorch_model.bin"]
            )
        return folder
    except Exception as e:
        offline = _is_offline()
        why = (
            "the hub is unreachable or offline mode is on (HF_HUB_OFFLINE)"
            if offline
            else cause_line(e)
        )
        raise CheckpointError(
            f"cannot fetch {repo_id!r} from the Hugging Face hub and it is not cached: {why}; "
            f"there is no local folder {repo_id!r} either"
        ) from e


def _has_safetensors(folder: str) -> bool:
    return any(
        os.path.exists(os.path.join(folder, name))
        for name in ("model.safetensors", "model.safetensors.index.json")
    )


def _is_offline() -> bool:
    try:
        from huggingface_hub import constants  # lazy: optional dependency

        return bool(constants.HF_HUB_OFFLINE)
    except (ImportError, AttributeError):
        return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} should hold a JSON object")
    return data


def vocab_file_of(folder: str) -> str | None:
    """vocab.txt, or a keras-hub preset's assets/tokenizer/vocabulary.txt; None if neither."""
    for path in (
        os.path.join(folder, VOCAB_NAME),
        os.path.join(folder, "assets", "tokenizer", "vocabulary.txt"),
    ):
        if os.path.isfile(path):
            return path
    return None


def read_lowercase(folder: str) -> bool:
    """Whether the model's tokenizer lowercases: tokenizer_config.json / config ``do_lower_case``.

    Google folders carry no such file; there the folder name decides
    (``uncased`` / ``cased``, as Google names them), then the vocabulary (a
    vocab with capitalised word pieces is a cased one). Default: lowercase.
    """
    folder = os.fspath(folder)
    for name in (TOKENIZER_CONFIG_NAME, "config.json", "bert_config.json"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            try:
                data = read_json(path)
            except CheckpointError:
                continue
            if "do_lower_case" in data:
                return bool(data["do_lower_case"])
    keras_hub_tokenizer = os.path.join(
        folder, "tokenizer.json"
    )  # a keras-hub preset's tokenizer config
    if os.path.exists(keras_hub_tokenizer):
        try:
            data = read_json(keras_hub_tokenizer)
        except CheckpointError:
            data = {}
        if "lowercase" in data.get("config", {}):
            return bool(data["config"]["lowercase"])
    base = os.path.basename(os.path.normpath(folder)).lower()
    if "uncased" in base:
        return True
    if "cased" in base:
        return False
    vocab = vocab_file_of(folder)
    if vocab:
        with open(vocab, encoding="utf-8") as f:
            for line in f:
                token = line.strip()
                if not (token.startswith("[") and token.endswith("]")) and any(
                    c.isupper() for c in token
                ):
                    return False
    return True
