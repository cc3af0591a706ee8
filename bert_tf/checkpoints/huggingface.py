"""Hugging Face BERT folders: ``config.json`` + ``model.safetensors`` (or ``pytorch_model.bin``)."""

from __future__ import annotations

import json
import os

from bert_tf.checkpoints.name_map import CheckpointError, google_to_hf, hf_to_google
from bert_tf.config import BertConfig
from bert_tf.errors import cause_line

CONFIG_NAME = "config.json"
SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
PYTORCH_NAME = "pytorch_model.bin"


def weight_files(folder: str) -> list[str] | None:
    """The weight file(s) of an HF folder, safetensors preferred; None if there are none."""
    single = os.path.join(folder, SAFETENSORS_NAME)
    if os.path.exists(single):
        return [single]
    index = os.path.join(folder, SAFETENSORS_INDEX_NAME)
    if os.path.exists(index):
        try:
            with open(index, encoding="utf-8") as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"{index} is not a valid safetensors index: {e}") from e
        return [os.path.join(folder, s) for s in shards]
    pt = os.path.join(folder, PYTORCH_NAME)
    if os.path.exists(pt):
        return [pt]
    return None


def read_config(folder: str) -> BertConfig:
    path = os.path.join(folder, CONFIG_NAME)
    try:
        return BertConfig.from_json_file(path)
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise CheckpointError(f"{path}: {e}") from e


def read_hf_tensors(folder: str, num_layers: int) -> tuple[dict, dict]:
    """Reads the HF weights: (tensors under Google names, origin names), see
    name_map.hf_to_google."""
    files = weight_files(folder)
    if not files:
        raise CheckpointError(
            f"{folder} has no {SAFETENSORS_NAME}, {SAFETENSORS_INDEX_NAME} or {PYTORCH_NAME}"
        )
    raw = {}
    for path in files:
        raw.update(
            _read_safetensors(path) if path.endswith(".safetensors") else _read_pytorch(path)
        )
    return hf_to_google(raw, num_layers, source=folder)


def _read_safetensors(path: str) -> dict:
    from safetensors.numpy import load_file

    if not os.path.exists(path):
        raise CheckpointError(f"safetensors shard {path} is missing")
    try:
        return load_file(path)
    except (
        Exception
    ) as e:  # SafetensorError on truncated/corrupt files, TypeError on dtypes numpy lacks
        raise CheckpointError(f"cannot read {path}: {cause_line(e)}") from e


def _read_pytorch(path: str) -> dict:
    try:
        import torch
    except ImportError as e:
        raise CheckpointError(
            f"{path} is a PyTorch pickle; reading it needs torch (pip install torch), "
            "or convert the folder to model.safetensors"
        ) from e
    try:
        # weights_only=True: a pickle may run arbitrary code; this refuses anything but tensors.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"cannot read {path} (loaded with weights_only=True): {cause_line(e)}"
        ) from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {
        k: v.detach().to(torch.float32).numpy() if v.is_floating_point() else v.numpy()
        for k, v in state.items()
    }


def write_hf(folder: str, config: BertConfig, tensors: dict, prefix: bool | None = None) -> None:
    """Writes ``config.json`` + ``model.safetensors`` that transformers' BERT classes load.

    ``prefix`` (default: only when pretraining heads are present, as
    ``BertForPreTraining`` names them) puts ``bert.`` before encoder names.
    """
    from safetensors.numpy import save_file

    has_mlm = "cls/predictions/output_bias" in tensors
    has_nsp = "cls/seq_relationship/output_weights" in tensors
    if prefix is None:
        prefix = has_mlm or has_nsp
    state = google_to_hf(tensors, prefix=prefix)
    save_file(state, os.path.join(folder, SAFETENSORS_NAME), metadata={"format": "pt"})
    if has_mlm and has_nsp:
        architecture = "BertForPreTraining"
    elif has_mlm:
        architecture = "BertForMaskedLM"
    else:
        architecture = "BertModel"
    data = config.to_dict()
    data.update(
        {
            "model_type": "bert",
            "architectures": [architecture],
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
        }
    )
    with open(os.path.join(folder, CONFIG_NAME), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
