"""Fine-tunes extractive QA with Hugging Face transformers + PyTorch, as the reference for
`bert-tf-finetune --task=question_answering` (README "Extractive question answering (XQuAD)").

Same recipe: windows of at most 128 tokens ([CLS] question [SEP] window [SEP], the question cut
to 64 tokens), 2 epochs, batch 32, AdamW lr 1e-4 with weight decay 0.01 (not on biases and
LayerNorm), linear warmup over 10% of the steps then linear decay, gradient clipping at 1.0;
answers: n-best 20 starts and ends per window, at most 30 tokens, start where its window gives it
the most context is NOT required (transformers' run_qa does not apply that rule), best over the
windows; official SQuAD v1.1 exact match / F1. transformers' ``stride`` is the overlap between
windows, so ``--doc_stride=64`` here means windows ``room - 64`` tokens apart (bert-tf: 64 apart).
Run in a separate venv (the package and its tests never need torch):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 transformers==5.23.0 numpy
    /tmp/refvenv/bin/python tools/hf_qa_reference.py MODEL_DIR TRAIN.json TEST.json [--epochs=2]

MODEL_DIR: the all-MiniLM-L6-v2 folder; TRAIN/TEST: tools/split_squad.py's output.
Not run in this repository's tests (it needs torch). Run on 2026-12-01 with --threads=1: EM 25.94,
F1 38.35 on the 978/212-question XQuAD-en split of README "Extractive question answering".
"""

import argparse
import collections
import json
import re
import string
import time

import numpy as np
import torch
from transformers import (
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)


def read(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    rows = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [a for a in qa["answers"] if a["answer_start"] >= 0]
                rows.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "context": paragraph["context"],
                        "answers": answers,
                    }
                )
    return rows


def encode(tokenizer, rows, max_len, stride, max_query):
    questions = [
        tokenizer.convert_tokens_to_string(tokenizer.tokenize(r["question"])[:max_query])
        for r in rows
    ]
    enc = tokenizer(
        questions,
        [r["context"] for r in rows],
        truncation="only_second",
        max_length=max_len,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    starts, ends = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        row = rows[enc["overflow_to_sample_mapping"][i]]
        seq = enc.sequence_ids(i)
        s = e = 0
        if row["answers"]:
            a0 = row["answers"][0]["answer_start"]
            a1 = a0 + len(row["answers"][0]["text"])
            ctx = [j for j, x in enumerate(seq) if x == 1]
            if offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
                s = next(j for j in ctx if offsets[j][1] > a0)
                e = max(j for j in ctx if offsets[j][0] < a1)
        starts.append(s)
        ends.append(e)
    return enc, starts, ends


def normalize(s):
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def f1(pred, gold):
    p, g = normalize(pred).split(), normalize(gold).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    return 2 * (same / len(p)) * (same / len(g)) / (same / len(p) + same / len(g))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--doc_stride", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(42)
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(args.model_dir)
    train, test = read(args.train), read(args.test)
    enc, y_start, y_end = encode(tokenizer, train, args.max_seq_length, args.doc_stride, 64)
    x = {k: torch.tensor(enc[k]) for k in ("input_ids", "token_type_ids", "attention_mask")}
    y_start, y_end = torch.tensor(y_start), torch.tensor(y_end)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(d in n for d in no_decay)],
            "weight_decay": 0.01,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(d in n for d in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr)
    n = len(y_start)
    steps = args.epochs * ((n + args.batch_size - 1) // args.batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(np.ceil(0.1 * steps)), steps)
    rng = np.random.default_rng(42)
    started = time.time()
    model.train()
    for _ in range(args.epochs):
        order = torch.tensor(rng.permutation(n))
        for i in range(0, n, args.batch_size):
            idx = order[i : i + args.batch_size]
            out = model(
                **{k: v[idx] for k, v in x.items()},
                start_positions=y_start[idx],
                end_positions=y_end[idx],
            )
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    train_seconds = time.time() - started
    model.eval()
    enc, _, _ = encode(tokenizer, test, args.max_seq_length, args.doc_stride, 64)
    best = {}
    with torch.no_grad():
        for i in range(0, len(enc["input_ids"]), 64):
            batch = {
                k: torch.tensor(enc[k][i : i + 64])
                for k in ("input_ids", "token_type_ids", "attention_mask")
            }
            out = model(**batch)
            for j in range(len(batch["input_ids"])):
                w = i + j
                row = test[enc["overflow_to_sample_mapping"][w]]
                seq, offsets = enc.sequence_ids(w), enc["offset_mapping"][w]
                s_log, e_log = out.start_logits[j].numpy(), out.end_logits[j].numpy()
                for s in np.argsort(s_log)[::-1][:20]:
                    for e in np.argsort(e_log)[::-1][:20]:
                        if seq[s] != 1 or seq[e] != 1 or e < s or e - s + 1 > 30:
                            continue
                        score = float(s_log[s] + e_log[e])
                        if row["id"] not in best or score > best[row["id"]][0]:
                            best[row["id"]] = (score, row["context"][offsets[s][0] : offsets[e][1]])
    em = np.mean(
        [
            max(
                float(normalize(best.get(r["id"], (0, ""))[1]) == normalize(a["text"]))
                for a in r["answers"]
            )
            for r in test
        ]
    )
    f = np.mean(
        [max(f1(best.get(r["id"], (0, ""))[1], a["text"]) for a in r["answers"]) for r in test]
    )
    print(
        json.dumps(
            {
                "exact_match": 100 * em,
                "f1": 100 * f,
                "total": len(test),
                "train_seconds": round(train_seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
