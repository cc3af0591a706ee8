"""Counts the benchmark texts whose token ids differ between bert_tf, keras-hub and Hugging Face
`tokenizers` on all-MiniLM-L6-v2 (README "Performance": why the embedding benchmark's minimum
cosine is far below its median).

    python tools/keras_hub_token_diff.py [tweets:512 reviews:512 spam:128]

Prints, per corpus, how many texts each pair tokenizes differently (256-token cap, as the
embedders), how many contain [UNK] on each side, and keras-hub's tokenizer settings.
"""

import os
import sys

import numpy as np
import tensorflow as tf


def main(specs):
    import keras_hub
    from tokenizers import Tokenizer

    from benchmarks.realtext import load_texts
    from bert_tf.models import BertTextEmbedder
    from bert_tf.public_data import minilm_path

    path = str(minilm_path())
    ours = BertTextEmbedder.from_pretrained(path).preprocessor
    theirs = keras_hub.models.BertTextEmbedder.from_preset(path).preprocessor
    hf = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
    hf.enable_truncation(256)
    hf.no_padding()
    unk = ours.tokenizer.vocabulary.index("[UNK]")
    config = theirs.tokenizer.get_config()
    print(
        f"keras-hub tokenizer: lowercase={config.get('lowercase')} "
        f"strip_accents={config.get('strip_accents')}"
    )

    def rows(features):
        features = features[0] if isinstance(features, tuple) else features
        ids, mask = np.asarray(features["token_ids"]), np.asarray(features["padding_mask"])
        return [r[m.astype(bool)].tolist() for r, m in zip(ids, mask)]

    for spec in specs:
        corpus, n = spec.split(":")
        texts = load_texts(corpus, int(n))
        a = rows(ours(tf.constant(texts)))
        b = rows(theirs(tf.constant(texts)))
        h = [e.ids for e in hf.encode_batch(texts)]
        differ = lambda x, y: sum(p != q for p, q in zip(x, y))  # noqa: E731
        print(
            f"{corpus} ({len(texts)} texts): ids differ bert_tf/HF {differ(a, h)}, "
            f"keras-hub/HF {differ(b, h)}, bert_tf/keras-hub {differ(a, b)}; "
            f"texts with [UNK]: bert_tf {sum(unk in x for x in a)}, "
            f"keras-hub {sum(unk in x for x in b)}, HF {sum(unk in x for x in h)}"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or ["tweets:512", "reviews:512", "spam:128"])
