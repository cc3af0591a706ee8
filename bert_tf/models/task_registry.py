"""task.json ``task`` name -> task-model class, and building a task model from its folder.

Each task-model class registers itself when defined (``BertTask.task_name``, through
``BertTask.__init_subclass__``). BertEncoder.from_pretrained reads the encoder out of a task
folder through this table: the task-model modules import bert_encoder, so bert_encoder looks
their classes up here instead of importing them. ``import bert_tf.models`` defines them all.
"""

from __future__ import annotations

import os

from bert_tf.checkpoints import bert_tf_format
from bert_tf.checkpoints.task_folder import SEQUENCE_TASKS, TASK_NAME, TASKS, read_task_info
from bert_tf.errors import CheckpointError

TASK_MODELS: dict = {}  # task name -> task-model class


def register_task_model(cls) -> None:
    if cls.task_name not in TASKS:
        raise ValueError(f"{cls.__name__}.task_name is {cls.task_name!r}; use one of {TASKS}")
    TASK_MODELS[cls.task_name] = cls
    if cls.task_name == "classification":  # multi-label and regression are classifier heads too
        TASK_MODELS.update({name: cls for name in SEQUENCE_TASKS})


def build_task_model(folder: str, encoder):
    """(task model, task_info) of a local task-model folder, built on ``encoder`` (built from
    the folder's config.json), with the folder's weights loaded."""
    info = read_task_info(folder)
    try:
        model = TASK_MODELS[info["task"]](encoder, **info.get("task_config", {}))
    except TypeError as e:
        raise CheckpointError(f"{os.path.join(folder, TASK_NAME)}: bad task_config: {e}") from e
    bert_tf_format.load_weights(model, folder)
    bert_tf_format.remember_source(encoder, folder)
    return model, info
