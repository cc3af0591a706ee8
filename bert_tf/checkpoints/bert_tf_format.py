"""Our own folder format: ``config.json`` (with ``"bert_tf_format": 1``) + ``model.weights.h5``.

Plus ``vocab.txt`` and ``tokenizer_config.json`` (``{"do_lower_case": bool}``),
so one folder is everything BertTokenizer / BertPreprocessor / BertEncoder need.
"""

from __future__ import annotations

import os

from bert_tf.checkpoints.folders import (
    atomic_folder,
    read_json,
    read_lowercase,
    vocab_file_of,
    write_json,
    write_vocab_and_casing,
)
from bert_tf.checkpoints.name_map import CheckpointError
from bert_tf.config import BertConfig
from bert_tf.errors import cause_line

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"


def write_config(folder: str, config: BertConfig) -> None:
    data = config.to_dict()
    data["bert_tf_format"] = FORMAT_VERSION
    write_json(os.path.join(folder, CONFIG_NAME), data)


def read_config(folder: str) -> BertConfig:
    path = os.path.join(folder, CONFIG_NAME)
    data = read_json(path)
    version = data.get("bert_tf_format")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path} has bert_tf_format={version!r}; this version reads {FORMAT_VERSION}")
    try:
        return BertConfig.from_dict(data)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: {e}") from e


def load_weights(model, folder: str) -> None:
    """Loads model.weights.h5, turning Keras's mismatch errors into one clear line."""
    path = os.path.join(folder, WEIGHTS_NAME)
    if not os.path.exists(path):
        raise CheckpointError(f"{folder} has no {WEIGHTS_NAME}")
    try:
        model.load_weights(path)
    except Exception as e:
        raise CheckpointError(
            f"{path} does not fit the model built from {CONFIG_NAME}: {cause_line(e)}") from e


def remember_source(encoder, folder: str) -> None:
    """Notes the vocab and casing an encoder came with, so save_pretrained can carry them on."""
    encoder._bert_tf_vocab_file = vocab_file_of(folder)
    encoder._bert_tf_lowercase = read_lowercase(folder)


def save_encoder(encoder, path, vocab_file=None, lowercase=None) -> None:
    """Writes the encoder folder atomically (an existing folder is replaced only by a complete one)."""
    vocab_file = vocab_file or getattr(encoder, "_bert_tf_vocab_file", None)
    if lowercase is None:
        lowercase = getattr(encoder, "_bert_tf_lowercase", None)
    with atomic_folder(path) as tmp:
        write_config(tmp, encoder.config)
        encoder.save_weights(os.path.join(tmp, WEIGHTS_NAME))
        write_vocab_and_casing(tmp, vocab_file, lowercase)


def load_encoder_folder(folder: str, dtype=None, **encoder_kwargs):
    from bert_tf.models.bert_encoder import BertEncoder
    encoder = BertEncoder(read_config(folder), dtype=dtype, **encoder_kwargs)
    load_weights(encoder, folder)
    return encoder
