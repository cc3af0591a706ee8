"""Checkpoint import and export: Google TF1, Hugging Face, keras-hub, our own folders, task folders, hub ids.

    load_encoder(path, dtype=None) -> BertEncoder
    load_pretrainer(path, use_nsp=None, dtype=None) -> BertPretrainer
    save_encoder(encoder, path, vocab_file=None, lowercase=None)
    save_task_model(model, path, task_info, vocab_file=None, lowercase=None)
    load_task_model(path, dtype=None) -> (model, task_info)
    resolve_model_dir(path_or_hub_id) -> local folder
    read_lowercase(folder) -> bool
    convert(input_path, output_path, format="bert_tf"|"huggingface"|"google")
    encoder_from_keras_hub(backbone) -> BertEncoder (a live keras_hub BertBackbone)

Errors about the checkpoint itself (missing / extra / misshaped tensors,
unreadable files, offline hub) are ``CheckpointError`` (a ValueError) with a
one-line message naming the tensor or file.
"""

from bert_tf.checkpoints.folders import detect_format, read_lowercase
from bert_tf.checkpoints.hub import resolve_model_dir
from bert_tf.checkpoints.loading import (
    FORMATS,
    RawCheckpoint,
    convert,
    encoder_from_keras_hub,
    load_encoder,
    load_pretrainer,
    load_task_model,
    read_checkpoint,
    save_encoder,
    save_task_model,
)
from bert_tf.checkpoints.name_map import CheckpointError

__all__ = [
    "FORMATS",
    "CheckpointError",
    "RawCheckpoint",
    "convert",
    "detect_format",
    "encoder_from_keras_hub",
    "load_encoder",
    "load_pretrainer",
    "load_task_model",
    "read_checkpoint",
    "read_lowercase",
    "resolve_model_dir",
    "save_encoder",
    "save_task_model",
]
