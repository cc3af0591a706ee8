"""Entity F1 of an exported NER SavedModel on a CoNLL file, loaded as TF Serving loads it.

Each sentence is sent as raw text (its tokens joined with " ", or with "" for a model trained
with ``word_split=characters``); the served ``entity_types``/``entity_starts``/``entity_ends``
(character offsets) are scored against the conlleval chunks of the file's tags, as character
spans of the joined text. README "Named-entity recognition (WikiANN)" compares this with
eval_results.json:

    python tools/ner_served_f1.py EXPORT/ner/1 ../shared/data/wikiann_en/en.test en:
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from bert_tf.data.conll import read_token_classification_examples
from bert_tf.data.token_windows import join_words, token_char_spans
from bert_tf.training.metrics import conll_chunks


def served_predictions(loaded, sentences, word_split, batch_size=64):
    """Per sentence: (served entities {(type, char_start, char_end)}, tag of each token's word)."""
    entities, tags = [], []
    for i in range(0, len(sentences), batch_size):
        batch = sentences[i : i + batch_size]
        texts = np.array([join_words(s, word_split) for s in batch], dtype=object)
        out = loaded.run("serving_default", {"text": texts})
        for row, words in enumerate(batch):
            entities.append(
                {
                    (
                        out["entity_types"][row, k].decode(),
                        int(out["entity_starts"][row, k]),
                        int(out["entity_ends"][row, k]),
                    )
                    for k in range(int(out["num_entities"][row]))
                }
            )
            labels = {
                int(s): w.decode() for s, w in zip(out["word_starts"][row], out["word_labels"][row])
            }
            tags.append([labels.get(s, "O") for s, _ in token_char_spans(words, word_split)])
    return entities, tags


def entity_f1(sentences, gold_tags, predicted_entities, word_split):
    """Micro precision / recall / F1: served entities against the conlleval chunks of the gold tags,
    both as (type, char_start, char_end) in the joined text."""
    correct = found_gold = found_pred = 0
    for words, tags, predicted in zip(sentences, gold_tags, predicted_entities):
        spans = token_char_spans(words, word_split)
        gold = {(kind, spans[a][0], spans[b][1]) for kind, a, b in conll_chunks(tags)}
        correct += len(gold & predicted)
        found_gold += len(gold)
        found_pred += len(predicted)
    precision = correct / found_pred if found_pred else 0.0
    recall = correct / found_gold if found_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "num_entities": found_gold}


def main(saved_model, test_file, token_prefix=None, word_split="whitespace"):
    from export.test_server import LoadedVersion

    examples = read_token_classification_examples(test_file, token_prefix=token_prefix or None)
    loaded = LoadedVersion(saved_model)
    try:
        entities, _ = served_predictions(loaded, examples.sentences, word_split)
    finally:
        loaded.close()
    result = entity_f1(examples.sentences, examples.tags, entities, word_split)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(
            f"usage: {os.path.basename(sys.argv[0])} SAVED_MODEL_VERSION_DIR TEST_FILE "
            "[TOKEN_PREFIX] "
            "[whitespace|characters]"
        )
    main(*sys.argv[1:5])
