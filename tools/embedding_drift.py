"""Token-embedding drift of pretrained encoders (README "Chinese BERT from scratch").

    python tools/embedding_drift.py --vocab=/tmp/zh/vocab.txt \
        --text=/tmp/zh/corpus/peoples_daily.txt \
        /tmp/zh/runs/rand/model /tmp/zh/runs/p_default/model_step250

For characters seen 2-20 times in --text and for the 300 commonest: mean norm and mean pairwise
cosine of their input embeddings (random init: ~0.2 and ~0).
"""

import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bert_tf.models import BertEncoder
from bert_tf.text.bert_tokenizer import read_vocabulary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args(argv)
    vocab = read_vocabulary(args.vocab)
    ids = {t: i for i, t in enumerate(vocab)}
    counts = collections.Counter()
    with open(args.text, encoding="utf-8") as f:
        for line in f:
            counts.update(line.strip())
    groups = {
        "characters seen 2-20 times": [
            ids[c] for c, n in counts.items() if 2 <= n <= 20 and c in ids
        ][:500],
        "300 commonest characters": [ids[c] for c, _ in counts.most_common(300) if c in ids],
    }
    for path in args.models:
        table = [w for w in BertEncoder.from_pretrained(path).weights if w.shape[0] == len(vocab)][
            0
        ].numpy()
        print(path)
        for name, group in groups.items():
            x = table[group]
            norms = np.linalg.norm(x, axis=1)
            cos = (x / norms[:, None]) @ (x / norms[:, None]).T
            print(
                f"  {name} (n={len(group)}): mean norm {norms.mean():.3f}, "
                f"mean pairwise cosine {cos[np.triu_indices(len(group), 1)].mean():.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
