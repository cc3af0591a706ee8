"""Task-model folders: the encoder folder's files, whole-model weights, and ``task.json``.

``task.json``: ``{"task": ..., "task_config": {head constructor args},
"labels": [...] or null, "preprocessor": {"sequence_length": int, "text_pair":
bool}, "text_columns": {...}}`` (see DESIGN.md, shared formats).
"""

from __future__ import annotations

import os

from bert_tf.checkpoints import bert_tf_format
from bert_tf.checkpoints.folders import atomic_folder, write_json, write_vocab_and_casing
from bert_tf.checkpoints.name_map import CheckpointError
from bert_tf.model_dir import read_json

TASK_NAME = "task.json"


# task.json ``task`` names; bert_tf.models maps each to its model class (``BertTask.task_name``).
# multi_label_classification and regression are BertClassifier models (sigmoid per label /
# one float output); SEQUENCE_TASKS names the task.json tasks a classifier may be saved under.
TASKS = (
    "classification",
    "multi_label_classification",
    "regression",
    "token_classification",
    "question_answering",
    "pretraining",
)
SEQUENCE_TASKS = ("classification", "multi_label_classification", "regression")


def save_task_model(model, path, task_info: dict, vocab_file=None, lowercase=None) -> None:
    """Writes a task-model folder atomically. ``task_info["task_config"]`` defaults to the head's
    own args.

    ``model`` is a bert_tf task model (its class's ``task_name`` is the task it does).
    """
    info = dict(task_info or {})
    task = info.get("task")
    if task not in TASKS:
        raise CheckpointError(f"task_info['task'] is {task!r}; use one of {sorted(TASKS)}")
    model_task = getattr(model, "task_name", None)
    if model_task != task and not (model_task == "classification" and task in SEQUENCE_TASKS):
        raise CheckpointError(f"task {task!r} needs its task model, got {type(model).__name__}")
    info["task_config"] = {**model._task_config(), **(info.get("task_config") or {})}
    info.setdefault("labels", None)
    info.setdefault("preprocessor", None)
    encoder = model.encoder
    vocab_file = vocab_file or getattr(encoder, "_bert_tf_vocab_file", None)
    if lowercase is None:
        lowercase = getattr(encoder, "_bert_tf_lowercase", None)
    with atomic_folder(path) as tmp:
        bert_tf_format.write_config(tmp, encoder.config)
        model.save_weights(os.path.join(tmp, bert_tf_format.WEIGHTS_NAME))
        write_json(os.path.join(tmp, TASK_NAME), info)
        write_vocab_and_casing(tmp, vocab_file, lowercase)


def read_task_info(folder: str) -> dict:
    path = os.path.join(folder, TASK_NAME)
    if not os.path.exists(path):
        raise CheckpointError(f"{folder} is not a task-model folder (no {TASK_NAME})")
    info = read_json(path)
    if info.get("task") not in TASKS:
        raise CheckpointError(
            f"{path}: task is {info.get('task')!r}; expected one of {sorted(TASKS)}"
        )
    if not isinstance(info.get("task_config", {}), dict):
        raise CheckpointError(f"{path}: task_config should be a JSON object")
    return info
