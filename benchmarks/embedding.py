"""End-to-end sentence embedding of real text: bert_tf vs keras-hub, both at their defaults.

Both sides use the real all-MiniLM-L6-v2 weights from the same local folder:
bert_tf through ``BertTextEmbedder.from_pretrained(path)``, keras-hub through
``keras_hub.models.BertTextEmbedder.from_preset(path)`` (keras-hub converts the
Hugging Face folder itself). keras-hub's defaults: its preprocessor pads every
text to ``sequence_length=256``, ``predict`` batches by 32, and ``jit_compile``
"auto" resolves to no XLA on a CPU-only machine. Each side is called the way
its documentation shows (``encode_text`` for keras-hub), on the same real texts,
after one warm-up call, alternating the two. Throughput = texts / second.
The embeddings of the two are compared as a correctness check (keras-hub's
BERT uses the tanh GELU approximation, and truncates at 256 tokens, so they
agree closely but not bit for bit).
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import interleaved, median, row
from benchmarks.realtext import load_texts


def _ours(path):
    from bert_tf.models.bert_text_embedder import BertTextEmbedder

    return BertTextEmbedder.from_pretrained(path)


def _theirs(path):
    import keras_hub

    return keras_hub.models.BertTextEmbedder.from_preset(str(path))


def embed_ours(embedder, texts):
    """bert_tf: the documented call, tf.string [B] -> [B, H]."""
    embed = getattr(embedder, "embed", None)
    out = embed(texts) if callable(embed) else embedder(np.asarray(texts, dtype=object))
    return np.asarray(out)


def embed_theirs(embedder, texts):
    return np.asarray(embedder.encode_text(texts, verbose=0))


def run(quick=False, context=None):
    from bert_tf.public_data import minilm_path

    path = minilm_path()
    # (corpus, number of texts, repetitions). The e-mails are long (most reach the
    # 256-token cap), so fewer of them keep the run within minutes on 2 cores.
    plan = (
        [("tweets", 32, 1)]
        if quick
        else [("tweets", 512, 2), ("reviews", 512, 1), ("spam", 128, 1)]
    )
    ours, theirs = _ours(path), _theirs(path)
    warm = load_texts("tweets", 8 if quick else 64, seed=1)  # traces both graphs outside the timing
    embed_ours(ours, warm), embed_theirs(theirs, warm)
    rows = []
    for corpus, n, reps in plan:
        texts = load_texts(corpus, n)
        last = {}
        times = interleaved(
            {
                "ours": lambda last=last, texts=texts: last.update(ours=embed_ours(ours, texts)),
                "theirs": lambda last=last, texts=texts: last.update(
                    theirs=embed_theirs(theirs, texts)
                ),
            },
            reps,
            warmup=0,
        )
        a, b = last["ours"], last["theirs"]
        cosine = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        rows.append(
            row(
                "embedding",
                f"MiniLM-L6 text embedding, {len(texts)} {corpus}, defaults",
                ours=len(texts) / median(times["ours"]),
                theirs=len(texts) / median(times["theirs"]),
                unit="texts/s",
                higher_is_better=True,
                corpus=corpus,
                n=len(texts),
                reps=reps,
                ours_times=times["ours"],
                theirs_times=times["theirs"],
                ours_sequence_length=ours.preprocessor.sequence_length,
                theirs_sequence_length=theirs.preprocessor.sequence_length,
                cosine_min=float(cosine.min()),
                cosine_median=float(np.median(cosine)),
            )
        )
    return rows
