"""BertMaskedLMMasker: dynamic masked-LM masking of packed token ids, in-graph (fresh masks every
call)."""

from __future__ import annotations

import keras
import tensorflow as tf

from bert_tf.raw_inputs import accept_raw_inputs

_NEVER = 2.0  # a random score above every U[0, 1) score: "never selected first"


@keras.saving.register_keras_serializable(package="bert_tf")
class BertMaskedLMMasker(keras.layers.Layer):
    """Chooses tokens to predict and corrupts them the way BERT pretraining does.

    Per row, ``n = min(max_predictions_per_seq, max(1, round(rate * selectable)))``
    tokens are chosen at random among the selectable ones (never [CLS], [SEP],
    [PAD] or padding); each chosen token becomes [MASK] with probability 0.8, a
    random vocabulary token with 0.1 and stays unchanged with 0.1. With
    ``whole_word_masking`` the choice is made over whole words (a word is a
    piece plus the ``##`` continuation pieces after it): words are visited in
    random order and each is taken if it still fits in ``n`` (google-research/bert's rule).
    Text without spaces (Chinese) has no ``##`` pieces inside a word: pass a ``word_continuation``
    [B, T] (1 where a token continues the word of the token before it, from a word segmenter such
    as jieba) and the characters of one segmented word are masked together (Chinese-BERT-wwm).

    Masks are drawn from a random generator on every call, so a ``tf.data``
    pipeline that maps this layer gives new masks every epoch.

    Call: the preprocessor's dict (``token_ids`` [B, T], optional ``padding_mask``, optional
    ``word_continuation``) or a token_ids tensor. Returns the dict with ``token_ids`` corrupted and
    ``mask_positions`` [B, P] int32, ``mask_ids`` [B, P] int32 (the original
    ids), ``mask_weights`` [B, P] float32 (0 on the unused slots), with
    P = max_predictions_per_seq.

    Args:
        vocabulary_size: random replacement ids are drawn from [0, vocabulary_size).
        mask_token_id: the [MASK] id.
        unselectable_token_ids: ids never chosen ([CLS], [SEP], [PAD] ...).
        mask_selection_rate: fraction of selectable tokens to predict (BERT: 0.15).
        mask_token_rate: chosen tokens replaced by [MASK] (BERT: 0.8).
        random_token_rate: chosen tokens replaced by a random id (BERT: 0.1).
        max_predictions_per_seq: P, the most predictions per row (BERT: 20 at length 128).
        whole_word_masking: choose whole words instead of single pieces.
        continuation_token_ids: ids of "##" pieces (needed for whole_word_masking).
        seed: int for reproducible masks, None for a fresh random state.
    """

    def __init__(
        self,
        vocabulary_size,
        mask_token_id,
        unselectable_token_ids=(0,),
        mask_selection_rate=0.15,
        mask_token_rate=0.8,
        random_token_rate=0.1,
        max_predictions_per_seq=20,
        whole_word_masking=False,
        continuation_token_ids=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 < mask_selection_rate <= 1.0:
            raise ValueError(f"mask_selection_rate must be in (0, 1], got {mask_selection_rate}")
        if (
            mask_token_rate < 0
            or random_token_rate < 0
            or mask_token_rate + random_token_rate > 1.0
        ):
            raise ValueError(
                "mask_token_rate and random_token_rate must be >= 0 and sum to at most 1"
            )
        if int(max_predictions_per_seq) < 1:
            raise ValueError(
                f"max_predictions_per_seq must be at least 1, got {max_predictions_per_seq}"
            )
        if whole_word_masking and continuation_token_ids is None:
            raise ValueError("whole_word_masking needs continuation_token_ids (use from_tokenizer)")
        # === Config ===
        self.vocabulary_size = int(vocabulary_size)
        self.mask_token_id = int(mask_token_id)
        self.unselectable_token_ids = [int(i) for i in unselectable_token_ids]
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.max_predictions_per_seq = int(max_predictions_per_seq)
        self.whole_word_masking = bool(whole_word_masking)
        self.continuation_token_ids = (
            None
            if continuation_token_ids is None
            else sorted(int(i) for i in continuation_token_ids)
        )
        self.seed = seed
        accept_raw_inputs(self)  # the feature dict reaches call() as TensorFlow tensors
        self.built = True
        with tf.init_scope():
            self._rng = (
                tf.random.Generator.from_seed(seed)
                if seed is not None
                else tf.random.Generator.from_non_deterministic_state()
            )
            is_continuation = [False] * self.vocabulary_size
            for i in self.continuation_token_ids or ():
                if 0 <= i < self.vocabulary_size:
                    is_continuation[i] = True
            self._is_continuation = tf.constant(is_continuation, tf.bool)

    @classmethod
    def from_tokenizer(cls, tokenizer, **kwargs):
        """Ids from a BertTokenizer: [MASK], the specials never chosen, the '##' pieces."""
        if tokenizer.mask_id is None:
            raise ValueError("the tokenizer's vocabulary has no [MASK] token")
        specials = [
            i
            for i in (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id)
            if i is not None
        ]
        specials += [
            i
            for i, t in enumerate(tokenizer.vocabulary)
            if t.startswith("[") and t.endswith("]") and t not in ("[UNK]",) and i not in specials
        ]
        continuation = [
            i
            for i, t in enumerate(tokenizer.vocabulary)
            if t.startswith(tokenizer.suffix_indicator)
        ]
        kwargs.setdefault("unselectable_token_ids", specials)
        kwargs.setdefault("continuation_token_ids", continuation)
        return cls(tokenizer.vocab_size, tokenizer.mask_id, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "mask_token_id": self.mask_token_id,
                "unselectable_token_ids": list(self.unselectable_token_ids),
                "mask_selection_rate": self.mask_selection_rate,
                "mask_token_rate": self.mask_token_rate,
                "random_token_rate": self.random_token_rate,
                "max_predictions_per_seq": self.max_predictions_per_seq,
                "whole_word_masking": self.whole_word_masking,
                "continuation_token_ids": self.continuation_token_ids,
                "seed": self.seed,
            }
        )
        return config

    def _selectable(self, token_ids, padding_mask):
        selectable = tf.ones_like(token_ids, tf.bool)
        for token_id in self.unselectable_token_ids:
            selectable &= tf.not_equal(token_ids, token_id)
        if padding_mask is not None:
            selectable &= tf.cast(padding_mask, tf.bool)
        return selectable

    def _choose(self, token_ids, selectable, n_predict, word_continuation=None):
        """Boolean [B, T]: the tokens chosen for prediction (at most n_predict[b] per row)."""
        shape = tf.shape(token_ids)
        scores = self._rng.uniform(shape)
        if not self.whole_word_masking:
            scores = tf.where(selectable, scores, _NEVER)
            rank = tf.argsort(
                tf.argsort(scores, axis=-1, stable=True), axis=-1, stable=True
            )  # 0 = first pick
            return selectable & (rank < tf.expand_dims(n_predict, -1))
        # Whole words: a word starts at a selectable piece that is not a "##" continuation of the
        # selectable piece before it. Words are visited in random order and each is taken if it
        # still fits in n (google-research/bert's rule: a word that does not fit is skipped).
        batch, length = shape[0], shape[1]
        continuation = tf.gather(
            self._is_continuation, tf.clip_by_value(token_ids, 0, self.vocabulary_size - 1)
        )
        if word_continuation is not None:  # a segmenter's word boundaries (Chinese whole words)
            continuation |= tf.cast(word_continuation, tf.bool)
        prev_selectable = tf.pad(selectable[:, :-1], [[0, 0], [1, 0]])
        starts = selectable & ~(continuation & prev_selectable)
        word_index = tf.maximum(tf.cumsum(tf.cast(starts, tf.int32), axis=-1) - 1, 0)  # [B, T]
        rows = tf.range(batch)[:, tf.newaxis]
        word_length = tf.math.unsorted_segment_sum(  # [B * T]: pieces in word k of row b
            tf.reshape(tf.cast(selectable, tf.int32), [-1]),
            tf.reshape(rows * length + word_index, [-1]),
            batch * length,
        )
        word_length = tf.reshape(word_length, [batch, length])  # [B, T (word slots)]
        n_words = tf.reduce_sum(tf.cast(starts, tf.int32), axis=-1, keepdims=True)
        word_scores = tf.where(tf.range(length)[tf.newaxis, :] < n_words, scores, _NEVER)
        ranked = tf.argsort(word_scores, axis=-1, stable=True)  # word slots in visiting order
        ranked_length = tf.gather(word_length, ranked, batch_dims=1)  # [B, T]

        def visit(state, lengths):  # one rank step for the whole batch
            count, _ = state
            fits = (lengths > 0) & (count + lengths <= n_predict)
            return count + tf.where(fits, lengths, 0), fits

        _, taken = tf.scan(
            visit,
            tf.transpose(ranked_length),
            initializer=(tf.zeros_like(n_predict), tf.zeros_like(n_predict, tf.bool)),
        )
        taken = tf.transpose(taken)  # [B, T] by rank
        word_taken = tf.gather(
            taken, tf.argsort(ranked, axis=-1, stable=True), batch_dims=1
        )  # by word slot
        return selectable & tf.gather(word_taken, word_index, batch_dims=1)

    def call(self, inputs):
        features = dict(inputs) if isinstance(inputs, dict) else {"token_ids": inputs}
        token_ids = tf.convert_to_tensor(features["token_ids"])
        scalar = token_ids.shape.rank == 1
        if scalar:
            token_ids = token_ids[tf.newaxis]
        padding_mask = features.get("padding_mask")
        if padding_mask is not None and scalar:
            padding_mask = tf.convert_to_tensor(padding_mask)[tf.newaxis]
        selectable = self._selectable(token_ids, padding_mask)
        n_selectable = tf.reduce_sum(tf.cast(selectable, tf.float32), axis=-1)
        n_predict = tf.cast(tf.round(n_selectable * self.mask_selection_rate), tf.int32)
        n_predict = tf.where(n_selectable > 0, tf.maximum(n_predict, 1), 0)
        n_predict = tf.minimum(n_predict, self.max_predictions_per_seq)
        word_continuation = features.get("word_continuation")
        if word_continuation is not None and scalar:
            word_continuation = tf.convert_to_tensor(word_continuation)[tf.newaxis]
        chosen = self._choose(token_ids, selectable, n_predict, word_continuation)  # [B, T]

        # 80% [MASK], 10% random id, 10% unchanged; decided per token.
        shape = tf.shape(token_ids)
        draw = self._rng.uniform(shape)
        random_ids = self._rng.uniform(shape, maxval=self.vocabulary_size, dtype=tf.int32)
        corrupted = tf.where(
            draw < self.mask_token_rate,
            tf.cast(self.mask_token_id, token_ids.dtype),
            tf.where(
                draw < self.mask_token_rate + self.random_token_rate,
                tf.cast(random_ids, token_ids.dtype),
                token_ids,
            ),
        )
        masked = tf.where(chosen, corrupted, token_ids)

        # Positions of the chosen tokens, ascending, padded to P with weight 0.
        p = self.max_predictions_per_seq
        positions = tf.where(chosen, tf.range(shape[1])[tf.newaxis, :], shape[1])
        positions = tf.sort(positions, axis=-1)[:, :p]
        positions = tf.pad(
            positions,
            [[0, 0], [0, tf.maximum(p - tf.shape(positions)[1], 0)]],
            constant_values=shape[1],
        )
        positions = tf.reshape(positions, [-1, p])  # static P for downstream input specs
        weights = tf.cast(positions < shape[1], tf.float32)
        positions = tf.where(positions < shape[1], positions, 0)
        mask_ids = tf.where(weights > 0, tf.gather(token_ids, positions, batch_dims=1), 0)

        features["token_ids"] = masked
        features["mask_positions"] = tf.cast(positions, tf.int32)
        features["mask_ids"] = tf.cast(mask_ids, tf.int32)
        features["mask_weights"] = weights
        if scalar:
            features = {
                k: v[0] if k in ("token_ids", "mask_positions", "mask_ids", "mask_weights") else v
                for k, v in features.items()
            }
        return features
