"""Loading any supported folder into our models, and converting between formats."""

from __future__ import annotations

import dataclasses
import os

from bert_tf.checkpoints import bert_tf_format, google, huggingface, keras_hub, task
from bert_tf.checkpoints.folders import (
    atomic_folder,
    detect_format,
    read_lowercase,
    vocab_file_of,
    write_vocab_and_casing,
)
from bert_tf.checkpoints.hub import resolve_model_dir
from bert_tf.checkpoints.name_map import (
    GOOGLE_MLM_NAMES,
    GOOGLE_NSP_NAMES,
    CheckpointError,
    assign_from_google,
    encoder_slots,
    export_google,
    google_is_other_head,
    pretrainer_slots,
)
from bert_tf.config import BertConfig

FORMATS = ("bert_tf", "huggingface", "google")


@dataclasses.dataclass
class RawCheckpoint:
    """A checkpoint's weights under Google names and layouts, whatever format it came in."""

    config: BertConfig
    tensors: dict  # Google name -> numpy array
    source: str  # the folder, for error messages
    format: str  # "google", "huggingface", "keras_hub", "bert_tf" or "bert_tf_task"
    origin: dict = dataclasses.field(default_factory=dict)  # Google name -> (file's name, transposed?)

    @property
    def has_mlm(self) -> bool:
        return any(n in self.tensors for n in GOOGLE_MLM_NAMES)

    @property
    def has_nsp(self) -> bool:
        return any(n in self.tensors for n in GOOGLE_NSP_NAMES)


def read_checkpoint(path) -> RawCheckpoint:
    """Reads any supported folder (or hub id) into Google-named numpy tensors."""
    folder = resolve_model_dir(path)
    fmt = detect_format(folder)
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
    elif fmt == "bert_tf":
        encoder = bert_tf_format.load_encoder_folder(folder)
        config, tensors = encoder.config, export_google(encoder_slots(encoder))
    else:
        model, info = task.load_task_model_folder(folder)
        config = model.encoder.config
        slots = pretrainer_slots(model) if info["task"] == "pretraining" else encoder_slots(model.encoder)
        tensors = export_google(slots)
    return RawCheckpoint(config=config, tensors=tensors, source=folder, format=fmt, origin=origin)


def _head_names(raw: RawCheckpoint) -> list[str]:
    """Known head tensors in the checkpoint that an encoder does not load."""
    return [n for n in raw.tensors
            if n in GOOGLE_MLM_NAMES or n in GOOGLE_NSP_NAMES or google_is_other_head(n)]


def _remember(encoder, folder):
    bert_tf_format.remember_source(encoder, folder)
    return encoder


def load_encoder(path, dtype=None, **encoder_kwargs):
    """A BertEncoder from a Google TF1 / HF / bert_tf encoder or task folder, or an HF hub id.

    ``encoder_kwargs`` go to the BertEncoder constructor (e.g. ``output_all_layers=True``).
    """
    from bert_tf.models.bert_encoder import BertEncoder
    folder = resolve_model_dir(path)
    fmt = detect_format(folder)
    if fmt == "bert_tf":
        return _remember(bert_tf_format.load_encoder_folder(folder, dtype=dtype, **encoder_kwargs), folder)
    if fmt == "bert_tf_task":
        model, _ = task.load_task_model_folder(folder, dtype=dtype)
        if not encoder_kwargs:
            return model.encoder
        encoder = BertEncoder(model.encoder.config, dtype=dtype, **encoder_kwargs)
        encoder.set_weights(model.encoder.get_weights())
        return _remember(encoder, folder)
    raw = read_checkpoint(folder)
    encoder = BertEncoder(raw.config, dtype=dtype, **encoder_kwargs)
    assign_from_google(encoder_slots(encoder), raw.tensors, raw.source, allowed_extra=_head_names(raw),
                       origin=raw.origin)
    return _remember(encoder, folder)


def load_pretrainer(path, use_nsp=None, dtype=None):
    """A BertPretrainer with the checkpoint's MLM / NSP weights where it has them.

    ``use_nsp=None`` follows the checkpoint (NSP head if it has one). Heads the
    checkpoint lacks start freshly initialised; a head present only in part is
    an error.
    """
    from bert_tf.models import BertEncoder, BertPretrainer
    folder = resolve_model_dir(path)
    fmt = detect_format(folder)
    if fmt == "bert_tf_task":
        info = task.read_task_info(folder)
        if info["task"] == "pretraining":
            model, _ = task.load_task_model_folder(folder, dtype=dtype)
            if use_nsp is None or bool(use_nsp) == bool(model.use_nsp):
                return model
            raw = read_checkpoint(folder)  # rebuild with the other head set, keeping weights
        else:
            encoder = load_encoder(folder, dtype=dtype)
            return BertPretrainer(encoder, use_nsp=True if use_nsp is None else use_nsp)
    elif fmt == "bert_tf":
        encoder = load_encoder(folder, dtype=dtype)
        return BertPretrainer(encoder, use_nsp=True if use_nsp is None else use_nsp)
    else:
        raw = read_checkpoint(folder)
    if use_nsp is None:
        use_nsp = raw.has_nsp
    encoder = BertEncoder(raw.config, dtype=dtype)
    model = BertPretrainer(encoder, use_nsp=use_nsp)
    slots = pretrainer_slots(model, mlm=raw.has_mlm, nsp=use_nsp and raw.has_nsp)
    loaded = {n for _, names, _ in slots for n in names}
    extra = [n for n in _head_names(raw) if n not in loaded]
    assign_from_google(slots, raw.tensors, raw.source, allowed_extra=extra, origin=raw.origin)
    _remember(encoder, folder)
    return model


def encoder_from_keras_hub(backbone, dtype=None):
    """A BertEncoder holding a live keras_hub.models.BertBackbone's weights (same outputs)."""
    from bert_tf.models.bert_encoder import BertEncoder
    config, tensors = keras_hub.backbone_to_google(backbone)
    encoder = BertEncoder(config, dtype=dtype)
    assign_from_google(encoder_slots(encoder), tensors, "keras-hub BertBackbone")
    return encoder


def save_encoder(encoder, path, vocab_file=None, lowercase=None) -> None:
    bert_tf_format.save_encoder(encoder, path, vocab_file=vocab_file, lowercase=lowercase)


def save_task_model(model, path, task_info: dict, vocab_file=None, lowercase=None) -> None:
    task.save_task_model(model, path, task_info, vocab_file=vocab_file, lowercase=lowercase)


def load_task_model(path, dtype=None):
    """(keras task model, task_info dict) from a task-model folder."""
    return task.load_task_model_folder(resolve_model_dir(path), dtype=dtype)


def convert(input_path, output_path, format="bert_tf", hf_prefix=None) -> dict:
    """Reads any supported folder and writes it as ``format`` ("bert_tf", "huggingface", "google").

    Returns a summary dict (source format, tensors written, head tensors left
    out). The bert_tf output is an encoder folder, so pretraining heads are
    left out there (the summary says so); HF and Google outputs keep them.
    """
    if format not in FORMATS:
        raise CheckpointError(f"unknown output format {format!r}; use one of {', '.join(FORMATS)}")
    raw = read_checkpoint(input_path)
    folder = raw.source
    vocab_file, lowercase = vocab_file_of(folder), read_lowercase(folder)
    if os.path.abspath(output_path) == os.path.abspath(folder):
        raise CheckpointError(f"the output folder must differ from the input folder {folder}")
    dropped = [n for n in _head_names(raw) if format == "bert_tf" or google_is_other_head(n)]
    kept = {n: v for n, v in raw.tensors.items() if n not in dropped}
    if format == "bert_tf":
        from bert_tf.models.bert_encoder import BertEncoder
        encoder = BertEncoder(raw.config)
        assign_from_google(encoder_slots(encoder), kept, raw.source, origin=raw.origin)
        bert_tf_format.save_encoder(encoder, output_path, vocab_file=vocab_file, lowercase=lowercase)
    else:
        # Check the tensors against a model of this config before writing anything.
        from bert_tf.models import BertEncoder, BertPretrainer
        has_mlm = any(n in kept for n in GOOGLE_MLM_NAMES)
        has_nsp = any(n in kept for n in GOOGLE_NSP_NAMES)
        encoder = BertEncoder(raw.config)
        if has_mlm or has_nsp:
            model = BertPretrainer(encoder, use_nsp=has_nsp)
            assign_from_google(pretrainer_slots(model, mlm=has_mlm, nsp=has_nsp), kept, raw.source, origin=raw.origin)
        else:
            assign_from_google(encoder_slots(encoder), kept, raw.source, origin=raw.origin)
        with atomic_folder(output_path) as tmp:
            if format == "huggingface":
                huggingface.write_hf(tmp, raw.config, kept, prefix=hf_prefix)
            else:
                google.write_google_checkpoint(tmp, raw.config, kept)
            write_vocab_and_casing(tmp, vocab_file, lowercase)
    return {"input_format": raw.format, "output_format": format, "tensors": len(kept),
            "dropped": sorted(dropped)}
