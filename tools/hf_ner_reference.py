"""Fine-tunes a token classifier with Hugging Face transformers + PyTorch: the reference for
`bert-tf-finetune --task=token_classification`'s entity F1 (README "Named-entity recognition").

Same recipe as bert-tf-finetune's defaults: sequences up to 128 tokens padded per batch, batch 32,
AdamW lr 1e-4 with weight decay 0.01 (not on biases and LayerNorm), linear warmup over 10% of
the steps then linear decay, gradient clipping at 1.0, 2 CPU threads; each word's label on its
first sub-token (the others -100), as transformers' run_ner.py. Entity F1 with seqeval
(conlleval rules). Run in a separate venv (the package and its tests never need torch):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 transformers==5.23.0 numpy seqeval==1.2.2
    /tmp/refvenv/bin/python tools/hf_ner_reference.py MODEL_DIR TRAIN.conll TEST.conll \\
        [EPOCHS] [PREFIX]

MODEL_DIR: the all-MiniLM-L6-v2 folder; PREFIX: stripped from every token (WikiANN: en:).
Prints the entity precision / recall / F1 and the training seconds.
"""

import sys
import time

import numpy as np
import torch
from seqeval.metrics import f1_score, precision_score, recall_score
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)

BATCH, MAX_LEN, LR, WARMUP, DECAY, SEED = 32, 128, 1e-4, 0.1, 0.01, 42


def read_conll(path, prefix):
    sentences, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in list(f) + [""]:
            fields = line.split()
            if not fields or fields[0] == "-DOCSTART-":
                if words:
                    sentences.append((words, tags))
                words, tags = [], []
                continue
            word = fields[0]
            if prefix and word.startswith(prefix) and len(word) > len(prefix):
                word = word[len(prefix) :]
            words.append(word)
            tags.append(fields[-1])
    return sentences


def encode(tokenizer, batch, label_index):
    enc = tokenizer(
        [w for w, _ in batch],
        is_split_into_words=True,
        padding=True,
        truncation=True,
        max_length=MAX_LEN,
        return_tensors="pt",
    )
    labels = []
    for row, (_, tags) in enumerate(batch):
        previous, row_labels = None, []
        for word in enc.word_ids(row):
            row_labels.append(-100 if word is None or word == previous else label_index[tags[word]])
            previous = word
        labels.append(row_labels)
    return enc, torch.tensor(labels)


def main(model_dir, train_file, test_file, epochs="1", prefix=""):
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    train, test = read_conll(train_file, prefix), read_conll(test_file, prefix)
    names = sorted({t for _, tags in train for t in tags})
    label_index = {n: i for i, n in enumerate(names)}
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir, num_labels=len(names))
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
    steps = int(epochs) * ((len(train) + BATCH - 1) // BATCH)
    schedule = get_linear_schedule_with_warmup(optimizer, int(np.ceil(WARMUP * steps)), steps)
    rng = np.random.default_rng(SEED)
    started = time.time()
    for epoch in range(int(epochs)):
        model.train()
        order = rng.permutation(len(train))
        for i in range(0, len(train), BATCH):
            enc, labels = encode(tokenizer, [train[j] for j in order[i : i + BATCH]], label_index)
            loss = model(**enc, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
        print(f"epoch {epoch}: {time.time() - started:.1f} s", flush=True)
    train_seconds = time.time() - started
    model.eval()
    gold, predicted = [], []
    with torch.no_grad():
        for i in range(0, len(test), 64):
            batch = test[i : i + 64]
            enc, _ = encode(tokenizer, batch, {n: 0 for _, tags in batch for n in tags})
            ids = model(**enc).logits.argmax(-1).tolist()
            for row, (words, tags) in enumerate(batch):
                tags_out, previous = ["O"] * len(words), None
                for position, word in enumerate(enc.word_ids(row)):
                    if word is not None and word != previous:
                        tags_out[word] = names[ids[row][position]]
                    previous = word
                gold.append(tags)
                predicted.append(tags_out)
    print(
        f"precision {precision_score(gold, predicted):.4f} "
        f"recall {recall_score(gold, predicted):.4f} "
        f"f1 {f1_score(gold, predicted):.4f} train_seconds {train_seconds:.1f}"
    )


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5, 6):
        sys.exit("usage: hf_ner_reference.py MODEL_DIR TRAIN.conll TEST.conll [EPOCHS] [PREFIX]")
    main(*sys.argv[1:])
