"""NER end to end: fine-tune on real WikiANN sentences, export, serve raw text as TF Serving does,
and get exactly the figures bert-tf-finetune reported (the same windows, the same decisions).

Tiny cased model with a vocabulary built from the training sentences (rare words fall apart
into letter pieces), max_seq_length 16: many sentences span several windows.
"""

import collections
import json
import os

import numpy as np
import pytest

from bert_tf.data.conll import read_token_classification_examples
from bert_tf.training.finetune import finetune_token_classifier
from bert_tf.training.metrics import conll_f1
from export.exporter import export_task_folder
from export.op_check import check_ops
from export.test_server import LoadedVersion
from tests.training_helpers import write_tiny_model_folder
from tools.ner_served_f1 import entity_f1, served_predictions

WIKIANN = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "wikiann_en")
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
SEQ = 16
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = [chr(c) for c in range(33, 127)]


def _first_sentences(src, dst, n):
    lines, count, current = [], 0, []
    with open(src, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                current.append(line)
            elif current:
                lines += current + ["\n"]
                current, count = [], count + 1
                if count == n:
                    break
    with open(dst, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return str(dst)


def _tiny_folder(folder, words, max_position_embeddings=SEQ, seed=0, lowercase=False):
    vocab = list(dict.fromkeys(SPECIALS + list(words) + CHARS + ["##" + c for c in CHARS]))
    return write_tiny_model_folder(
        folder, max_position_embeddings, seed=seed, vocab=vocab, lowercase=lowercase
    )


@pytest.fixture(scope="module")
def wikiann(tmp_path_factory):
    if not os.path.isdir(SHARED):
        pytest.skip("../shared (the real data sets) is not beside this checkout")
    root = tmp_path_factory.mktemp("wikiann")
    train = _first_sentences(os.path.join(WIKIANN, "en.train"), root / "train.txt", 400)
    test = _first_sentences(os.path.join(WIKIANN, "en.test"), root / "test.txt", 150)
    examples = read_token_classification_examples(train, token_prefix="en:")
    counts = collections.Counter(w for s in examples.sentences for w in s)
    folder = _tiny_folder(str(root / "encoder"), [w for w, c in counts.most_common(300) if c >= 2])
    out = str(root / "out")
    results = finetune_token_classifier(
        train,
        test,
        folder,
        out,
        max_seq_length=SEQ,
        epochs=4,
        batch_size=16,
        learning_rate=5e-3,
        token_prefix="en:",
        verbose=0,
        seed=1,
    )
    path = export_task_folder(os.path.join(out, "model"), str(root / "serving"), "ner")
    loaded = LoadedVersion(path)
    yield {
        "results": results,
        "out": out,
        "path": path,
        "loaded": loaded,
        "test": read_token_classification_examples(test, token_prefix="en:"),
    }
    loaded.close()


@pytest.mark.integration
def test_served_f1_equals_reported_f1_on_wikiann(wikiann):
    results, test = wikiann["results"], wikiann["test"]
    with open(os.path.join(wikiann["out"], "eval_results.json")) as f:
        reported = json.load(f)
    with open(os.path.join(wikiann["out"], "model", "task.json")) as f:
        info = json.load(f)
    assert info["token_classification"] == {"window_stride": SEQ // 2, "word_split": "whitespace"}
    assert reported["f1"] == results["f1"] and set(reported["per_type"]) == {"LOC", "ORG", "PER"}
    # many test sentences are longer than one window of SEQ - 2 pieces
    from bert_tf.text import BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(os.path.join(wikiann["out"], "model"))
    pieces = [int(n) for n in tokenizer([" ".join(s) for s in test.sentences]).row_lengths()]
    assert sum(n > SEQ - 2 for n in pieces) >= 30, pieces
    # raw sentences through the SavedModel (batches of another size than evaluation's)
    entities, tags = served_predictions(
        wikiann["loaded"], test.sentences, "whitespace", batch_size=7
    )
    served = entity_f1(test.sentences, test.tags, entities, "whitespace")
    for key in ("precision", "recall", "f1"):
        assert abs(served[key] - reported[key]) < 1e-6, (key, served, reported)
    assert (
        abs(conll_f1(test.tags, tags)["accuracy"] - reported["accuracy"]) < 1e-6
    )  # word_labels too
    # real predictions: some entities right, some wrong
    assert 0.05 < reported["f1"] < 0.95 and 0 < reported["precision"] < 1, reported
    check_ops(wikiann["path"])


@pytest.mark.integration
def test_conll_figures_match_seqeval_on_real_predictions(wikiann):
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    test = wikiann["test"]
    _, predicted = served_predictions(wikiann["loaded"], test.sentences, "whitespace")
    ours = conll_f1(test.tags, predicted)
    assert abs(ours["f1"] - wikiann["results"]["f1"]) < 0.01  # (tokens with CJK inside differ)
    assert ours["f1"] == pytest.approx(f1_score(test.tags, predicted), abs=1e-9)
    assert ours["precision"] == pytest.approx(precision_score(test.tags, predicted), abs=1e-9)
    assert ours["recall"] == pytest.approx(recall_score(test.tags, predicted), abs=1e-9)
    report = classification_report(test.tags, predicted, output_dict=True)
    for kind, figures in ours["per_type"].items():
        assert figures["precision"] == pytest.approx(report[kind]["precision"], abs=1e-9)
        assert figures["recall"] == pytest.approx(report[kind]["recall"], abs=1e-9)
        assert figures["f1"] == pytest.approx(report[kind]["f1-score"], abs=1e-9)
        assert figures["support"] == report[kind]["support"]
    assert sum(f["support"] for f in ours["per_type"].values()) == ours["num_entities"]


# === Chinese, one character per line ===

PEOPLE = ["张伟", "王芳", "李娜", "刘洋"]
PLACES = ["北京", "上海", "广州", "深圳"]
FRAMES = [("{p}在{l}工作", "我们"), ("{p}去了{l}", "今天"), ("{l}的{p}很好", "他说")]


def _chinese_sentences(n, seed):
    """Sentences of 1-3 clauses (8-27 characters: up to 3 windows of 10)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        text, tags = "", []
        for _ in range(rng.integers(1, 4)):
            frame, lead = FRAMES[rng.integers(len(FRAMES))]
            person, place = PEOPLE[rng.integers(4)], PLACES[rng.integers(4)]
            clause = lead + frame.format(p=person, l=place)
            clause_tags = ["O"] * len(clause)
            for name, kind in ((person, "PER"), (place, "LOC")):
                at = clause.index(name)
                clause_tags[at : at + len(name)] = ["B-" + kind] + ["I-" + kind] * (len(name) - 1)
            text, tags = text + clause, tags + clause_tags
        out.append((text, tags))
    return out


def _write_chars(path, sentences):
    with open(path, "w", encoding="utf-8") as f:
        for text, tags in sentences:
            f.writelines(f"{c} {t}\n" for c, t in zip(text, tags))
            f.write("\n")
    return str(path)


@pytest.mark.integration
def test_character_level_chinese_is_served_on_raw_text_with_character_offsets(tmp_path):
    train = _write_chars(tmp_path / "train.txt", _chinese_sentences(128, 0))
    test = _write_chars(tmp_path / "test.txt", _chinese_sentences(24, 1))
    chars = sorted({c for text, _ in _chinese_sentences(128, 0) for c in text})
    folder = _tiny_folder(str(tmp_path / "encoder"), chars, max_position_embeddings=SEQ)
    out = str(tmp_path / "out")
    results = finetune_token_classifier(
        train,
        test,
        folder,
        out,
        max_seq_length=12,
        epochs=8,
        batch_size=16,
        learning_rate=5e-3,
        verbose=0,
        seed=1,
    )  # word_split auto
    assert results["word_split"] == "characters" and results["f1"] >= 0.9, results
    path = export_task_folder(os.path.join(out, "model"), str(tmp_path / "serving"), "zh")
    loaded = LoadedVersion(path)
    try:
        text = "我们张伟在北京工作"  # raw Chinese, no spaces
        long_text = "今天王芳去了上海" * 3 + "他说深圳的李娜很好"  # 33 characters: 4 windows of 10
        out = loaded.run("serving_default", {"text": np.array([text, long_text], dtype=object)})
        assert out["word_starts"][0, : len(text)].tolist() == list(range(len(text)))
        assert out["word_starts"][1].tolist() == list(
            range(len(long_text))
        )  # every character labelled
        got = [
            [
                (
                    out["entity_types"][r, k].decode(),
                    out["entity_texts"][r, k].decode(),
                    int(out["entity_starts"][r, k]),
                    int(out["entity_ends"][r, k]),
                )
                for k in range(int(out["num_entities"][r]))
            ]
            for r in range(2)
        ]
        assert got[0] == [("PER", "张伟", 2, 4), ("LOC", "北京", 5, 7)]
        expected = [("PER", "王芳", 2, 4), ("LOC", "上海", 6, 8)] * 3
        expected = [
            (k, t, s + 8 * (i // 2), e + 8 * (i // 2)) for i, (k, t, s, e) in enumerate(expected)
        ]
        expected += [("LOC", "深圳", 26, 28), ("PER", "李娜", 29, 31)]
        assert got[1] == expected
        for row, t in enumerate([text, long_text]):
            assert all(t[s:e] == name for _, name, s, e in got[row])
    finally:
        loaded.close()
