"""google-research/bert TF1 checkpoints: ``bert_config.json`` +
``bert_model.ckpt.{index,data-*}``."""

from __future__ import annotations

import glob
import json
import os
import re

import numpy as np

from bert_tf.checkpoints.name_map import CheckpointError, google_is_ignored
from bert_tf.config import BertConfig
from bert_tf.errors import cause_line

CONFIG_NAME = "bert_config.json"
CHECKPOINT_NAME = "bert_model.ckpt"


def find_checkpoint_prefix(folder: str) -> str | None:
    """The TF checkpoint prefix in ``folder`` (``bert_model.ckpt`` preferred), or None."""
    preferred = os.path.join(folder, CHECKPOINT_NAME)
    if os.path.exists(preferred + ".index"):
        return preferred
    indexes = sorted(glob.glob(os.path.join(folder, "*.index")))
    if len(indexes) == 1:
        return indexes[0][: -len(".index")]
    if len(indexes) > 1:
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(folder)
        if latest:
            return latest
        raise CheckpointError(
            f"{folder} holds several checkpoints "
            f"({', '.join(os.path.basename(i) for i in indexes)}) "
            "and no 'checkpoint' file saying which one to use"
        )
    return None


def read_config(folder: str) -> BertConfig:
    for name in (CONFIG_NAME, "config.json"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            try:
                return BertConfig.from_json_file(path)
            except (ValueError, TypeError) as e:
                raise CheckpointError(f"{path}: {e}") from e
    raise CheckpointError(f"{folder} has a TF checkpoint but no {CONFIG_NAME}")


def read_google_tensors(prefix: str) -> dict:
    """Every model tensor of a TF1 checkpoint as float32 numpy, optimizer slots left out."""
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
    except Exception as e:  # tf raises DataLossError, NotFoundError, ... with long messages
        raise CheckpointError(f"cannot read TF checkpoint {prefix}: {cause_line(e)}") from e
    tensors = {}
    for key in sorted(shapes):
        name = _tf2_key_to_name(key)
        if name is None or google_is_ignored(name):
            continue
        try:
            value = reader.get_tensor(key)
        except Exception as e:
            raise CheckpointError(f"cannot read tensor {key} from {prefix}: {cause_line(e)}") from e
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            value = np.asarray(value, dtype=np.float32)
        tensors[name] = value
    return tensors


_TF2_VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"


def _tf2_key_to_name(key: str) -> str | None:
    """A TF1 name as is; a TF2 object-based key of Google-named variables unescaped to its name.

    ``tf.train.Checkpoint(**{"bert/embeddings/word_embeddings": v})`` stores
    ``bert.Sembeddings.Sword_embeddings/.ATTRIBUTES/VARIABLE_VALUE``; the
    object graph, the save counter and optimizer slots are bookkeeping (None).
    """
    if key == "_CHECKPOINTABLE_OBJECT_GRAPH" or ".OPTIMIZER_SLOT" in key:
        return None
    if not key.endswith(_TF2_VALUE):
        return key
    base = key[: -len(_TF2_VALUE)]
    if base == "save_counter":
        return None
    return re.sub(r"\.(.)", lambda m: {"S": "/", ".": "."}.get(m.group(1), m.group(0)), base)


def write_google_checkpoint(folder: str, config: BertConfig, tensors: dict) -> None:
    """Writes ``bert_config.json`` and ``bert_model.ckpt.*`` with tf.compat.v1 variables and a
    Saver.

    Built in its own Graph, so the saved names are exactly the Google names
    (``bert/encoder/layer_0/attention/self/query/kernel``, ...), as
    google-research/bert's own checkpoints have them.
    """
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        variables, feeds, assigns = {}, {}, []
        for name in sorted(tensors):
            value = np.asarray(tensors[name], dtype=np.float32)
            var = v1.get_variable(
                name,
                shape=value.shape,
                dtype=tf.float32,
                initializer=v1.zeros_initializer(),
                use_resource=False,
            )
            # Values are fed, not baked into the graph as constants (a 2 GB GraphDef limit).
            placeholder = v1.placeholder(tf.float32, shape=value.shape)
            assigns.append(v1.assign(var, placeholder))
            feeds[placeholder] = value
            variables[name] = var
        saver = v1.train.Saver(var_list=variables)
        with v1.Session(graph=graph) as session:
            session.run(assigns, feed_dict=feeds)
            saver.save(
                session,
                os.path.join(folder, CHECKPOINT_NAME),
                write_meta_graph=False,
                write_state=False,
            )
    write_google_config(os.path.join(folder, CONFIG_NAME), config)


def write_google_config(path: str, config: BertConfig) -> None:
    """google-research/bert's bert_config.json fields (layer_norm_eps only where it is not BERT's
    1e-12)."""
    data = config.to_dict()
    if data.get("layer_norm_eps") == 1e-12:
        data.pop("layer_norm_eps")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
