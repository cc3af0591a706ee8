"""Any supported folder into our models: pretrainers, raw tensors of any format, conversion.

    read_checkpoint(path) -> RawCheckpoint (any format, ours included)
    load_pretrainer(path, use_nsp=None, dtype=None) -> BertPretrainer
    encoder_from_keras_hub(backbone) -> BertEncoder (a live keras_hub BertBackbone)
    convert(input_path, output_path, format="bert_tf"|"huggingface"|"google")

Encoders and task models load with BertEncoder.from_pretrained / BertClassifier.from_pretrained
(any task: load_task_model); bert_tf.checkpoints reads and writes the files.
"""

from __future__ import annotations

import os

from bert_tf.checkpoints import (
    CHECKPOINT_FORMATS,
    RawCheckpoint,
    bert_tf_format,
    detect_checkpoint_format,
    google,
    head_names,
    huggingface,
    keras_hub,
    read_foreign_checkpoint,
)
from bert_tf.checkpoints.folders import atomic_folder, write_vocab_and_casing
from bert_tf.checkpoints.name_map import (
    GOOGLE_MLM_NAMES,
    GOOGLE_NSP_NAMES,
    assign_from_google,
    encoder_slots,
    export_google,
    google_is_other_head,
    pretrainer_slots,
)
from bert_tf.checkpoints.task_folder import read_task_info
from bert_tf.errors import CheckpointError
from bert_tf.model_dir import read_lowercase, resolve_model_dir, vocab_file_of
from bert_tf.models.bert_encoder import BertEncoder
from bert_tf.models.bert_pretrainer import BertPretrainer
from bert_tf.models.bert_task import load_task_model
from bert_tf.models.task_registry import build_task_model


def read_checkpoint(path) -> RawCheckpoint:
    """Reads any supported folder (or hub id) into Google-named numpy tensors."""
    folder = resolve_model_dir(path)
    fmt = detect_checkpoint_format(folder)
    if fmt == "bert_tf":
        encoder = BertEncoder(bert_tf_format.read_config(folder))
        bert_tf_format.load_weights(encoder, folder)
        return RawCheckpoint(
            config=encoder.config,
            tensors=export_google(encoder_slots(encoder)),
            source=folder,
            format=fmt,
        )
    if fmt == "bert_tf_task":
        model, info = build_task_model(folder, BertEncoder(bert_tf_format.read_config(folder)))
        slots = (
            pretrainer_slots(model)
            if info["task"] == "pretraining"
            else encoder_slots(model.encoder)
        )
        return RawCheckpoint(
            config=model.encoder.config, tensors=export_google(slots), source=folder, format=fmt
        )
    return read_foreign_checkpoint(folder, fmt)


def load_pretrainer(path, use_nsp=None, dtype=None):
    """A BertPretrainer with the checkpoint's MLM / NSP weights where it has them.

    ``use_nsp=None`` follows the checkpoint (NSP head if it has one). Heads the
    checkpoint lacks start freshly initialised; a head present only in part is
    an error.
    """
    folder = resolve_model_dir(path)
    fmt = detect_checkpoint_format(folder)
    if fmt == "bert_tf_task":
        info = read_task_info(folder)
        if info["task"] == "pretraining":
            model, _ = load_task_model(folder, dtype=dtype)
            if use_nsp is None or bool(use_nsp) == bool(model.use_nsp):
                return model
            raw = read_checkpoint(folder)  # rebuild with the other head set, keeping weights
        else:
            encoder = BertEncoder.from_pretrained(folder, dtype=dtype)
            return BertPretrainer(encoder, use_nsp=True if use_nsp is None else use_nsp)
    elif fmt == "bert_tf":
        encoder = BertEncoder.from_pretrained(folder, dtype=dtype)
        return BertPretrainer(encoder, use_nsp=True if use_nsp is None else use_nsp)
    else:
        raw = read_checkpoint(folder)
    if use_nsp is None:
        use_nsp = raw.has_nsp
    encoder = BertEncoder(raw.config, dtype=dtype)
    model = BertPretrainer(encoder, use_nsp=use_nsp)
    slots = pretrainer_slots(model, mlm=raw.has_mlm, nsp=use_nsp and raw.has_nsp)
    loaded = {n for _, names, _ in slots for n in names}
    extra = [n for n in head_names(raw) if n not in loaded]
    assign_from_google(slots, raw.tensors, raw.source, allowed_extra=extra, origin=raw.origin)
    bert_tf_format.remember_source(encoder, folder)
    return model


def encoder_from_keras_hub(backbone, dtype=None):
    """A BertEncoder holding a live keras_hub.models.BertBackbone's weights (same outputs)."""
    config, tensors = keras_hub.backbone_to_google(backbone)
    encoder = BertEncoder(config, dtype=dtype)
    assign_from_google(encoder_slots(encoder), tensors, "keras-hub BertBackbone")
    return encoder


def convert(input_path, output_path, format="bert_tf", hf_prefix=None) -> dict:
    """Reads any supported folder and writes it as ``format`` ("bert_tf", "huggingface", "google").

    Returns a summary dict (source format, tensors written, head tensors left
    out). The bert_tf output is an encoder folder, so pretraining heads are
    left out there (the summary says so); HF and Google outputs keep them.
    """
    if format not in CHECKPOINT_FORMATS:
        raise CheckpointError(
            f"unknown output format {format!r}; use one of {', '.join(CHECKPOINT_FORMATS)}"
        )
    raw = read_checkpoint(input_path)
    folder = raw.source
    vocab_file, lowercase = vocab_file_of(folder), read_lowercase(folder)
    if os.path.abspath(output_path) == os.path.abspath(folder):
        raise CheckpointError(f"the output folder must differ from the input folder {folder}")
    dropped = [n for n in head_names(raw) if format == "bert_tf" or google_is_other_head(n)]
    kept = {n: v for n, v in raw.tensors.items() if n not in dropped}
    if format == "bert_tf":
        encoder = BertEncoder(raw.config)
        assign_from_google(encoder_slots(encoder), kept, raw.source, origin=raw.origin)
        bert_tf_format.save_encoder(
            encoder, output_path, vocab_file=vocab_file, lowercase=lowercase
        )
    else:
        # Check the tensors against a model of this config before writing anything.
        has_mlm = any(n in kept for n in GOOGLE_MLM_NAMES)
        has_nsp = any(n in kept for n in GOOGLE_NSP_NAMES)
        encoder = BertEncoder(raw.config)
        if has_mlm or has_nsp:
            model = BertPretrainer(encoder, use_nsp=has_nsp)
            assign_from_google(
                pretrainer_slots(model, mlm=has_mlm, nsp=has_nsp),
                kept,
                raw.source,
                origin=raw.origin,
            )
        else:
            assign_from_google(encoder_slots(encoder), kept, raw.source, origin=raw.origin)
        with atomic_folder(output_path) as tmp:
            if format == "huggingface":
                huggingface.write_hf(tmp, raw.config, kept, prefix=hf_prefix)
            else:
                google.write_google_checkpoint(tmp, raw.config, kept)
            write_vocab_and_casing(tmp, vocab_file, lowercase)
    return {
        "input_format": raw.format,
        "output_format": format,
        "tensors": len(kept),
        "dropped": sorted(dropped),
    }
