"""Fine-tunes the same classifier with Hugging Face transformers + PyTorch, as the reference for
`bert-tf-finetune`'s accuracy and speed (README "Fine-tuning").

Same recipe as the demo: 3 epochs, sequences up to 128 tokens padded per batch, batch 32,
AdamW lr 1e-4 with weight decay 0.01 (not on biases and LayerNorm), linear warmup over 10% of
the steps then linear decay, gradient clipping at 1.0, 2 CPU threads. Run in a separate venv (the
package and its tests never need torch):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 transformers==5.23.0 numpy
    /tmp/refvenv/bin/python tools/hf_finetune_reference.py MODEL_DIR TRAIN.csv EVAL.csv

MODEL_DIR: the all-MiniLM-L6-v2 folder (``python -c "from bert_tf.public_data import minilm_path;
print(minilm_path())"``); the CSVs have ``text`` and ``label`` columns (``make demo`` writes the
ones it uses to ``demo_output/tweets_{train,eval}.csv``). Prints the eval accuracy and the
training seconds.
"""

import csv
import sys
import time

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)

EPOCHS, BATCH, MAX_LEN, LR, WARMUP, DECAY, SEED = 3, 32, 128, 1e-4, 0.1, 0.01, 42


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main(model_dir, train_csv, eval_csv):
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    x_train, y_train = read(train_csv)
    x_eval, y_eval = read(eval_csv)
    labels = sorted(set(y_train))
    y_train = [labels.index(y) for y in y_train]
    y_eval = [labels.index(y) for y in y_eval]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=len(labels))
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(x in n for x in no_decay)],
            "weight_decay": DECAY,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(x in n for x in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(groups, lr=LR)
    steps = EPOCHS * ((len(x_train) + BATCH - 1) // BATCH)
    schedule = get_linear_schedule_with_warmup(optimizer, int(np.ceil(WARMUP * steps)), steps)
    rng = np.random.default_rng(SEED)
    started = time.time()
    for epoch in range(EPOCHS):
        model.train()
        order = rng.permutation(len(x_train))
        for i in range(0, len(x_train), BATCH):
            idx = order[i : i + BATCH]
            batch = tokenizer(
                [x_train[j] for j in idx],
                padding=True,
                truncation=True,
                max_length=MAX_LEN,
                return_tensors="pt",
            )
            loss = model(**batch, labels=torch.tensor([y_train[j] for j in idx])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
        print(f"epoch {epoch}: {time.time() - started:.1f} s", flush=True)
    train_seconds = time.time() - started
    model.eval()
    predictions = []
    with torch.no_grad():
        for i in range(0, len(x_eval), 64):
            batch = tokenizer(
                x_eval[i : i + 64],
                padding=True,
                truncation=True,
                max_length=MAX_LEN,
                return_tensors="pt",
            )
            predictions += model(**batch).logits.argmax(-1).tolist()
    accuracy = float(np.mean(np.array(predictions) == np.array(y_eval)))
    print(f"accuracy {accuracy:.4f} train_seconds {train_seconds:.1f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: hf_finetune_reference.py MODEL_DIR TRAIN.csv EVAL.csv")
    main(*sys.argv[1:])
