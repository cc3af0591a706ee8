"""BertTextEmbedder: raw strings -> sentence embeddings, the way sentence-transformers computes
them."""

from __future__ import annotations

import json
import os
import time

import keras
import numpy as np
from keras import ops

from bert_tf.model_dir import resolve_model_dir
from bert_tf.models.bert_encoder import BertEncoder
from bert_tf.raw_inputs import accept_raw_inputs
from bert_tf.text.bert_preprocessor import BertPreprocessor

POOLINGS = ("mean", "cls", "max")
JIT_COMPILE_MODES = (True, False, "auto", "adaptive")
LENGTH_BUCKET = 32  # embed(): under XLA, batches pad their length up to a multiple of this
# embed(jit_compile="auto"), the default, decides from the call's inputs only: a length bucket
# runs under XLA when this call gives it at least XLA_MIN_BUCKET_TOKENS tokens (rows x padded
# length, summed over its batches). Derived from measurements on 2 CPU cores: MiniLM's plain graph
# takes ~1.27 s per [32, 128] batch (3.1e-4 s per token, README "Bare encoder"), XLA saves ~25% of
# that and compiles one bucket in 1-2 s, so a bucket repays its compile after ~13k-26k tokens;
# 32768 tokens = 8 full batches of [32, 128].
XLA_MIN_BUCKET_TOKENS = 32768
# embed(jit_compile="adaptive") cost model: XLA ran MiniLM-size batches of review-length text in
# about 0.75x the plain graph's time on 2 CPU cores (python -m benchmarks --sections embedding),
# and one length bucket compiled in 1-2 s; the measured compile time replaces the prior.
XLA_SAVING = 0.25
XLA_COMPILE_SECONDS = 2.0


def _read_json(path):
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_sentence_transformers_pooling(folder):
    """Pooling of a sentence-transformers folder (1_Pooling/config.json), or None when absent."""
    config = _read_json(os.path.join(folder, "1_Pooling", "config.json"))
    if config is None:
        return None
    modes = [
        name
        for key, name in (
            ("pooling_mode_mean_tokens", "mean"),
            ("pooling_mode_cls_token", "cls"),
            ("pooling_mode_max_tokens", "max"),
        )
        if config.get(key)
    ]
    unsupported = [
        k
        for k in (
            "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens",
            "pooling_mode_lasttoken",
        )
        if config.get(k)
    ]
    if unsupported or len(modes) != 1:
        raise ValueError(
            f"unsupported sentence-transformers pooling in {folder}: "
            f"{', '.join(unsupported + modes) or 'none'} (one of mean, cls, max is supported)"
        )
    return modes[0]


# sentence-transformers modules from_pretrained reproduces; any other (Dense, LayerNorm, ...)
# changes the embedding, so a folder holding one is refused rather than embedded without it.
SUPPORTED_ST_MODULES = ("Transformer", "Pooling", "Normalize")


def check_sentence_transformers_modules(folder):
    """Raises (one line) when modules.json lists a module BertTextEmbedder does not apply."""
    for module in _read_json(os.path.join(folder, "modules.json")) or []:
        kind = str(module.get("type", ""))
        if kind.rsplit(".", 1)[-1] not in SUPPORTED_ST_MODULES:
            where = module.get("path") or module.get("name")
            raise ValueError(
                f"{folder}: sentence-transformers module {where!r} ({kind}) is not supported "
                f"(only {', '.join(SUPPORTED_ST_MODULES)}); embedding without it would give other "
                "vectors than sentence-transformers"
            )


@keras.saving.register_keras_serializable(package="bert_tf")
class BertTextEmbedder(keras.Model):
    """tf.string [B] -> [B, H] float32 sentence embeddings.

    Tokenize and pack (padding only to the longest text of the batch), run the
    encoder, pool the last layer's token vectors, then L2-normalize.

    Args:
        encoder: a BertEncoder.
        preprocessor: a BertPreprocessor (its sequence_length caps the tokens per text).
        pooling: "mean" over non-padding tokens (sentence-transformers' default),
            "cls" (the [CLS] vector) or "max" over non-padding tokens.
        normalize: divide each embedding by its L2 norm (cosine = dot product).
        jit_compile: how `embed()` runs the encoder and pooling; batches are grouped
            in length buckets ([rows, a multiple of LENGTH_BUCKET tokens]).
            "auto" (default, deterministic): a bucket runs as an XLA program when
            this call gives it at least XLA_MIN_BUCKET_TOKENS tokens, else in a
            plain TensorFlow graph; the choice depends on the texts and
            batch_size only, never on timings or earlier calls.
            "adaptive": decides from wall-clock timings kept on the model (the
            plain graph's measured cost per token, compile times, the tokens each
            bucket saw in earlier calls): faster over many calls, but the path
            (and so the last bits of the floats) depends on load and history.
            True: XLA for every bucket; False: the plain graph only.
            Tokenization always runs in a plain graph.

    Example:

    ```python
    embedder = BertTextEmbedder.from_pretrained("path/to/all-MiniLM-L6-v2")
    vectors = embedder.embed(["A man is playing a guitar.", "Someone plays an instrument."])
    vectors.shape  # (2, 384); rows have norm 1, so vectors @ vectors.T are cosines
    ```
    """

    def __init__(
        self, encoder, preprocessor, pooling="mean", normalize=True, jit_compile="auto", **kwargs
    ):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if jit_compile not in JIT_COMPILE_MODES:
            raise ValueError(
                f"jit_compile must be True, False, 'auto' or 'adaptive', got {jit_compile!r}"
            )
        super().__init__(**kwargs)
        # === Config ===
        self.encoder = encoder
        self.preprocessor = preprocessor
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.jit_compile = jit_compile
        accept_raw_inputs(self)  # strings reach call() as they are
        self._embed_fn = None
        self._preprocess_fn = None
        self._pool_fn = None
        self._compiled = set()  # XLA buckets (rows, length) compiled so far
        # jit_compile="adaptive" only: timings and the tokens per bucket over every embed() call.
        self._compile_seconds = []
        self._plain_seconds, self._plain_tokens = 0.0, 0
        self._bucket_tokens = {}
        self.built = True  # the encoder arrives built; nothing else has weights

    @classmethod
    def from_pretrained(
        cls,
        path,
        pooling=None,
        normalize=True,
        sequence_length=None,
        dtype=None,
        jit_compile="auto",
    ):
        """A model folder (HF / sentence-transformers / bert_tf / Google) -> embedder.

        pooling: None reads 1_Pooling/config.json when present, else "mean".
        sequence_length: None reads sentence_bert_config.json's max_seq_length when
        present, else the model's max_position_embeddings (512 for BERT).
        """
        folder = path
        if not os.path.isdir(folder):
            folder = resolve_model_dir(path)
        check_sentence_transformers_modules(folder)
        if pooling is None:
            pooling = read_sentence_transformers_pooling(folder) or "mean"
        # sentence-transformers may keep the transformer in a subfolder (modules.json "path").
        for module in _read_json(os.path.join(folder, "modules.json")) or []:
            if str(module.get("type", "")).endswith("Transformer") and module.get("path"):
                folder = os.path.join(folder, module["path"])
        encoder = BertEncoder.from_pretrained(folder, dtype=dtype)
        if sequence_length is None:
            st_config = _read_json(os.path.join(folder, "sentence_bert_config.json")) or {}
            sequence_length = (
                st_config.get("max_seq_length") or encoder.config.max_position_embeddings
            )
        sequence_length = min(int(sequence_length), encoder.config.max_position_embeddings)
        preprocessor = BertPreprocessor.from_pretrained(folder, sequence_length=sequence_length)
        return cls(
            encoder, preprocessor, pooling=pooling, normalize=normalize, jit_compile=jit_compile
        )

    def call(self, texts, training=False):
        return self._pool(self.preprocessor(texts), training=training)

    def _pool(self, features, training=False):
        """Packed features -> [B, H] float32 embeddings."""
        sequence = self.encoder(features, training=training)["sequence_output"]  # [B, T, H]
        mask = ops.expand_dims(ops.cast(features["padding_mask"], sequence.dtype), -1)  # [B, T, 1]
        if self.pooling == "mean":
            pooled = ops.sum(sequence * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1e-9)
        elif self.pooling == "max":
            pooled = ops.max(ops.where(mask > 0, sequence, -1e9), axis=1)
        else:
            pooled = sequence[:, 0, :]
        if self.normalize:
            norm = ops.sqrt(ops.sum(ops.square(pooled), axis=-1, keepdims=True))
            pooled = pooled / ops.maximum(norm, 1e-12)
        return ops.cast(pooled, "float32")  # [B, H]

    def embed(self, texts, batch_size=32):
        """A list of strings -> np.ndarray [N, H], in input order.

        Texts are sorted by WordPiece count and batched, so each batch pads only
        to its own longest text. Batches run through a plain TensorFlow graph,
        or, per ``jit_compile``, through XLA programs compiled per length bucket
        ([rows, multiple of LENGTH_BUCKET]; padding rows and columns are masked
        out and dropped).
        """
        import tensorflow as tf

        texts = [t if isinstance(t, (str, bytes)) else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.encoder.config.hidden_size), "float32")
        # Sort by exact WordPiece count (characters are a poor proxy: URLs, numbers and
        # rare words make many pieces), tokenizing in chunks to bound memory.
        tokenizer = self.preprocessor.tokenizer
        lengths = np.concatenate(
            [
                np.asarray(tokenizer(tf.constant(texts[s : s + 4096])).row_lengths())
                for s in range(0, len(texts), 4096)
            ]
        )
        order = np.argsort(lengths, kind="stable")
        batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        cap = int(self.preprocessor.sequence_length)
        keys = [
            self._bucket(min(int(lengths[idx].max()) + 2, cap), len(idx), batch_size)
            for idx in batches
        ]
        call_tokens = {}  # tokens this call gives each bucket
        for key in keys:
            call_tokens[key] = call_tokens.get(key, 0) + key[0] * key[1]
        if self.jit_compile == "adaptive":  # this call's tokens count as use of the bucket at once
            for key, tokens in call_tokens.items():
                self._bucket_tokens[key] = self._bucket_tokens.get(key, 0) + tokens
        out = np.zeros((len(texts), self.encoder.config.hidden_size), "float32")
        for idx, key in zip(batches, keys):
            use_xla = self._use_xla(key, call_tokens[key])
            out[idx] = self._embed_batch([texts[i] for i in idx], key, use_xla)
        return out

    def _bucket(self, length, n, batch_size):
        """(rows, length) of the XLA program for a batch of n texts whose longest packs to
        length."""
        rows = min(
            batch_size, 1 << (n - 1).bit_length()
        )  # a short last batch pads to a power of two
        cap = int(self.preprocessor.sequence_length)
        return rows, min(-(-length // LENGTH_BUCKET) * LENGTH_BUCKET, max(length, cap))

    def _plain_seconds_per_token(self):
        """Measured cost of the plain graph (traced calls only), or None before any."""
        return self._plain_seconds / self._plain_tokens if self._plain_tokens else None

    def _use_xla(self, key, call_tokens):
        """Whether bucket ``key`` runs under XLA; ``call_tokens``: the tokens this call gives it.

        "auto": call_tokens >= XLA_MIN_BUCKET_TOKENS (inputs only). "adaptive": compile a
        bucket once its expected saving beats the compile: the bucket's tokens (this call's
        and earlier calls', as a guess of future use) x measured plain seconds per token x
        XLA_SAVING against the measured compile time (XLA_COMPILE_SECONDS before any).
        """
        if self.jit_compile in (True, False):
            return bool(self.jit_compile)
        if self.jit_compile == "auto":
            return call_tokens >= XLA_MIN_BUCKET_TOKENS
        if key in self._compiled:
            return True
        seconds_per_token = self._plain_seconds_per_token()
        if seconds_per_token is None:
            return False
        compile_seconds = (
            float(np.mean(self._compile_seconds)) if self._compile_seconds else XLA_COMPILE_SECONDS
        )
        return self._bucket_tokens[key] * seconds_per_token * XLA_SAVING > compile_seconds

    def _embed_batch(self, batch, key, use_xla):
        import tensorflow as tf

        started = time.perf_counter()
        adaptive = self.jit_compile == "adaptive"
        if not use_xla:
            traced = self._embed_fn is not None
            if not traced:
                self._embed_fn = tf.function(
                    lambda x: self(x, training=False),
                    input_signature=[tf.TensorSpec([None], tf.string)],
                )
            result = self._embed_fn(tf.constant(batch)).numpy()
            if traced and adaptive:  # the first call also traces: not a fair sample of the cost
                self._plain_seconds += time.perf_counter() - started
                self._plain_tokens += len(batch) * key[1]
            return result
        if self._preprocess_fn is None:
            self._preprocess_fn = tf.function(
                self.preprocessor, input_signature=[tf.TensorSpec([None], tf.string)]
            )
            self._pool_fn = tf.function(lambda f: self._pool(f, training=False), jit_compile=True)
        n = len(batch)
        rows, target = key
        features = self._preprocess_fn(tf.constant(batch + [""] * (rows - n)))
        length = int(features["token_ids"].shape[1])
        pad_values = {"token_ids": self.preprocessor.tokenizer.pad_id}
        features = {
            k: tf.pad(v, [[0, 0], [0, target - length]], constant_values=pad_values.get(k, 0))
            for k, v in features.items()
        }
        result = self._pool_fn(features).numpy()[:n]
        if key not in self._compiled:
            self._compiled.add(key)
            if not adaptive:
                return result
            elapsed = time.perf_counter() - started
            seconds_per_token = self._plain_seconds_per_token() or 0.0
            run = seconds_per_token * rows * target * (1 - XLA_SAVING)
            self._compile_seconds.append(max(elapsed - run, 0.1))
        return result

    def predict(self, x, batch_size=None, verbose="auto", **kwargs):
        """Lists / arrays of strings go through embed() (Keras's adapters reject string arrays)."""
        if isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.dtype.kind in "OUS"):
            return self.embed(
                [t.decode("utf-8") if isinstance(t, bytes) else t for t in np.asarray(x).ravel()],
                batch_size=batch_size or 32,
            )
        return super().predict(x, batch_size=batch_size, verbose=verbose, **kwargs)

    def compute_output_spec(self, texts, training=False):
        return keras.KerasTensor((texts.shape[0], self.encoder.config.hidden_size), dtype="float32")

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor),
            "pooling": self.pooling,
            "normalize": self.normalize,
            "jit_compile": self.jit_compile,
            # What Model.get_config would add (not called: it describes a functional graph).
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_policy.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["preprocessor"] = keras.saving.deserialize_keras_object(config["preprocessor"])
        return cls(**config)
