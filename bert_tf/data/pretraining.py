"""Masked-LM (+ optional next-sentence) pretraining data from plain-text files.

Input: text files (a glob), one sentence or paragraph per line, a blank line between documents.
Lines are tokenized once (eagerly, in chunks); segment pairs up to ``max_seq_length`` are built
from each document the way google-research/bert's ``create_pretraining_data.py`` does (with NSP,
half the second segments come from another document); then every epoch the tf.data map packs
the pairs and masks them anew with ``BertMaskedLMMasker`` (dynamic masking).

    ds, info = pretraining_dataset("books/*.txt", preprocessor, masker, batch_size=32, seed=0)
    # ({"token_ids", "segment_ids", "padding_mask", "mask_positions"} int32,
    #  {"mlm_logits": mask_ids int32 [B, P], "nsp_logits": next_sentence_labels int32 [B]},
    #  {"mlm_logits": mask_weights scaled to mean 1 [B, P], "nsp_logits": ones [B]})
    # = x, y, sample_weight for BertPretrainer.fit: with Keras' default reduction the MLM loss is
    # then the mean over real masked tokens, as in BERT.
    # next_sentence_labels: 0 = B follows A, 1 = B is random (google-research/bert's convention).

``flat=True`` gives one dict with every key instead (mask_ids, mask_weights, next_sentence_labels).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random

import tensorflow as tf

from bert_tf.data.classification import ragged_from_lists
from bert_tf.data.readers import DataError, expand_paths, read_text_lines

logger = logging.getLogger(__name__)


def iter_documents(paths, encoding: str = "utf-8", skip=None):
    """Files (a path, glob, comma list or list) -> documents, each a list of non-blank lines,
    lazily.

    A blank line (or the end of a file) ends a document. Reads line by line: at most one document
    is held, so a corpus of any size streams. ``skip(i)``: documents whose index makes it true are
    not yielded (a held-out split).
    """
    index, found = 0, False
    for path in expand_paths(paths):
        current = []
        for _, line in read_text_lines(path, encoding):
            line = line.strip()
            if line:
                current.append(line)
                continue
            if current:
                found = True
                if skip is None or not skip(index):
                    yield current
                index += 1
                current = []
        if current:
            found = True
            if skip is None or not skip(index):
                yield current
            index += 1
    if not found:
        raise DataError(f"{paths}: no text found")


def read_documents(paths, encoding: str = "utf-8") -> list[list[str]]:
    """All documents of iter_documents in a list (small corpora; pretraining streams)."""
    return list(iter_documents(paths, encoding))


def tokenize_documents(
    documents, tokenizer, chunk: int = 2048, segmenter=None
) -> list[list[list[int]]]:
    """Documents of lines -> documents of WordPiece id lists (empty lines after tokenization
    dropped).

    ``segmenter``: a function text -> words (e.g. ``jieba.lcut``) for whole-word masking of text
    without spaces: each word is tokenized on its own and the ids of a word's 2nd, 3rd ... tokens
    are stored as ``-(id + 1)`` (see ``split_word_marks``), so that the masker treats the
    characters of one word as one unit while the ids stay the characters' own.
    """
    flat = [line for doc in documents for line in doc]
    ids = []
    for i in range(0, len(flat), chunk):
        lines = flat[i : i + chunk]
        if segmenter is None:
            ids += tokenizer(tf.constant(lines)).to_list()
            continue
        words = [segmenter(line) for line in lines]
        pieces = tokenizer(tf.constant([w for ws in words for w in ws] or [""])).to_list()
        k = 0
        for ws in words:
            line_ids = []
            for word_ids in pieces[k : k + len(ws)]:
                line_ids += word_ids[:1] + [-(t + 1) for t in word_ids[1:]]
            k += len(ws)
            ids.append(line_ids)
    out, k = [], 0
    for doc in documents:
        sentences = [s for s in ids[k : k + len(doc)] if s]
        k += len(doc)
        if sentences:
            out.append(sentences)
    return out


def split_word_marks(ids):
    """Ragged/dense ids from ``tokenize_documents(..., segmenter)`` -> (ids, 1 where a token
    continues the word of the token before it, else 0)."""
    if isinstance(ids, tf.RaggedTensor):
        flat_ids, flat_marks = split_word_marks(ids.flat_values)
        return ids.with_flat_values(flat_ids), ids.with_flat_values(flat_marks)
    marked = ids < 0
    return tf.where(marked, -ids - 1, ids), tf.cast(marked, ids.dtype)


def _truncate_pair(a, b, max_tokens, rng):
    """google-research/bert: trim the longer side, randomly from the front or the back."""
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def create_segment_pairs(
    documents,
    max_seq_length: int = 128,
    use_nsp: bool = True,
    short_seq_prob: float = 0.1,
    dupe_factor: int = 1,
    seed: int | None = 0,
):
    """Tokenized documents -> list of ``(segment_a, segment_b, is_random_next)``.

    With ``use_nsp``: segment A is the first sentences of a chunk of consecutive sentences (or the
    first tokens of a one-sentence chunk), B the rest of the chunk, or half the time (needs >= 2
    documents) as many tokens from another document, and then ``is_random_next`` is 1. Without: the
    document's tokens cut into consecutive single segments (``segment_b`` empty).
    ``short_seq_prob`` makes some sequences shorter on purpose, so the model also sees short
    inputs. Sentences longer than the room are cut.
    """
    rng = random.Random(seed)
    specials = 3 if use_nsp else 2
    max_tokens = max_seq_length - specials
    if max_tokens < 2:
        raise ValueError(f"max_seq_length={max_seq_length} is too short for pretraining pairs")
    pairs = []
    for _ in range(dupe_factor):
        for d, _doc in enumerate(documents):
            pairs += _pairs_from_document(documents, d, max_tokens, use_nsp, short_seq_prob, rng)
    rng.shuffle(pairs)
    return pairs


def _pairs_from_document(documents, d, max_tokens, use_nsp, short_seq_prob, rng):
    doc = documents[d]
    if not use_nsp:  # the document's tokens in consecutive pieces; nothing is cut away
        stream, pairs, start = [t for s in doc for t in s], [], 0
        while start < len(stream):
            target = max_tokens if rng.random() >= short_seq_prob else rng.randint(2, max_tokens)
            pairs.append((stream[start : start + target], [], 0))
            start += target
        return pairs
    # google-research/bert's create_instances_from_document, with two changes for text whose
    # documents are single lines (a novel with one paragraph per line): a one-segment chunk is cut
    # in two at a random token, so it can still give an "is next" pair (Google's code made every
    # such pair random), and a random B is as long as the true B would have been, so the sequence
    # length does not give the label away.
    target = max_tokens if rng.random() >= short_seq_prob else rng.randint(2, max_tokens)
    pairs, chunk, length, i = [], [], 0, 0
    while i < len(doc):
        chunk.append(doc[i])
        length += len(doc[i])
        if i == len(doc) - 1 or length >= target:
            if len(chunk) >= 2:
                split = rng.randint(1, len(chunk) - 1)
                a = [t for s in chunk[:split] for t in s]
                true_b = [t for s in chunk[split:] for t in s]
            elif len(chunk[0]) >= 2:
                split, cut = 1, rng.randint(1, len(chunk[0]) - 1)
                a, true_b = list(chunk[0][:cut]), list(chunk[0][cut:])
            else:
                split, a, true_b = 1, list(chunk[0]), []
            random_next = len(documents) > 1 and (not true_b or rng.random() < 0.5)
            if random_next:
                other = rng.randrange(len(documents) - 1)
                other = other + 1 if other >= d else other  # any document but this one
                want = max(len(true_b) if true_b else target - len(a), 1)
                b = _random_text(documents, other, rng.randrange(len(documents[other])), d, want)
                i -= len(chunk) - split  # the unused sentences go back into the stream
            else:
                b = true_b
            if b:
                a, b = list(a), list(b)
                _truncate_pair(a, b, max_tokens, rng)
                if a and b:
                    pairs.append((a, b, int(random_next)))
            chunk, length = [], 0
            target = max_tokens if rng.random() >= short_seq_prob else rng.randint(2, max_tokens)
        i += 1
    return pairs


def _random_text(documents, other, start, exclude, want):
    """``want`` tokens from ``documents[other]`` at sentence ``start``, running on into the
    following documents (never ``exclude``) when that one ends first."""
    b, d, s = [], other, start
    for _ in range(len(documents)):
        if d != exclude:
            for sentence in documents[d][s:]:
                b += sentence
                if len(b) >= want:
                    return b[:want]
        d, s = (d + 1) % len(documents), 0
    return b


@dataclasses.dataclass
class PretrainingInfo:
    num_documents: int
    num_pairs: int
    num_tokens: int
    use_nsp: bool


def pretraining_dataset(
    paths,
    preprocessor,
    masker,
    batch_size: int = 32,
    use_nsp: bool = True,
    max_seq_length: int | None = None,
    short_seq_prob: float = 0.1,
    dupe_factor: int = 1,
    shuffle: bool = True,
    seed: int | None = 0,
    drop_remainder: bool = False,
    repeat: bool = False,
    flat: bool = False,
    encoding: str = "utf-8",
    segmenter=None,
):
    """Returns ``(dataset, PretrainingInfo)``; see the module docstring for the elements.

    Holds the whole (tokenized) corpus in memory: for held-out sets and small corpora; use
    ``streaming_pretraining_dataset`` for a corpus of any size.
    ``preprocessor``: BertPreprocessor (its tokenizer; ``max_seq_length`` defaults to its
    ``sequence_length``). ``masker``: a BertMaskedLMMasker, called in the map, so each epoch
    (or each pass with ``repeat``) gets new masks. ``documents`` may also be given directly as
    a list of documents (lists of lines) instead of ``paths``. ``segmenter``: see
    ``tokenize_documents`` (whole-word masking of Chinese).
    """
    tokenizer = preprocessor.tokenizer
    max_seq_length = _check_length(preprocessor, max_seq_length)
    documents = (
        paths
        if isinstance(paths, list) and paths and isinstance(paths[0], list)
        else read_documents(paths, encoding)
    )
    tokenized = tokenize_documents(documents, tokenizer, segmenter=segmenter)
    if not tokenized:
        raise DataError(f"{paths}: no tokens after tokenization")
    pairs = create_segment_pairs(
        tokenized,
        max_seq_length,
        use_nsp=use_nsp,
        short_seq_prob=short_seq_prob,
        dupe_factor=dupe_factor,
        seed=seed,
    )
    if not pairs:
        raise DataError(f"{paths}: no training pairs could be built (documents too short for NSP?)")
    n = len(pairs)
    info = PretrainingInfo(len(tokenized), n, sum(len(a) + len(b) for a, b, _ in pairs), use_nsp)
    columns = {
        "a": ragged_from_lists([p[0] for p in pairs], tf.int32),
        "b": ragged_from_lists([p[1] for p in pairs], tf.int32),
        "nsp": tf.constant([p[2] for p in pairs], tf.int32),
    }
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.ragged_batch(batch_size, drop_remainder=drop_remainder)
    return _packed_and_masked(
        ds, preprocessor, masker, batch_size, use_nsp, drop_remainder, flat
    ), info


def streaming_pretraining_dataset(
    paths,
    preprocessor,
    masker,
    batch_size: int = 32,
    use_nsp: bool = True,
    max_seq_length: int | None = None,
    short_seq_prob: float = 0.1,
    shuffle_buffer: int = 10000,
    chunk_documents: int = 1000,
    seed: int | None = 0,
    skip=None,
    drop_remainder: bool = False,
    repeat: bool = False,
    flat: bool = False,
    encoding: str = "utf-8",
    segmenter=None,
):
    """The elements of ``pretraining_dataset`` from text files of any size, streamed.

    Files are read document by document (``iter_documents``); every ``chunk_documents``
    documents are tokenized and cut into segment pairs (a random next segment comes from another
    document of the same chunk, as google-research/bert drew it from the same input shard), and
    the pairs pass through a ``shuffle_buffer``. Memory holds one chunk and the buffer, never the
    corpus. ``skip(i)``: leave out document i (a held-out split). Each pass (``repeat``) draws new
    pairs and masks. Returns the dataset only (its size is unknown until read).
    """
    tokenizer = preprocessor.tokenizer
    max_seq_length = _check_length(preprocessor, max_seq_length)
    passes = {"n": 0}

    def pairs():
        rng = random.Random(None if seed is None else seed + passes["n"])
        passes["n"] += 1
        chunk, any_pair = [], False
        for document in itertools.chain(iter_documents(paths, encoding, skip), [None]):
            if document is not None:
                chunk.append(document)
            if chunk and (document is None or len(chunk) >= chunk_documents):
                tokenized = tokenize_documents(chunk, tokenizer, segmenter=segmenter)
                for a, b, nsp in create_segment_pairs(
                    tokenized,
                    max_seq_length,
                    use_nsp=use_nsp,
                    short_seq_prob=short_seq_prob,
                    seed=rng.randrange(2**31),
                ):
                    any_pair = True
                    yield a, b, nsp
                chunk = []
        if not any_pair:
            raise DataError(f"{paths}: no training pairs could be built")

    spec = tf.TensorSpec([None], tf.int32)
    ds = tf.data.Dataset.from_generator(
        pairs, output_signature=(spec, spec, tf.TensorSpec([], tf.int32))
    )
    ds = ds.map(lambda a, b, nsp: {"a": a, "b": b, "nsp": nsp})
    if shuffle_buffer and shuffle_buffer > 1:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.ragged_batch(batch_size, drop_remainder=drop_remainder)
    return _packed_and_masked(ds, preprocessor, masker, batch_size, use_nsp, drop_remainder, flat)


def _check_length(preprocessor, max_seq_length):
    if max_seq_length is None:
        max_seq_length = int(preprocessor.sequence_length)
    if max_seq_length > int(preprocessor.sequence_length):
        raise ValueError(
            f"max_seq_length={max_seq_length} exceeds the preprocessor's sequence_length "
            f"{preprocessor.sequence_length}"
        )
    return max_seq_length


def _packed_and_masked(ds, preprocessor, masker, batch_size, use_nsp, drop_remainder, flat):
    """Batches of {"a", "b", "nsp"} (ragged ids, word marks as negative ids) -> masked features."""
    tokenizer = preprocessor.tokenizer

    def pack(batch):
        (a, a_marks), (b, b_marks) = split_word_marks(batch["a"]), split_word_marks(batch["b"])
        features = preprocessor.pack([a, b] if use_nsp else [a])
        marks = preprocessor.pack([a_marks, b_marks] if use_nsp else [a_marks])["token_ids"]
        ids = features["token_ids"]
        features["word_continuation"] = tf.cast(
            tf.equal(marks, 1)
            & tf.not_equal(ids, tokenizer.cls_id)
            & tf.not_equal(ids, tokenizer.sep_id),
            tf.int32,
        )
        return features, batch["nsp"]

    def to_features(features, nsp):
        masked = masker(features)
        out = {k: masked[k] for k in ("token_ids", "segment_ids", "padding_mask", "mask_positions")}
        out = {k: tf.cast(v, tf.int32) for k, v in out.items()}
        mask_ids = tf.cast(masked["mask_ids"], tf.int32)
        mask_weights = tf.cast(masked["mask_weights"], tf.float32)
        if drop_remainder:
            out = {k: tf.ensure_shape(v, [batch_size, None]) for k, v in out.items()}
        if flat:
            out.update(mask_ids=mask_ids, mask_weights=mask_weights)
            if use_nsp:
                out["next_sentence_labels"] = nsp
            return out
        # Keras averages a weighted loss over all B*P slots; scaling the weights to mean 1 makes
        # that the mean over the real masked tokens (BERT's loss). Weighted metrics are unaffected.
        mlm_weights = (
            mask_weights
            * tf.cast(tf.size(mask_weights), tf.float32)
            / tf.maximum(tf.reduce_sum(mask_weights), 1.0)
        )
        labels, weights = {"mlm_logits": mask_ids}, {"mlm_logits": mlm_weights}
        if use_nsp:  # Keras wants a weight for every output once one is given
            labels["nsp_logits"] = nsp
            weights["nsp_logits"] = tf.ones_like(nsp, tf.float32)
        return out, labels, weights

    ds = ds.map(pack, num_parallel_calls=tf.data.AUTOTUNE)
    # The masker draws from one random generator: a sequential map keeps the order of the draws,
    # so a seeded masker gives the same masks run after run (masking is cheap next to packing).
    ds = ds.map(to_features, num_parallel_calls=None)
    return ds.prefetch(tf.data.AUTOTUNE)
