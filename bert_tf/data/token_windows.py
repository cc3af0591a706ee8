"""TokenWindows: word labels over text of any length, in-graph, the same in evaluation and serving.

A token classifier sees at most ``sequence_length - 2`` WordPieces at a time. Longer text is cut
into overlapping windows of pieces (BERT's doc-span rule: windows start every ``window_stride``
pieces until one reaches the end) and every word takes its label from the window where its first
piece has the most context (google-research/bert ``_check_is_max_context``:
``score = min(left, right) + 0.01 * window_length``, the earliest window wins ties).

Words are what the user sees, defined on raw text by ``word_split``:

- ``"whitespace"``: runs of non-space characters (Python's ``str.isspace`` set, what
  ``read_conll`` splits lines on); each CJK ideograph is a word of its own, as BERT's basic
  tokenizer makes it. A CoNLL sentence joined with " " gives back its tokens as words.
- ``"characters"``: every non-space character is a word (character-level data such as Chinese
  char-per-line BIO files). A CoNLL sentence joined with "" gives back its characters.

Each word is WordPiece-tokenized on its own and labelled on its first piece (the convention
training uses, see bert_tf.data.conll). ``tag_text`` is the one function that evaluation
(``bert-tf-finetune``) and the exported SavedModel both run, so what is served is what was
evaluated:

    windows = TokenWindows(tokenizer, sequence_length=128, label_names=labels)
    tagged = windows.tag_text(model, tf.constant(["John lives in New York ."]))
    # ragged [B, W]: word_label_ids, word_scores, word_char_starts/ends, word_byte_starts/ends
    tags = windows.predict(model, [["John", "lives", ...]])   # one tag per CoNLL token
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# One definition of "CJK ideograph" for the tokenizer and the word split (BERT's blocks).
from bert_tf.text.bert_tokenizer import _CJK

WORD_SPLITS = ("auto", "whitespace", "characters")
DEFAULT_WORD_SPLIT = "whitespace"
DEFAULT_OUTSIDE_LABEL = "O"
# auto: "characters" when at least this share of the training tokens is a single character.
AUTO_CHARACTERS_SHARE = 0.9
# Python's str.isspace() characters: the separators of CoNLL lines (read_conll uses str.split).
_SPACE = (
    r"[\t\n\x{0B}\x{0C}\r\x{1C}-\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}"
    r"\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
)
_CONTEXT_SCALE = 100  # integer max-context score: 100 * min(left, right) + window_length
_EVAL_BATCH_CHARS = 1 << 16  # eval batches also stop at this many characters (very long texts)


def default_window_stride(sequence_length: int) -> int:
    """Half a window (sequence_length // 2), at most the window's sequence_length - 2 pieces."""
    return max(1, min(int(sequence_length) // 2, int(sequence_length) - 2))


def choose_word_split(sentences, word_split: str = "auto") -> str:
    """``word_split`` itself; "auto": "characters" when nearly all tokens are one character."""
    if word_split not in WORD_SPLITS:
        raise ValueError(f"word_split must be one of {WORD_SPLITS}, got {word_split!r}")
    if word_split != "auto":
        return word_split
    lengths = [len(w) for s in sentences for w in s]
    single = sum(n == 1 for n in lengths) / max(1, len(lengths))
    return "characters" if lengths and single >= AUTO_CHARACTERS_SHARE else "whitespace"


def join_words(words, word_split: str) -> str:
    """The raw text whose words (under ``word_split``) are ``words``: " "- or ""-joined."""
    return ("" if word_split == "characters" else " ").join(words)


def window_starts(num_pieces: int, max_pieces: int, stride: int) -> list[int]:
    """Python twin of ``TokenWindows.windows`` for one text: the piece offset of each window."""
    extra = max(0, -(-(int(num_pieces) - max_pieces) // stride))
    return [k * stride for k in range(1 + extra)]


def split_words(text, word_split: str = DEFAULT_WORD_SPLIT):
    """[B] strings -> words and offsets, in-graph.

    Returns a dict of ragged [B, W] tensors: ``words`` (string), ``char_starts``/``char_ends``
    (Unicode characters, end exclusive) and ``byte_starts``/``byte_ends`` (UTF-8 bytes) into the
    text after invalid UTF-8 is replaced by U+FFFD (valid text is unchanged).
    """
    if word_split not in ("whitespace", "characters"):
        raise ValueError(
            f"word_split must be 'whitespace' or 'characters' here, got {word_split!r}"
        )
    text = tf.strings.unicode_transcode(
        tf.convert_to_tensor(text, tf.string),
        "UTF-8",
        "UTF-8",
        errors="replace",
        replacement_char=0xFFFD,
    )
    chars, byte_starts = tf.strings.unicode_split_with_offsets(text, "UTF-8")  # [B, C]
    flat = chars.flat_values  # [N_chars]
    n = tf.size(flat)
    position = tf.ragged.range(chars.row_lengths()).flat_values  # [N_chars] index in its text
    space = tf.strings.regex_full_match(flat, _SPACE)
    if word_split == "characters":
        starts_word = tf.logical_not(space)
    else:
        cjk = tf.strings.regex_full_match(flat, f"[{_CJK}]")
        prev_space = tf.concat([[True], space[:-1]], axis=0)[:n]
        prev_cjk = tf.concat([[False], cjk[:-1]], axis=0)[:n]
        starts_word = tf.logical_not(space) & ((position == 0) | prev_space | cjk | prev_cjk)
    word_of_char = tf.cumsum(tf.cast(starts_word, tf.int64)) - 1  # [N_chars] (valid off spaces)
    num_words = tf.reduce_sum(tf.cast(starts_word, tf.int64))
    member = tf.where(tf.logical_not(space))[:, 0]  # chars inside a word
    seg = tf.gather(word_of_char, member)
    char_end = position + 1
    byte_start = byte_starts.flat_values
    byte_end = byte_start + tf.cast(tf.strings.length(flat), byte_start.dtype)

    def per_word(values, reduce):
        return reduce(tf.gather(values, member), seg, num_words)

    w_char_start = per_word(position, tf.math.unsorted_segment_min)
    w_char_end = per_word(char_end, tf.math.unsorted_segment_max)
    w_byte_start = per_word(byte_start, tf.math.unsorted_segment_min)
    w_byte_end = per_word(byte_end, tf.math.unsorted_segment_max)
    w_row = tf.boolean_mask(chars.value_rowids(), starts_word)  # [N_words]
    words = tf.strings.substr(tf.gather(text, w_row), w_byte_start, w_byte_end - w_byte_start)
    nrows = tf.shape(text, out_type=tf.int64)[0]

    def ragged(values):
        return tf.RaggedTensor.from_value_rowids(values, w_row, nrows=nrows)

    return {
        "words": ragged(words),
        "char_starts": ragged(w_char_start),
        "char_ends": ragged(w_char_end),
        "byte_starts": ragged(tf.cast(w_byte_start, tf.int64)),
        "byte_ends": ragged(tf.cast(w_byte_end, tf.int64)),
        "text": text,
    }


class TokenWindows:
    """Windows of WordPieces over texts of any length and the max-context word decision.

    Args:
        tokenizer: the model's BertTokenizer (``cls_id``, ``sep_id``, ``pad_id``; called on words).
        sequence_length: tokens per window, [CLS] and [SEP] included (windows hold
            ``sequence_length - 2`` pieces).
        label_names: the label of each class id.
        window_stride: pieces between the starts of consecutive windows (default
            ``default_window_stride(sequence_length)``), 1 .. sequence_length - 2.
        word_split: "whitespace" or "characters" (see the module docstring).
        outside_label: the "no entity" label, also given to words with no WordPiece (text the
            tokenizer drops, e.g. only control characters); ``label_names[0]`` when absent.
    """

    def __init__(
        self,
        tokenizer,
        sequence_length,
        label_names,
        window_stride=None,
        word_split=DEFAULT_WORD_SPLIT,
        outside_label=DEFAULT_OUTSIDE_LABEL,
    ):
        sequence_length = int(sequence_length)
        if sequence_length < 3:
            raise ValueError(f"sequence_length must be at least 3, got {sequence_length}")
        max_pieces = sequence_length - 2
        window_stride = (
            default_window_stride(sequence_length) if window_stride is None else int(window_stride)
        )
        if not 1 <= window_stride <= max_pieces:
            raise ValueError(
                f"window_stride must be between 1 and sequence_length - 2 = {max_pieces}, "
                f"got {window_stride}"
            )
        if word_split not in ("whitespace", "characters"):
            raise ValueError(
                f"word_split must be 'whitespace' or 'characters', got {word_split!r} "
                "(resolve 'auto' with choose_word_split first)"
            )
        if not label_names:
            raise ValueError("label_names must name at least one label")
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length
        self.label_names = [str(x) for x in label_names]
        self.window_stride = window_stride
        self.word_split = word_split
        self.outside_label = outside_label
        self.max_pieces = max_pieces
        self.fill_id = (
            self.label_names.index(outside_label) if outside_label in self.label_names else 0
        )

    def get_config(self):
        return {
            "sequence_length": self.sequence_length,
            "label_names": list(self.label_names),
            "window_stride": self.window_stride,
            "word_split": self.word_split,
            "outside_label": self.outside_label,
        }

    # === Windows ===

    def windows(self, num_pieces):
        """Piece counts [B] -> (row, start, length) int64 [NW] of every window, in order."""
        n = tf.cast(num_pieces, tf.int64)
        stride, room = (
            tf.constant(self.window_stride, tf.int64),
            tf.constant(self.max_pieces, tf.int64),
        )
        count = 1 + tf.maximum(tf.constant(0, tf.int64), (n - room + stride - 1) // stride)  # [B]
        index = tf.ragged.range(count)  # [B, K]
        row = index.value_rowids()
        start = index.flat_values * stride
        length = tf.minimum(room, tf.gather(n, row) - start)
        return row, start, length

    def pack(self, pieces, row, start, length):
        """Pieces [B, N] ragged + windows -> (features [NW, T] int32, piece index [NW, L])."""
        offsets = tf.gather(pieces.row_splits, row) + start  # [NW] first piece of each window
        index = tf.ragged.range(offsets, offsets + length)  # [NW, L] global piece index
        ids = index.with_flat_values(tf.gather(pieces.flat_values, index.flat_values))
        nw = tf.shape(row)[0]
        width = tf.reduce_max(tf.concat([length, [0]], axis=0)) + 2  # T >= 2 ([CLS] [SEP])

        def wrap(rt, left, right, pad):
            def column(v):
                return tf.RaggedTensor.from_tensor(tf.fill([nw, 1], tf.constant(v, rt.dtype)))

            return tf.concat([column(left), rt, column(right)], axis=1).to_tensor(
                default_value=tf.constant(pad, rt.dtype),
                shape=tf.stack([tf.cast(nw, tf.int64), width]),
            )

        token_ids = wrap(
            tf.cast(ids, tf.int32),
            self.tokenizer.cls_id,
            self.tokenizer.sep_id,
            self.tokenizer.pad_id,
        )
        mask = wrap(tf.ones_like(ids, tf.int32), 1, 1, 0)
        features = {
            "token_ids": token_ids,
            "segment_ids": tf.zeros_like(mask),
            "padding_mask": mask,
        }
        return features, index

    # === The decision: one label per word ===

    def tag_words(self, model, words):
        """Words [B, W] ragged string -> ``label_ids`` int32, ``scores`` float32 (ragged [B, W]).

        Runs ``model`` ({"token_ids", "segment_ids", "padding_mask"} [NW, T] -> logits
        [NW, T, C]) once over every window of the batch. A word takes the arg-max label at its
        first piece, from the window where that piece has the most context; ``scores`` is that
        label's softmax probability. Words with no piece get the outside label and score 0.
        """
        word_pieces = self.tokenizer(words.flat_values)  # [N_words, P]
        pieces = tf.RaggedTensor.from_row_splits(
            word_pieces.flat_values, tf.gather(word_pieces.row_splits, words.row_splits)
        )  # [B, N]
        row, start, length = self.windows(pieces.row_lengths())
        features, index = self.pack(pieces, row, start, length)
        logits = tf.cast(model(features, training=False), tf.float32)  # [NW, T, C]
        num_classes = len(self.label_names)
        # Every occurrence of a piece in a window: window w, position p -> logits[w, p + 1].
        occ_window = index.value_rowids()  # [N_occ]
        occ_pos = tf.ragged.range(length).flat_values  # [N_occ]
        occ_piece = index.flat_values  # [N_occ]
        occ_logits = tf.gather_nd(
            logits, tf.stack([occ_window, occ_pos + 1], axis=-1)
        )  # [N_occ, C]
        occ_len = tf.gather(length, occ_window)
        score = _CONTEXT_SCALE * tf.minimum(occ_pos, occ_len - 1 - occ_pos) + occ_len  # [N_occ]
        num_pieces = tf.shape(pieces.flat_values, out_type=tf.int64)[0]
        best = tf.math.unsorted_segment_max(score, occ_piece, num_pieces)  # [N_pieces]
        num_occ = tf.shape(occ_piece, out_type=tf.int64)[0]
        occurrence = tf.range(num_occ, dtype=tf.int64)  # window order: earliest first
        chosen = tf.math.unsorted_segment_min(
            tf.where(tf.equal(score, tf.gather(best, occ_piece)), occurrence, num_occ),
            occ_piece,
            num_pieces,
        )
        # Each word's first piece; a word without pieces reads the zero row appended at the end.
        has_piece = word_pieces.row_lengths() > 0  # [N_words]
        first = tf.where(
            has_piece,
            tf.gather(
                chosen, tf.minimum(word_pieces.row_splits[:-1], tf.maximum(num_pieces - 1, 0))
            ),
            num_occ,
        )
        padded = tf.concat([occ_logits, tf.zeros([1, num_classes], tf.float32)], axis=0)
        word_logits = tf.gather(padded, first)  # [N_words, C]
        probs = tf.nn.softmax(word_logits, axis=-1)
        label_ids = tf.where(
            has_piece, tf.argmax(word_logits, axis=-1, output_type=tf.int32), self.fill_id
        )
        scores = tf.where(has_piece, tf.reduce_max(probs, axis=-1), 0.0)
        return {
            "label_ids": words.with_flat_values(label_ids),
            "scores": words.with_flat_values(scores),
        }

    def tag_text(self, model, text):
        """[B] raw strings -> ragged [B, W]: ``word_label_ids``, ``word_scores``,
        ``word_char_starts``, ``word_char_ends``, ``word_byte_starts``, ``word_byte_ends``
        (+ ``text``: the cleaned [B])."""
        split = split_words(text, self.word_split)
        tagged = self.tag_words(model, split["words"])
        return {
            "word_label_ids": tagged["label_ids"],
            "word_scores": tagged["scores"],
            "word_char_starts": split["char_starts"],
            "word_char_ends": split["char_ends"],
            "word_byte_starts": split["byte_starts"],
            "word_byte_ends": split["byte_ends"],
            "text": split["text"],
        }

    def serving_outputs(self, model, text):
        """[B] raw strings -> the NER SavedModel's dense outputs (see export.signatures)."""
        tagged = self.tag_text(model, text)
        text = tagged["text"]
        ids = tagged["word_label_ids"]  # [B, W]
        flat_ids = ids.flat_values
        names = tf.constant(self.label_names, tf.string)
        types = tf.gather(
            tf.constant([entity_type(x) for x in self.label_names], tf.string), flat_ids
        )
        begins_label = tf.gather(
            tf.constant([x.startswith(("B-", "S-")) for x in self.label_names]), flat_ids
        )
        inside = tf.logical_not(
            tf.gather(tf.constant([x == self.outside_label for x in self.label_names]), flat_ids)
        )
        n = tf.size(flat_ids)
        row_first = tf.equal(tf.ragged.range(ids.row_lengths()).flat_values, 0)
        prev_types = tf.concat([[""], types[:-1]], axis=0)[:n]
        prev_inside = tf.concat([[False], inside[:-1]], axis=0)[:n]
        # conlleval's chunk starts for BIO: B-X, or an I-X after O / another type / a row start.
        begins = inside & (
            begins_label | row_first | tf.logical_not(prev_inside) | tf.not_equal(prev_types, types)
        )
        entity_of_word = tf.cumsum(tf.cast(begins, tf.int64)) - 1
        total = tf.reduce_sum(tf.cast(begins, tf.int64))
        member = tf.where(inside)[:, 0]
        seg = tf.gather(entity_of_word, member)

        def per_entity(values, reduce):
            return reduce(tf.gather(values.flat_values, member), seg, total)

        e_char_start = per_entity(tagged["word_char_starts"], tf.math.unsorted_segment_min)
        e_char_end = per_entity(tagged["word_char_ends"], tf.math.unsorted_segment_max)
        e_byte_start = per_entity(tagged["word_byte_starts"], tf.math.unsorted_segment_min)
        e_byte_end = per_entity(tagged["word_byte_ends"], tf.math.unsorted_segment_max)
        e_score = per_entity(tagged["word_scores"], tf.math.unsorted_segment_mean)
        e_row = tf.boolean_mask(ids.value_rowids(), begins)
        batch = tf.shape(text)[0]
        counts = tf.math.bincount(
            tf.cast(e_row, tf.int32), minlength=batch, maxlength=batch, dtype=tf.int64
        )
        e_text = tf.strings.substr(tf.gather(text, e_row), e_byte_start, e_byte_end - e_byte_start)
        minus_one = tf.constant(-1, tf.int64)

        def dense(values, default):
            return tf.RaggedTensor.from_row_lengths(values, counts).to_tensor(default_value=default)

        return {
            "word_labels": tf.gather(names, ids).to_tensor(default_value=""),
            "word_starts": tagged["word_char_starts"].to_tensor(default_value=minus_one),
            "word_ends": tagged["word_char_ends"].to_tensor(default_value=minus_one),
            "entity_types": dense(tf.boolean_mask(types, begins), ""),
            "entity_texts": dense(e_text, ""),
            "entity_starts": dense(e_char_start, minus_one),
            "entity_ends": dense(e_char_end, minus_one),
            "entity_scores": dense(e_score, 0.0),
            "num_entities": counts,
        }

    # === Evaluation: CoNLL sentences through tag_text ===

    def predict_words(self, model, sentences, batch_size: int = 32):
        """Per sentence (a list of tokens): ``(tags, spans)`` of the words the SavedModel sees in
        ``join_words(sentence)``: their labels and ``(char_start, char_end)``, computed by
        ``tag_text``. Sentences of similar length are batched together."""
        texts = [join_words(s, self.word_split) for s in sentences]
        order = np.argsort([len(t) for t in texts], kind="stable")
        run = tf.function(
            lambda t: self.tag_text(model, t),
            reduce_retracing=True,
            input_signature=[tf.TensorSpec([None], tf.string)],
        )
        result = [None] * len(texts)
        i = 0
        while i < len(order):
            j, chars = i, 0
            while j < len(order) and j - i < batch_size and (j == i or chars < _EVAL_BATCH_CHARS):
                chars += len(texts[order[j]])
                j += 1
            out = run(tf.constant([texts[k] for k in order[i:j]], tf.string))
            ids, starts, ends = (
                out[key].to_list()
                for key in ("word_label_ids", "word_char_starts", "word_char_ends")
            )
            for r, k in enumerate(order[i:j]):
                result[k] = ([self.label_names[x] for x in ids[r]], list(zip(starts[r], ends[r])))
            i = j
        return result

    def token_tags(self, sentences, words):
        """Each token's tag: that of the word starting at its first character."""
        tags = []
        for sentence, (word_tags, spans) in zip(sentences, words):
            by_start = {start: tag for tag, (start, _) in zip(word_tags, spans)}
            fill = self.label_names[self.fill_id]
            tags.append(
                [
                    by_start.get(start, fill)
                    for start, _ in token_char_spans(sentence, self.word_split)
                ]
            )
        return tags

    def predict(self, model, sentences, batch_size: int = 32):
        """Tags per token of each sentence (lists of words), computed by ``tag_text`` on the
        sentences joined as raw text (``join_words``): exactly what the SavedModel returns for
        that text. Each token takes the label of the word that starts at its first character."""
        return self.token_tags(sentences, self.predict_words(model, sentences, batch_size))


def token_char_spans(words, word_split):
    """``(char_start, char_end)`` of each token in ``join_words(words, word_split)``."""
    gap = 0 if word_split == "characters" else 1
    spans, at = [], 0
    for w in words:
        spans.append((at, at + len(w)))
        at += len(w) + gap
    return spans


def entity_type(label):
    """ "B-PER" -> "PER" (B-/I-/E-/S- prefixes); a label without one is its own type."""
    return label[2:] if label[:2] in ("B-", "I-", "E-", "S-") else label
