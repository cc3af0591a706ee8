"""Our own folder format: ``config.json`` (with ``"bert_tf_format": 1``) + ``model.weights.h5``.

Plus ``vocab.txt`` and ``tokenizer_config.json`` (``{"do_lower_case": bool}``),
so one folder is everything BertTokenizer / BertPreprocessor / BertEncoder need.
"""

from __future__ import annotations

import os
import warnings

from bert_tf.checkpoints.folders import atomic_folder, write_json, write_vocab_and_casing
from bert_tf.checkpoints.name_map import CheckpointError
from bert_tf.config import BertConfig
from bert_tf.errors import cause_line
from bert_tf.model_dir import read_json, read_lowercase, vocab_file_of

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
        raise CheckpointError(
            f"{path} has bert_tf_format={version!r}; this version reads {FORMAT_VERSION}"
        )
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
            f"{path} does not fit the model built from {CONFIG_NAME}: {cause_line(e)}"
        ) from e


def remember_source(encoder, folder: str) -> None:
    """Notes the vocab and casing an encoder came with, so save_pretrained can carry them on.

    Every load (encoder, pretrainer, task model, embedder) passes here: the folder's vocab is
    checked against the embedding table first (check_vocabulary).
    """
    check_vocabulary(folder, encoder.config)
    encoder._bert_tf_vocab_file = vocab_file_of(folder)
    encoder._bert_tf_lowercase = read_lowercase(folder)


def check_vocabulary(folder: str, config: BertConfig) -> None:
    """A vocab with more tokens than the embedding table has rows is an error: its last ids
    would fail deep in a graph (or read zeros on a GPU). Fewer tokens is a warning only: a
    table padded past its vocab (to a multiple of 8 or 128, for speed) is a real, working
    layout; a wrong smaller vocab cannot be told apart from it here."""
    vocab = vocab_file_of(folder)
    if vocab is None:
        return
    size = count_tokens(vocab)
    if size > config.vocab_size:
        raise CheckpointError(
            f"{vocab} has {size} tokens but the model's embedding table has {config.vocab_size} "
            f"rows (vocab_size): ids {config.vocab_size}-{size - 1} do not exist; "
            "it is another model's vocab"
        )
    if size < config.vocab_size:
        warnings.warn(
            f"{vocab} has {size} tokens but the model's embedding table has "
            f"{config.vocab_size} rows: rows {size}-{config.vocab_size - 1} are never "
            "used (fine for a padded table; check the vocab belongs to this model)",
            stacklevel=4,
        )


def count_tokens(vocab_file: str) -> int:
    """Tokens in a vocab.txt as BertTokenizer reads it (one a line, trailing blanks ignored)."""
    with open(vocab_file, encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for line in f]
    while lines and lines[-1] == "":
        lines.pop()
    return len(lines)


def save_encoder(encoder, path, vocab_file=None, lowercase=None) -> None:
    """Writes the encoder folder atomically (an existing folder is replaced only by a complete
    one)."""
    vocab_file = vocab_file or getattr(encoder, "_bert_tf_vocab_file", None)
    if lowercase is None:
        lowercase = getattr(encoder, "_bert_tf_lowercase", None)
    with atomic_folder(path) as tmp:
        write_config(tmp, encoder.config)
        encoder.save_weights(os.path.join(tmp, WEIGHTS_NAME))
        write_vocab_and_casing(tmp, vocab_file, lowercase)
