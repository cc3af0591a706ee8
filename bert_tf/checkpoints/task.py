"""Task-model folders: the encoder folder's files, whole-model weights, and ``task.json``.

``task.json``: ``{"task": ..., "task_config": {head constructor args},
"labels": [...] or null, "preprocessor": {"sequence_length": int, "text_pair":
bool}, "text_columns": {...}}`` (see DESIGN.md, shared formats).
"""

from __future__ import annotations

import os

from bert_tf.checkpoints import bert_tf_format
from bert_tf.checkpoints.folders import atomic_folder, read_json, write_json, write_vocab_and_casing
from bert_tf.checkpoints.name_map import CheckpointError

TASK_NAME = "task.json"


def task_classes() -> dict:
    from bert_tf.models import BertClassifier, BertPretrainer, BertSpanLabeler, BertTokenClassifier
    return {
        "classification": BertClassifier,
        "multi_label_classification": BertClassifier,  # sigmoid per label (task.json "threshold")
        "regression": BertClassifier,  # num_classes=1, the float prediction
        "token_classification": BertTokenClassifier,
        "question_answering": BertSpanLabeler,
        "pretraining": BertPretrainer,
    }


def task_name_of(model) -> str:
    """The task.json ``task`` name of a task model's class."""
    for name, cls in task_classes().items():
        if type(model) is cls:
            return name
    raise CheckpointError(f"{type(model).__name__} is not one of the task models {sorted(task_classes())}")


def save_task_model(model, path, task_info: dict, vocab_file=None, lowercase=None) -> None:
    """Writes a task-model folder atomically. ``task_info["task_config"]`` defaults to the head's own args."""
    classes = task_classes()
    info = dict(task_info or {})
    task = info.get("task")
    if task not in classes:
        raise CheckpointError(f"task_info['task'] is {task!r}; use one of {sorted(classes)}")
    if not isinstance(model, classes[task]):
        raise CheckpointError(f"task {task!r} needs a {classes[task].__name__}, got {type(model).__name__}")
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
    classes = task_classes()
    if info.get("task") not in classes:
        raise CheckpointError(f"{path}: task is {info.get('task')!r}; expected one of {sorted(classes)}")
    if not isinstance(info.get("task_config", {}), dict):
        raise CheckpointError(f"{path}: task_config should be a JSON object")
    return info


def load_task_model_folder(folder: str, dtype=None):
    """(task model, task_info) from a local task-model folder."""
    from bert_tf.models.bert_encoder import BertEncoder
    info = read_task_info(folder)
    encoder = BertEncoder(bert_tf_format.read_config(folder), dtype=dtype)
    try:
        model = task_classes()[info["task"]](encoder, **info.get("task_config", {}))
    except TypeError as e:
        raise CheckpointError(f"{os.path.join(folder, TASK_NAME)}: bad task_config: {e}") from e
    bert_tf_format.load_weights(model, folder)
    bert_tf_format.remember_source(encoder, folder)
    return model, info
