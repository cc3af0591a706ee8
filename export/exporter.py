"""Exporter: a task model + its preprocessor -> EXPORT_DIR/NAME/VERSION/ that stock TF Serving
loads.

A version is written to a hidden temp folder next to its final place, checked
(allowed ops), given its TF Serving extras (warm-up requests), and only then
renamed to its integer name, so TF Serving (which ignores non-integer folders)
never sees a half-written version and an existing version is never overwritten.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from bert_tf.models import BertTextEmbedder, load_task_model
from bert_tf.text import BertPreprocessor
from export import classifier_signatures, op_check, serving_config, signatures, warmup

SUPPORTED_TASKS = (
    "classification",
    "token_classification",
    "question_answering",
    "embedding",
    "multi_label_classification",
    "regression",
)


class ExportError(RuntimeError):
    """An export that could not be written (nothing was left behind)."""


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def existing_versions(model_base):
    """Sorted integer versions under EXPORT_DIR/NAME (folders named by an integer)."""
    if not os.path.isdir(model_base):
        return []
    return sorted(
        int(d)
        for d in os.listdir(model_base)
        if re.fullmatch(r"[0-9]+", d) and os.path.isdir(os.path.join(model_base, d))
    )


def next_version(model_base):
    """1 for a new model, else one more than the highest existing version."""
    versions = existing_versions(model_base)
    return versions[-1] + 1 if versions else 1


def set_method_name(saved_model_dir, signature_key, method_name):
    """Rewrites one SignatureDef's method_name in saved_model.pb.

    tf.saved_model.save marks every signature ``tensorflow/serving/predict``;
    TF Serving's Classify API only accepts a signature marked
    ``tensorflow/serving/classify`` (with input ``inputs`` and outputs
    ``classes``/``scores``), and the TF2 API has no switch for it.
    """
    path = os.path.join(saved_model_dir, "saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    for meta_graph in proto.meta_graphs:
        if signature_key in meta_graph.signature_def:
            meta_graph.signature_def[signature_key].method_name = method_name
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(proto.SerializeToString())
    os.replace(tmp, path)


def signature_summary(saved_model_dir):
    """One line per signature: name, method, inputs -> outputs (read from saved_model.pb)."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    lines = []
    for name, sig in sorted(proto.meta_graphs[0].signature_def.items()):
        if name.startswith("__"):
            continue
        method = sig.method_name.rsplit("/", 1)[-1]
        lines.append(
            f"{name} ({method}): {', '.join(sorted(sig.inputs))} -> "
            f"{', '.join(sorted(sig.outputs))}"
        )
    return lines


def build_serving_module(model, preprocessor, task_info):
    """The tf.Module holding the serving functions for ``task_info["task"]``.

    "embedding": ``model`` is a BertTextEmbedder (it holds its own preprocessor).
    """
    task = task_info.get("task")
    if task not in SUPPORTED_TASKS:
        raise ExportError(
            f"export of task {task!r} is not supported yet; supported: {', '.join(SUPPORTED_TASKS)}"
        )
    if task == "embedding":
        return signatures.EmbedderServingModule(model)
    if task == "token_classification":
        return signatures.TokenClassifierServingModule(model, preprocessor, task_info)
    if task == "question_answering":
        return signatures.SpanLabelerServingModule(model, preprocessor, task_info)
    config = model.encoder.config
    if classifier_signatures.wants_sequence_module(task_info):  # multi-label, regression, windows
        return classifier_signatures.SequenceTaskServingModule(
            model,
            preprocessor,
            task_info,
            vocab_size=config.vocab_size,
            type_vocab_size=config.type_vocab_size,
            max_position_embeddings=config.max_position_embeddings,
        )
    return signatures.ClassifierServingModule(
        model,
        preprocessor,
        task_info,
        vocab_size=config.vocab_size,
        type_vocab_size=config.type_vocab_size,
        max_position_embeddings=config.max_position_embeddings,
    )


def export_model(
    model,
    preprocessor,
    task_info,
    export_dir,
    model_name,
    version=None,
    ops_file=None,
    serving_root=serving_config.DEFAULT_SERVING_ROOT,
    module=None,
    check=None,
):
    """Writes EXPORT_DIR/MODEL_NAME/VERSION/ and returns its path.

    Args:
        model: the Keras task model (e.g. a BertClassifier).
        preprocessor: the training preprocessor (a BertPreprocessor or any
            callable strings -> encoder input dict, trackable if it owns resources).
        task_info: the task.json dict.
        export_dir: the base folder TF Serving watches (its ``--model_base_path``'s parent).
        model_name: the model's name in TF Serving.
        version: an integer version; None takes the next free one. An existing
            version is an error, never overwritten.
        ops_file: the allowed-op list (default: the TF Serving 2.20 list shipped here).
        serving_root: base path of the export as the server sees it, for models.config.
        module: a ready serving module (tests pass one with an injected op).
        check: optional callable(temp_folder) run on the finished version before it is
            renamed into place (export.artifacts measures parity there); raising refuses it.
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", model_name or ""):
        raise ExportError(f"model_name {model_name!r} must be letters, digits, '_', '.' or '-'")
    model_base = os.path.join(export_dir, model_name)
    os.makedirs(model_base, exist_ok=True)
    auto_version = version is None
    if auto_version:
        version = next_version(model_base)
    version = int(version)
    if version <= 0:
        raise ExportError(f"version must be a positive integer, got {version}")
    target = os.path.join(model_base, str(version))
    if os.path.exists(target):
        raise ExportError(
            f"version {version} already exists at {target}; versions are never overwritten"
        )

    if module is None:
        module = build_serving_module(model, preprocessor, task_info)
    tmp = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_base)
    chosen = None if auto_version else version  # None: the next free version at publish time
    try:
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        if signatures.EXAMPLES_SIGNATURE in module.signatures():
            set_method_name(tmp, signatures.EXAMPLES_SIGNATURE, signatures.CLASSIFY_METHOD)
        op_check.check_ops(tmp, ops_file)
        default = module.signatures()["serving_default"]
        warmup.write_warmup_requests(
            tmp, model_name, input_names=[spec.name for spec in default.input_signature]
        )
        if check is not None:
            check(tmp)
        os.chmod(
            tmp, 0o777 & ~_umask()
        )  # mkdtemp makes it 0700; the server may run as another user
        target = _publish(tmp, export_dir, model_name, chosen, serving_root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    serving_config.write_batching_parameters(export_dir)
    return target


def _publish(tmp, export_dir, model_name, version, serving_root):
    """Renames the finished ``tmp`` to its version folder, after models.config lists the model.

    Under models.config's lock, so concurrent exports neither lose config entries nor take
    the same version (``version=None``: the next free one, chosen here). A failed config
    write raises before the rename: the new version is never published without its entry.
    """
    model_base = os.path.join(export_dir, model_name)
    with serving_config.config_lock(export_dir):
        if version is None:
            version = next_version(model_base)
        target = os.path.join(model_base, str(version))
        if os.path.exists(target):
            raise ExportError(
                f"version {version} appeared at {target} while exporting; not overwritten"
            )
        serving_config.write_models_config(export_dir, model_name, serving_root=serving_root)
        os.rename(tmp, target)
    return target


def load_task_folder(model_dir, sequence_length=None):
    """(model, preprocessor, task_info) from a task folder in the shared format.

    A folder without task.json (an encoder: bert_tf, Hugging Face,
    sentence-transformers) loads as a BertTextEmbedder with task "embedding".
    """
    if not os.path.exists(os.path.join(model_dir, "task.json")):
        embedder = BertTextEmbedder.from_pretrained(model_dir, sequence_length=sequence_length)
        info = {
            "task": "embedding",
            "preprocessor": {
                "sequence_length": embedder.preprocessor.sequence_length,
                "text_pair": False,
            },
        }
        return embedder, embedder.preprocessor, info

    model, task_info = load_task_model(model_dir)
    if (
        not isinstance(task_info.get("preprocessor"), dict)
        or "sequence_length" not in task_info["preprocessor"]
    ):
        raise ExportError(
            f"{model_dir}/task.json has no preprocessor.sequence_length; "
            "it is needed to tokenize exactly as in training"
        )
    if sequence_length is not None and int(sequence_length) != int(
        task_info["preprocessor"]["sequence_length"]
    ):
        raise ExportError(
            f"--sequence_length={sequence_length} differs from the "
            f"{task_info['preprocessor']['sequence_length']} "
            "the model was trained with; leave it unset for task models"
        )
    kwargs = {}
    if task_info["preprocessor"].get("truncation"):
        kwargs["truncation"] = task_info["preprocessor"]["truncation"]
    preprocessor = BertPreprocessor.from_pretrained(
        model_dir, sequence_length=int(task_info["preprocessor"]["sequence_length"]), **kwargs
    )
    return model, preprocessor, task_info


def export_task_folder(
    model_dir, export_dir, model_name, version=None, sequence_length=None, **kwargs
):
    """bert-tf-export's work: load OUT/model (or an encoder folder) and export it; returns the
    version folder."""
    if not os.path.isdir(model_dir):
        raise ExportError(f"model_dir {model_dir} is not a folder")
    if not any(
        os.path.exists(os.path.join(model_dir, f))
        for f in ("task.json", "config.json", "bert_config.json")
    ):
        raise ExportError(
            f"{model_dir} has neither task.json (a task model, e.g. bert-tf-finetune's OUT/model) "
            "nor config.json (an encoder, exported as an embedder)"
        )
    model, preprocessor, task_info = load_task_folder(model_dir, sequence_length=sequence_length)
    return export_model(
        model, preprocessor, task_info, export_dir, model_name, version=version, **kwargs
    )
