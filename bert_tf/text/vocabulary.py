"""WordPiece vocabulary building with tensorflow-text's learner (bert_vocab_from_dataset).

The text is first normalized exactly as BertTokenizer normalizes it (cleaning,
CJK spacing, and for lowercase vocabularies NFD + accent stripping + lowercasing),
then handed to ``bert_vocab_from_dataset`` with ``lower_case=False``, so the
learner sees the same words BertTokenizer will later split text into.
"""

from __future__ import annotations

import glob
import os

import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as _learner

from bert_tf.text.bert_tokenizer import SPECIAL_TOKENS, normalize_text

# Defaults of tensorflow-text's learner, named here so a run can be read without its source.
DEFAULT_LEARN_PARAMS = {
    "lower_thresh": 10,          # a word piece must be seen this often (before the size search)
    "num_iterations": 4,         # rounds of the iterative WordPiece learning
    "max_token_length": 50,      # longest word piece kept
    "max_unique_chars": 1000,    # single characters kept (rarer ones end up as [UNK])
}


def build_vocabulary(texts, vocab_size, lowercase=True, reserved_tokens=SPECIAL_TOKENS, learn_params=None):
    """Learns a vocabulary (list of at most vocab_size tokens, ``reserved_tokens`` first) from texts.

    texts: a tf.data.Dataset of scalar (or batched) strings, or a list of strings.
    """
    if int(vocab_size) <= len(reserved_tokens):
        raise ValueError(f"vocab_size must exceed the {len(reserved_tokens)} reserved tokens, got {vocab_size}")
    if not isinstance(texts, tf.data.Dataset):
        texts = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
    normalized = texts.map(lambda t: normalize_text(t, lowercase), num_parallel_calls=tf.data.AUTOTUNE)
    normalized = normalized.filter(lambda t: tf.reduce_any(tf.strings.length(tf.strings.strip(t)) > 0))
    if not any(True for _ in normalized.take(1)):
        raise ValueError("the input contains no text")
    params = dict(DEFAULT_LEARN_PARAMS, **(learn_params or {}))
    vocab = _learner.bert_vocab_from_dataset(
        normalized.batch(1024).prefetch(tf.data.AUTOTUNE),
        vocab_size=int(vocab_size),
        reserved_tokens=list(reserved_tokens),
        bert_tokenizer_params={"lower_case": False},
        learn_params=params,
    )
    # The learner's order: reserved tokens, single characters (and their ## forms), then learned
    # pieces by falling count. Its size search may overshoot the target by its slack; dropping the
    # rarest learned pieces keeps len(vocab) <= vocab_size (a model's embedding table size) and
    # never removes a character, so no text gains [UNK]s.
    rest = [t for t in vocab if t not in set(reserved_tokens)]
    return (list(reserved_tokens) + rest)[:int(vocab_size)]


def text_files(file_glob):
    """Files matching a glob (comma-separated globs allowed), sorted; a clear error when none."""
    patterns = [p.strip() for p in str(file_glob).split(",") if p.strip()]
    files = sorted({f for p in patterns for f in glob.glob(os.path.expanduser(p)) if os.path.isfile(f)})
    if not files:
        raise FileNotFoundError(f"no files match {file_glob!r}")
    return files


def vocabulary_from_files(file_glob, vocab_size, lowercase=True, **kwargs):
    """Learns a vocabulary from plain-text files (one text per line; blank lines ignored)."""
    files = text_files(file_glob)
    try:
        return build_vocabulary(tf.data.TextLineDataset(files), vocab_size, lowercase=lowercase, **kwargs)
    except ValueError as e:
        if "no text" in str(e):
            raise ValueError(f"the files matching {file_glob!r} contain no text") from e
        raise


def write_vocabulary(vocab, path):
    """Writes vocab.txt (one token per line) atomically: temp file, then rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        for token in vocab:
            f.write(token + "\n")
    os.replace(tmp, path)
    return path
