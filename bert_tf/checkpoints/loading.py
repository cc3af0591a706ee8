"""Google / Hugging Face / keras-hub folders into Google-named numpy tensors + config; our writers.

Nothing here builds a model: bert_tf.models (BertEncoder.from_pretrained, load_pretrainer,
convert) builds one and assigns these tensors to it; the save functions take a built one.
"""

from __future__ import annotations

import dataclasses
import os

from bert_tf.checkpoints import bert_tf_format, google, huggingface, keras_hub, task_folder
from bert_tf.checkpoints.name_map import (
    GOOGLE_MLM_NAMES,
    GOOGLE_NSP_NAMES,
    CheckpointError,
    google_is_other_head,
)
from bert_tf.config import BertConfig
from bert_tf.model_dir import read_json

CHECKPOINT_FORMATS = ("bert_tf", "huggingface", "google")


@dataclasses.dataclass
class RawCheckpoint:
    """A checkpoint's weights under Google names and layouts, whatever format it came in."""

    config: BertConfig
    tensors: dict  # Google name -> numpy array
    source: str  # the folder, for error messages
    format: str  # "google", "huggingface", "keras_hub", "bert_tf" or "bert_tf_task"
    origin: dict = dataclasses.field(
        default_factory=dict
    )  # Google name -> (file's name, transposed?)

    @property
    def has_mlm(self) -> bool:
        return any(n in self.tensors for n in GOOGLE_MLM_NAMES)

    @property
    def has_nsp(self) -> bool:
        return any(n in self.tensors for n in GOOGLE_NSP_NAMES)


def read_foreign_checkpoint(folder: str, fmt: str) -> RawCheckpoint:
    """A local Google TF1 / Hugging Face / keras-hub folder as tensors (``fmt``: from
    detect_checkpoint_format).

    bert_tf folders hold Keras weights, read by building the model (bert_tf.models.read_checkpoint).
    """
    origin = {}
    if fmt == "google":
        prefix = google.find_checkpoint_prefix(folder)
        config = google.read_config(folder)
        tensors = google.read_google_tensors(prefix)
    elif fmt == "huggingface":
        config = huggingface.read_config(folder)
        tensors, origin = huggingface.read_hf_tensors(folder, config.num_hidden_layers)
    elif fmt == "keras_hub":
        config, tensors = keras_hub.read_keras_hub_folder(folder)
    else:
        raise CheckpointError(
            f"{folder} is a {fmt} folder, not a Google / Hugging Face / keras-hub one"
        )
    return RawCheckpoint(config=config, tensors=tensors, source=folder, format=fmt, origin=origin)


def head_names(raw: RawCheckpoint) -> list[str]:
    """Known head tensors in the checkpoint that an encoder does not load."""
    return [
        n
        for n in raw.tensors
        if n in GOOGLE_MLM_NAMES or n in GOOGLE_NSP_NAMES or google_is_other_head(n)
    ]


def save_encoder(encoder, path, vocab_file=None, lowercase=None) -> None:
    bert_tf_format.save_encoder(encoder, path, vocab_file=vocab_file, lowercase=lowercase)


def save_task_model(model, path, task_info: dict, vocab_file=None, lowercase=None) -> None:
    task_folder.save_task_model(model, path, task_info, vocab_file=vocab_file, lowercase=lowercase)


def detect_checkpoint_format(folder: str) -> str:
    """ "bert_tf", "bert_tf_task", "google", "huggingface" or "keras_hub" for a local model
    folder."""
    config_path = os.path.join(folder, "config.json")
    ours = False
    if os.path.exists(config_path):
        ours = "bert_tf_format" in read_json(config_path)
    if ours:
        return "bert_tf_task" if os.path.exists(os.path.join(folder, "task.json")) else "bert_tf"
    if keras_hub.is_keras_hub_folder(folder):
        return "keras_hub"
    if huggingface.weight_files(folder) and os.path.exists(config_path):
        return "huggingface"
    if google.find_checkpoint_prefix(folder):
        return "google"
    listing = ", ".join(sorted(os.listdir(folder))[:8]) or "nothing"
    raise CheckpointError(
        f"{folder} is not a BERT model folder (expected bert_tf config.json + model.weights.h5, "
        f"HF config.json + model.safetensors/pytorch_model.bin, Google bert_config.json + "
        f"bert_model.ckpt.*, or a keras-hub BertBackbone preset); it holds {listing}"
    )
