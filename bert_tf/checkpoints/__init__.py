"""Checkpoint file formats: Google TF1, Hugging Face, keras-hub, our own folders, task folders.

    read_foreign_checkpoint(folder, fmt) -> RawCheckpoint (config + Google-named numpy arrays)
    detect_checkpoint_format(folder)
        -> "bert_tf" | "bert_tf_task" | "google" | "huggingface" | "keras_hub"
    save_encoder(encoder, path, vocab_file=None, lowercase=None)
    save_task_model(model, path, task_info, vocab_file=None, lowercase=None)

Nothing here imports bert_tf.models: loading a folder into a model (BertEncoder.from_pretrained,
BertClassifier.from_pretrained, bert_tf.models.load_task_model / load_pretrainer / convert)
lives there. A folder or hub id -> local folder, its vocab and casing: bert_tf.model_dir.

Errors about the checkpoint itself (missing / extra / misshaped tensors,
unreadable files, offline hub) are ``CheckpointError`` (a ValueError) with a
one-line message naming the tensor or file.
"""

from bert_tf.checkpoints.loading import (
    CHECKPOINT_FORMATS,
    RawCheckpoint,
    detect_checkpoint_format,
    head_names,
    read_foreign_checkpoint,
    save_encoder,
    save_task_model,
)
from bert_tf.errors import CheckpointError

__all__ = [
    "CHECKPOINT_FORMATS",
    "CheckpointError",
    "RawCheckpoint",
    "detect_checkpoint_format",
    "head_names",
    "read_foreign_checkpoint",
    "save_encoder",
    "save_task_model",
]
