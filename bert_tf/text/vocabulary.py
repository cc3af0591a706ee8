"""WordPiece vocabulary building with tensorflow-text's learner, adapted to honour the size asked.

The text is first normalized exactly as BertTokenizer normalizes it (cleaning,
CJK spacing, and for lowercase vocabularies NFD + accent stripping + lowercasing),
split into words as BERT splits them, counted once, and the counts handed to
tensorflow-text's WordPiece learner with two of its limits adapted to the corpus:

- characters: the learner keeps only its ``max_unique_chars`` (1,000) commonest characters, so
  on Chinese text most characters became ``[UNK]``. Here every character seen at least
  ``min_char_count`` times is kept (as Chinese BERT vocabularies do: one token per character).
  A character never seen inside a word (a CJK character, punctuation) gets no ``##`` form.
- pieces: the learner drops pieces seen fewer than 10 times, so a small corpus gave far fewer
  tokens than asked (1,321 of 8,000 on Moby Dick). The count threshold is lowered step by step
  (``min_piece_counts``: 10, 5, 3, 2) until the size is reached; below the last step the corpus
  has nothing more to learn, and ``VocabularyReport.reason`` says so.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import os

import tensorflow as tf
from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as _learner

from bert_tf.text.bert_tokenizer import SPECIAL_TOKENS, normalize_text

# Defaults of tensorflow-text's learner, named here so a run can be read without its source.
DEFAULT_LEARN_PARAMS = {
    "lower_thresh": 10,  # first count threshold of a word piece (lowered, see below)
    "num_iterations": 4,  # rounds of the iterative WordPiece learning
    "max_token_length": 50,  # longest word piece kept
}
# Count thresholds tried in turn (after lower_thresh) until the vocabulary reaches its size.
DEFAULT_MIN_PIECE_COUNTS = (5, 3, 2)
# A character seen at least this often gets its own token (rarer ones become [UNK]).
DEFAULT_MIN_CHAR_COUNT = 2
SLACK_RATIO = 0.05  # the learner's tolerance: a size within 5% under the target is kept


@dataclasses.dataclass
class VocabularyReport:
    """What build_vocabulary learned and why (printed by bert-tf-vocab)."""

    asked: int
    learned: int
    characters: int  # single-character tokens (seen >= min_char_count times)
    rare_characters: int  # distinct characters seen fewer times (they become [UNK])
    rare_character_share: float  # their share of all characters of the corpus
    min_piece_count: int  # the count threshold of the last learner run
    reason: str

    def summary(self) -> str:
        return (
            f"asked {self.asked:,}, learned {self.learned:,} "
            f"({self.characters:,} single characters; "
            f"{self.rare_characters:,} characters seen fewer times, "
            f"{self.rare_character_share:.3%} of "
            f"the text, left to [UNK]): {self.reason}"
        )


def count_words(texts, lowercase=True) -> collections.Counter:
    """Word counts of texts, split exactly as BertTokenizer splits them before WordPiece."""
    if not isinstance(texts, tf.data.Dataset):
        texts = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
    normalized = texts.map(
        lambda t: normalize_text(t, lowercase), num_parallel_calls=tf.data.AUTOTUNE
    )
    splitter = BasicTokenizer(lower_case=False)
    words = normalized.batch(1024).map(splitter.tokenize, num_parallel_calls=tf.data.AUTOTUNE)
    counts = collections.Counter()
    for batch in words.prefetch(tf.data.AUTOTUNE):
        counts.update(batch.flat_values.numpy().tolist())
    return collections.Counter({w.decode("utf-8"): c for w, c in counts.items()})


def build_vocabulary(
    texts,
    vocab_size,
    lowercase=True,
    reserved_tokens=SPECIAL_TOKENS,
    learn_params=None,
    min_char_count=DEFAULT_MIN_CHAR_COUNT,
    min_piece_counts=DEFAULT_MIN_PIECE_COUNTS,
    return_report=False,
):
    """Learns a vocabulary (list of at most vocab_size tokens, ``reserved_tokens`` first) from
    texts.

    texts: a tf.data.Dataset of scalar strings, or a list of strings. ``return_report=True``
    returns ``(vocab, VocabularyReport)``.
    """
    vocab_size = int(vocab_size)
    reserved_tokens = list(reserved_tokens)
    if vocab_size <= len(reserved_tokens):
        raise ValueError(
            f"vocab_size must exceed the {len(reserved_tokens)} reserved tokens, got {vocab_size}"
        )
    word_counts = count_words(texts, lowercase)
    word_counts.pop("", None)
    if not word_counts:
        raise ValueError("the input contains no text")
    params = dict(DEFAULT_LEARN_PARAMS, **(learn_params or {}))
    vocab, report = _learn(
        word_counts, vocab_size, reserved_tokens, params, int(min_char_count), min_piece_counts
    )
    return (vocab, report) if return_report else vocab


def _learn(word_counts, vocab_size, reserved, params, min_char_count, min_piece_counts):
    char_counts, inner_chars = collections.Counter(), set()
    for word, count in word_counts.items():
        for i, char in enumerate(word):
            char_counts[char] += count
            if i:
                inner_chars.add(char)
    # Characters by falling count; the room left after the specials caps them.
    kept = [
        c
        for c, n in sorted(char_counts.items(), key=lambda x: (-x[1], x[0]))
        if n >= min_char_count
    ]
    kept = kept[: vocab_size - len(reserved)]
    kept_set = set(kept)
    rare = [c for c in char_counts if c not in kept_set]
    total_chars = sum(char_counts.values())
    rare_share = sum(char_counts[c] for c in rare) / max(total_chars, 1)
    useless_suffixes = {"##" + c for c in kept if c not in inner_chars}
    params = dict(
        params,
        max_unique_chars=len(kept),
        slack_ratio=SLACK_RATIO,
        vocab_size=vocab_size + len(useless_suffixes),
    )  # the learner counts them; we drop them
    lower = int(params.pop("lower_thresh"))
    thresholds = [lower] + sorted(
        {int(t) for t in min_piece_counts if int(t) < lower}, reverse=True
    )
    upper = params.pop("upper_thresh", None)
    vocab, used = None, lower
    for thresh in thresholds:
        learned = _learner.learn(
            word_counts, reserved_tokens=reserved, lower_thresh=thresh, upper_thresh=upper, **params
        )
        vocab, used = [t for t in learned if t not in useless_suffixes], thresh
        if len(vocab) >= (1 - SLACK_RATIO) * vocab_size:
            break
        upper = max(thresh - 1, 1)  # at this threshold and above the corpus gave too few pieces
    # The learner's order: reserved tokens, single characters (and their ## forms), then learned
    # pieces by falling count; its size search may overshoot by its slack. Dropping the rarest
    # learned pieces keeps len(vocab) <= vocab_size and never removes a kept character.
    rest = [t for t in vocab if t not in set(reserved)]
    is_char = {t: len(t) == 1 or (len(t) == 3 and t.startswith("##")) for t in rest}
    singles = [t for t in rest if is_char[t]]
    pieces = [t for t in rest if not is_char[t]]
    vocab = (reserved + singles + pieces)[:vocab_size]
    if len(vocab) >= (1 - SLACK_RATIO) * vocab_size:
        reason = f"the size asked (pieces seen >= {used} times)"
    elif len(kept) >= vocab_size - len(reserved):
        reason = f"the corpus has more characters seen >= {min_char_count} times than room for them"
    else:
        reason = f"the corpus has no more pieces seen >= {used} times"
    report = VocabularyReport(
        vocab_size, len(vocab), len(kept), len(rare), rare_share, used, reason
    )
    return vocab, report


def text_files(file_glob):
    """Files matching a glob (comma-separated globs allowed), sorted; a clear error when none."""
    patterns = [p.strip() for p in str(file_glob).split(",") if p.strip()]
    files = sorted(
        {f for p in patterns for f in glob.glob(os.path.expanduser(p)) if os.path.isfile(f)}
    )
    if not files:
        raise FileNotFoundError(f"no files match {file_glob!r}")
    return files


def vocabulary_from_files(file_glob, vocab_size, lowercase=True, **kwargs):
    """Learns a vocabulary from plain-text files (one text per line; blank lines ignored)."""
    files = text_files(file_glob)
    try:
        return build_vocabulary(
            tf.data.TextLineDataset(files), vocab_size, lowercase=lowercase, **kwargs
        )
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
