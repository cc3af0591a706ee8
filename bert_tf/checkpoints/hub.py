"""Turning a model argument (local folder or Hugging Face hub id) into a local folder."""

from __future__ import annotations

import os
import re

from bert_tf.checkpoints.name_map import CheckpointError
from bert_tf.errors import cause_line

# "org/name" as the hub spells repo ids (no path separators beyond the one slash).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
# What a BERT snapshot needs; the big alternative weight formats (tf, flax, onnx) are left on the hub.
_ALLOW = ["config.json", "bert_config.json", "vocab.txt", "tokenizer_config.json",
          "model.safetensors", "model.safetensors.index.json", "model-*.safetensors"]


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
        import huggingface_hub
    except ImportError as e:
        raise CheckpointError(
            f"{repo_id!r} is not a local folder; fetching it from the Hugging Face hub needs "
            "huggingface-hub (pip install huggingface-hub)") from e
    try:
        folder = huggingface_hub.snapshot_download(repo_id, allow_patterns=_ALLOW)
        from bert_tf.checkpoints.huggingface import weight_files
        if not weight_files(folder):  # only pytorch_model.bin on the hub: fetch that too
            folder = huggingface_hub.snapshot_download(repo_id, allow_patterns=_ALLOW + ["pytorch_model.bin"])
        return folder
    except Exception as e:
        offline = _is_offline()
        why = ("the hub is unreachable or offline mode is on (HF_HUB_OFFLINE)" if offline
               else cause_line(e))
        raise CheckpointError(
            f"cannot fetch {repo_id!r} from the Hugging Face hub and it is not cached: {why}; "
            f"there is no local folder {repo_id!r} either") from e


def _is_offline() -> bool:
    try:
        from huggingface_hub import constants
        return bool(constants.HF_HUB_OFFLINE)
    except (ImportError, AttributeError):
        return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")

