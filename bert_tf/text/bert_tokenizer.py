"""BertTokenizer: BERT's WordPiece tokenization as an in-graph Keras layer.

The WordPiece step is tensorflow-text's FastWordpieceTokenizer. The text
normalization before it is written here with core string ops instead of
tensorflow-text's FastBertNormalizer, because FastBertNormalizer applies NFKD
(full-width letters, ligatures, superscripts become ASCII) and turns control
characters into spaces, while BERT (google-research/bert, Hugging Face
BertTokenizerFast) removes control characters and only applies NFD. Every op
used here (UnicodeTranscode, RegexReplace, NormalizeUTF8, StringLower,
RegexSplitWithOffsets, FastWordpieceTokenizeWithOffsets, ...) is registered in
stock TF Serving, so a SavedModel that tokenizes raw strings loads there.

BERT's normalization, in order (the order matters for a few characters):
  1. invalid UTF-8 -> U+FFFD; U+FFFD, NUL and control/format/private-use
     characters are removed; \\t \\n \\r and Unicode spaces become " ".
  2. CJK ideographs get a space on each side (one token per character).
  3. lowercase models only: NFD, drop non-spacing marks (Mn) = accent
     stripping, then lowercase (per character: no Greek final-sigma rule).
Then words are split on spaces and punctuation (ASCII symbols and Unicode P*),
a word longer than 100 characters becomes [UNK], and the rest is WordPiece.
The character classes are explicit code point ranges (bert_unicode_tables.py,
probed from Hugging Face tokenizers) so that TensorFlow's newer Unicode tables
do not change the result.
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bert_tf.model_dir import read_lowercase, resolve_model_dir, vocab_file_of
from bert_tf.raw_inputs import accept_raw_inputs
from bert_tf.text import bert_unicode_tables as _tables


def _char_class(ranges):
    """An RE2 character class (without brackets) of inclusive code point ranges."""
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)


# CJK Unified Ideographs blocks exactly as BERT (and HF tokenizers) define "Chinese characters".
_CJK = (
    r"\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}"
    r"\x{2B740}-\x{2B81F}\x{2B920}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}"
)
# The other classes come as explicit code point ranges (bert_unicode_tables.py) rather than RE2's
# \p{..}: RE2/ICU in TensorFlow carry a newer Unicode database than the reference tokenizer.
_PUNCT = _char_class(_tables.PUNCTUATION)  # ASCII symbols + Unicode P*
_WHITESPACE = f"[{_char_class(_tables.WHITESPACE)}]"  # \t \n \r and Unicode spaces -> " "
_REMOVED = f"[{_char_class(_tables.REMOVED)}]"  # NUL, U+FFFD, Cc/Cf/Co (not \t\n\r)
_ACCENT = f"[{_char_class(_tables.ACCENT)}]"  # Mn, dropped after NFD for uncased models
_MAX_BYTES_PER_CHAR = 4

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_vocabulary(vocab_file):
    """Reads a BERT vocab.txt (one token per line, id = line number)."""
    if not os.path.isfile(vocab_file):
        raise FileNotFoundError(f"vocabulary file not found: {vocab_file}")
    with open(vocab_file, encoding="utf-8") as f:
        vocab = [line.rstrip("\r\n") for line in f]
    while vocab and vocab[-1] == "":  # tolerate trailing blank lines
        vocab.pop()
    if not vocab:
        raise ValueError(f"vocabulary file is empty: {vocab_file}")
    return vocab


def read_lowercase_setting(folder, default=True):
    """Casing of a model folder: tokenizer_config.json do_lower_case, else tokenizer.json's
    normalizer."""
    config_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        if "do_lower_case" in config:
            return bool(config["do_lower_case"])
    tokenizer_json = os.path.join(folder, "tokenizer.json")
    if os.path.isfile(tokenizer_json):
        with open(tokenizer_json, encoding="utf-8") as f:
            normalizer = json.load(f).get("normalizer") or {}
        if "lowercase" in normalizer:
            return bool(normalizer["lowercase"])
    return default


def normalize_text(texts, lowercase=True):
    """BERT text normalization of a tf.string tensor (any shape), in-graph."""
    texts = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    texts = tf.strings.regex_replace(texts, _WHITESPACE, " ")
    texts = tf.strings.regex_replace(texts, _REMOVED, "")
    texts = tf.strings.regex_replace(texts, f"([{_CJK}])", r" \1 ")
    if lowercase:
        texts = tf_text.normalize_utf8(texts, "NFD")
        texts = tf.strings.regex_replace(texts, _ACCENT, "")
        # StringLower (ICU) applies the context-dependent final sigma; BERT lowercases per
        # character.
        texts = tf.strings.regex_replace(texts, "\u03a3", "\u03c3")
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


@keras.saving.register_keras_serializable(package="bert_tf")
class BertTokenizer(keras.layers.Layer):
    """Raw strings -> WordPiece ids, in-graph (tf.data, model.fit, SavedModel, TF Serving).

    Args:
        vocabulary: path of a vocab.txt, or the list of tokens (id = position).
        lowercase: lowercase and strip accents (uncased models) or keep case (cased models).
        max_input_chars_per_word: longer words become the unknown token (BERT uses 100).
        unknown_token: the vocabulary's unknown token.
        suffix_indicator: prefix of word-continuation pieces.
        vocab_file: alias of ``vocabulary`` for a path (the name used in the design notes).

    Call: tf.string [B] -> tf.RaggedTensor int32 [B, None] (no special tokens); a
    scalar string gives a dense int32 [N].

    Example:

    ```python
    tokenizer = BertTokenizer.from_pretrained("path/to/bert")  # vocab.txt + casing
    tokenizer = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff",
                               "##able", "!"], lowercase=True)
    tokenizer(tf.constant(["Unaffable!"]))  # <tf.RaggedTensor [[5, 6, 7, 8]]>
    tokenizer.detokenize([[5, 6, 7, 8]])     # [b"unaffable !"]
    ```
    """

    def __init__(
        self,
        vocabulary=None,
        lowercase=True,
        max_input_chars_per_word=100,
        unknown_token="[UNK]",
        suffix_indicator="##",
        vocab_file=None,
        **kwargs,
    ):
        kwargs.pop("dtype", None)
        super().__init__(dtype="int32", **kwargs)
        if vocabulary is None:
            vocabulary = vocab_file
        if vocabulary is None:
            raise ValueError(
                "BertTokenizer needs a vocabulary: a vocab.txt path or a list of tokens"
            )
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = read_vocabulary(os.fspath(vocabulary))
        vocabulary = [str(token) for token in vocabulary]
        if unknown_token not in vocabulary:
            raise ValueError(f"the vocabulary has no unknown token {unknown_token!r}")
        # === Config ===
        self.vocabulary = vocabulary
        self.lowercase = bool(lowercase)
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self.unknown_token = unknown_token
        self.suffix_indicator = suffix_indicator
        # === Special ids ===
        index = {token: i for i, token in enumerate(vocabulary)}
        self.vocab_size = len(vocabulary)
        self.unk_id = index[unknown_token]
        self.cls_id = index.get("[CLS]")
        self.sep_id = index.get("[SEP]")
        self.pad_id = index.get("[PAD]")
        self.mask_id = index.get("[MASK]")
        accept_raw_inputs(self)  # string inputs reach call() as they are
        self.built = True
        # === WordPiece ===
        # Words are split here (exact BERT rules); the model only sees single words. Its byte limit
        # is set so that no word of <= max_input_chars_per_word characters is cut off by it.
        self._max_bytes_per_word = self.max_input_chars_per_word * _MAX_BYTES_PER_CHAR
        self._too_long_word = "x" * (self._max_bytes_per_word + 1)
        with tf.init_scope():
            self._wordpiece = tf_text.FastWordpieceTokenizer(
                vocab=vocabulary,
                suffix_indicator=suffix_indicator,
                max_bytes_per_word=self._max_bytes_per_word,
                token_out_type=tf.int32,
                unknown_token=unknown_token,
                no_pretokenization=True,
                support_detokenization=False,
            )
            self._vocab_tensor = tf.constant(vocabulary)

    # --- construction helpers ---

    @classmethod
    def from_pretrained(cls, path, lowercase=None, **kwargs):
        """vocab.txt and casing of a model folder (HF, bert_tf, Google TF1, keras-hub preset) or hub
        id.

        Casing: tokenizer_config.json ``do_lower_case``, else HF tokenizer.json's
        normalizer ``lowercase``, else bert_tf.model_dir.read_lowercase (Google
        folder names ``cased``/``uncased``, capitalised vocab pieces); default lowercase.
        """
        folder = os.fspath(path)
        if not os.path.isdir(folder):
            folder = resolve_model_dir(path)
        vocab_file = vocab_file_of(folder)  # vocab.txt, or a keras-hub preset's vocabulary.txt
        if vocab_file is None:
            raise FileNotFoundError(f"no vocab.txt in model folder {folder}")
        if lowercase is None:
            lowercase = read_lowercase_setting(folder, default=None)
        if lowercase is None:
            lowercase = read_lowercase(folder)
        return cls(vocab_file, lowercase=lowercase, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        config.update(
            {
                "vocabulary": list(self.vocabulary),
                "lowercase": self.lowercase,
                "max_input_chars_per_word": self.max_input_chars_per_word,
                "unknown_token": self.unknown_token,
                "suffix_indicator": self.suffix_indicator,
            }
        )
        return config

    def trackables(self):
        """The TensorFlow objects (tf.Modules) the in-graph tokenization reads: the WordPiece model.

        A tf.Module that calls this tokenizer and is saved as a SavedModel tracks
        these (export/signatures.py does), so whatever resources they hold are saved.
        """
        return [self._wordpiece]

    def id_to_token(self, token_id):
        return self.vocabulary[int(token_id)]

    def token_to_id(self, token):
        try:
            return self.vocabulary.index(token)
        except ValueError as e:
            raise KeyError(f"token {token!r} is not in the vocabulary") from e

    # --- tokenization ---

    def normalize(self, texts):
        """The normalized text BERT tokenizes (tf.string, same shape)."""
        return normalize_text(tf.convert_to_tensor(texts, tf.string), self.lowercase)

    def _split_words(self, normalized):
        """[B] normalized strings -> words [B, W] with byte offsets into the normalized strings."""
        return tf_text.regex_split_with_offsets(
            normalized, delim_regex_pattern=f" +|[{_PUNCT}]", keep_delim_regex_pattern=f"[{_PUNCT}]"
        )

    def _wordpiece_words(self, words, with_offsets=False):
        """Ragged [B, W] words -> ragged [B, W, P] ids (and byte offsets within each word)."""
        flat = words.flat_values
        too_long = tf.strings.length(flat, unit="UTF8_CHAR") > self.max_input_chars_per_word
        flat = tf.where(too_long, self._too_long_word, flat)
        if not with_offsets:
            return words.with_flat_values(self._wordpiece.tokenize(flat))
        ids, starts, ends = self._wordpiece.tokenize_with_offsets(flat)  # [N_words, P]
        # The unknown token of a word covers the whole word.
        word_bytes = tf.cast(tf.strings.length(words.flat_values), ends.dtype)
        ends = tf.where(
            tf.equal(ids, self.unk_id), tf.expand_dims(word_bytes, -1) + tf.zeros_like(ends), ends
        )
        return tuple(words.with_flat_values(t) for t in (ids, starts, ends))

    def call(self, inputs):
        texts = tf.convert_to_tensor(inputs, tf.string)
        scalar = texts.shape.rank == 0
        if scalar:
            texts = tf.expand_dims(texts, 0)
        normalized = normalize_text(texts, self.lowercase)
        words, _, _ = self._split_words(normalized)
        ids = self._wordpiece_words(words)
        ids = ids.merge_dims(-2, -1)  # [B, N]
        return ids[0] if scalar else ids

    def tokenize(self, texts):
        return self(texts)

    def tokenize_with_offsets(self, texts):
        """ids, start and end byte offsets of each piece in the ORIGINAL strings (ragged [B, N]
        each).

        Normalization is applied one character at a time, so every normalized
        byte is traced back to the input character it came from.
        """
        texts = tf.convert_to_tensor(texts, tf.string)
        scalar = texts.shape.rank == 0
        if scalar:
            texts = tf.expand_dims(texts, 0)
        texts = tf.strings.unicode_transcode(
            texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
        )
        chars, char_starts = tf.strings.unicode_split_with_offsets(texts, "UTF-8")  # [B, C]
        char_ends = char_starts + tf.cast(tf.strings.length(chars), char_starts.dtype)
        norm_chars = chars.with_flat_values(normalize_text(chars.flat_values, self.lowercase))
        norm_lengths = tf.strings.length(norm_chars)  # [B, C] bytes each char became
        normalized = tf.strings.reduce_join(norm_chars, axis=-1)  # [B]
        # norm_end[b, c] = end byte (exclusive) of char c's output in the normalized string.
        norm_end = tf.math.cumsum(tf.cast(norm_lengths, tf.int64), axis=-1)
        words, word_starts, _ = self._split_words(normalized)
        ids, starts, ends = self._wordpiece_words(words, with_offsets=True)
        starts = starts + tf.expand_dims(word_starts, -1)
        ends = ends + tf.expand_dims(word_starts, -1)
        ids, starts, ends = (t.merge_dims(-2, -1) for t in (ids, starts, ends))
        # Piece [s, e) in normalized bytes: first source char has norm_end > s, last has
        # norm_end >= e.
        pad = tf.int64.max
        norm_end_dense = norm_end.to_tensor(default_value=pad)
        s_dense = tf.cast(starts.to_tensor(default_value=0), tf.int64)
        e_dense = tf.cast(ends.to_tensor(default_value=0), tf.int64)
        first = tf.searchsorted(norm_end_dense, s_dense, side="right", out_type=tf.int64)
        last = tf.searchsorted(norm_end_dense, e_dense, side="left", out_type=tf.int64)
        cs = tf.cast(char_starts.to_tensor(default_value=0), tf.int64)
        ce = tf.cast(char_ends.to_tensor(default_value=0), tf.int64)
        max_c = tf.maximum(tf.shape(cs, out_type=tf.int64)[1] - 1, 0)
        orig_starts = tf.gather(cs, tf.minimum(first, max_c), batch_dims=1)
        orig_ends = tf.gather(ce, tf.minimum(last, max_c), batch_dims=1)
        orig_starts = tf.RaggedTensor.from_tensor(orig_starts, lengths=ids.row_lengths())
        orig_ends = tf.RaggedTensor.from_tensor(orig_ends, lengths=ids.row_lengths())
        if scalar:
            return ids[0], orig_starts[0], orig_ends[0]
        return ids, orig_starts, orig_ends

    def detokenize(self, ids):
        """Ids [B, N] (ragged or dense) -> strings: pieces joined, '##' continuations glued.

        Special tokens [PAD] are dropped; other specials are kept as text.
        """
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
            scalar = ids.shape.rank == 1
            if scalar:
                ids = tf.expand_dims(ids, 0)
            ids = tf.RaggedTensor.from_tensor(ids)
        else:
            scalar = False
        if self.pad_id is not None:
            ids = tf.ragged.boolean_mask(ids, tf.not_equal(ids, self.pad_id))
        tokens = tf.gather(self._vocab_tensor, ids)
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        text = tf.strings.regex_replace(text, " " + self.suffix_indicator.replace("#", r"\#"), "")
        text = tf.strings.regex_replace(text, "^" + self.suffix_indicator.replace("#", r"\#"), "")
        return text[0] if scalar else text

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs.shape) + (None,), dtype="int32", ragged=True)
