"""Tiny synthetic training problems shared by the training and distributed tests."""

import keras
import numpy as np
import tensorflow as tf

from bert_tf import BertClassifier, BertConfig, BertEncoder

N_ROWS = 48
SEQ = 10


def tiny_classifier_config(dropout=0.1):
    return BertConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )


def synthetic_rows(seed=0):
    """Token rows whose label is whether token 1 is in the upper half of the vocab."""
    rng = np.random.default_rng(seed)
    x = rng.integers(5, 64, (N_ROWS, SEQ)).astype("int32")
    mask = np.ones_like(x)
    mask[::3, 7:] = 0  # some padding
    x[mask == 0] = 0
    return x, mask, (x[:, 1] >= 34).astype("int32")


def dataset_fn(batch_size=16, seed=0):
    x, mask, y = synthetic_rows(seed)

    def make(epoch):
        order = np.random.default_rng(1000 + epoch).permutation(
            N_ROWS
        )  # same batches whatever tf's seed
        features = {
            "token_ids": x[order],
            "segment_ids": np.zeros_like(x),
            "padding_mask": mask[order],
        }
        return tf.data.Dataset.from_tensor_slices((features, y[order])).batch(batch_size)

    return make


def classification_loss(labels, logits):
    values = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return {"loss": (values, tf.ones_like(values))}


def tiny_classifier(seed=1, dropout=0.1):
    keras.utils.set_random_seed(seed)
    return BertClassifier(
        BertEncoder(tiny_classifier_config(dropout)), num_classes=2, dropout=dropout
    )


# === Tiny model folders and data files for the recipe / CLI tests ===

WORDS = (
    "good great love happy nice fine best fun bad awful hate sad poor worst boring ugly "
    "the a is was it this movie film day food very so not and i you we"
).split()
POSITIVE, NEGATIVE = WORDS[:8], WORDS[8:16]


def write_tiny_model_folder(folder, max_position_embeddings=64, seed=0, vocab=None, lowercase=True):
    """A fresh tiny encoder saved in our folder format; default vocab: a word-level one (+ a few
    ## pieces)."""
    import os

    from bert_tf.checkpoints import save_encoder

    if vocab is None:
        vocab = (
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["##s", "##ly", "!", ".", ","]
        )
    vocab_file = os.path.join(os.path.dirname(os.path.abspath(folder)), "vocab_src.txt")
    with open(vocab_file, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    keras.utils.set_random_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
    )
    save_encoder(BertEncoder(config), folder, vocab_file=vocab_file, lowercase=lowercase)
    return folder


def write_sentiment_csv(path, rows, seed=0, labels=("negative", "positive")):
    """Rows of 3-7 words; the label says whether positive words outnumber negative ones."""
    import csv

    rng = np.random.default_rng(seed)
    neutral = WORDS[16:]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(rows):
            positive = i % 2 == 0
            pool = POSITIVE if positive else NEGATIVE
            words = list(rng.choice(pool, size=2)) + list(
                rng.choice(neutral, size=rng.integers(1, 5))
            )
            rng.shuffle(words)
            w.writerow([" ".join(words), labels[1] if positive else labels[0]])
    return path
