"""Extractive QA on real data (XQuAD, CMRC 2018 from ../shared/data): metrics against an
independent copy of the official SQuAD v1.1 evaluate script, and served answers == evaluated.

The integration test trains a tiny model briefly on XQuAD English split by article (contexts
several windows long at max_seq_length 96, doc_stride 32), exports it with the real exporter,
loads it as TF Serving does (TF1 session loader) and checks every served answer against the
answer bert-tf-finetune evaluated, and the served F1 against the reported F1.
"""

import collections
import json
import os
import re
import string
from pathlib import Path

import numpy as np
import pytest

from bert_tf.training.metrics import cmrc_metrics, cmrc_tokens, mostly_chinese, squad_metrics

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"
OPS_FILE = SHARED / "serving" / "tf_serving_2.20_ops.txt"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} is absent (the shared real data)"
)


# === The official SQuAD v1.1 evaluate-v1.1.py, restated independently (same logic) ===


def official_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def official_f1_score(prediction, ground_truth):
    prediction_tokens = official_normalize_answer(prediction).split()
    ground_truth_tokens = official_normalize_answer(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def official_exact_match_score(prediction, ground_truth):
    return official_normalize_answer(prediction) == official_normalize_answer(ground_truth)


def official_evaluate(dataset, predictions):
    f1 = exact_match = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue  # unanswered questions score 0
                ground_truths = [x["text"] for x in qa["answers"]]
                prediction = predictions[qa["id"]]
                exact_match += max(
                    official_exact_match_score(prediction, gt) for gt in ground_truths
                )
                f1 += max(official_f1_score(prediction, gt) for gt in ground_truths)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def _ours(dataset, predictions):
    gold = {
        qa["id"]: [x["text"] for x in qa["answers"]]
        for article in dataset
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    return squad_metrics(gold, predictions, version="1.1")


def _qa(qid, *answers):
    return {
        "id": qid,
        "question": "?",
        "answers": [{"text": a, "answer_start": 0} for a in answers],
    }


EDGE_DATASET = [
    {
        "title": "edge",
        "paragraphs": [
            {
                "context": "unused",
                "qas": [
                    _qa("articles", "The Broncos"),
                    _qa("punct", "Santa Clara, California."),
                    _qa("case", "DENVER"),
                    _qa("many", "Denver Broncos", "the Broncos", "Broncos team"),
                    _qa("partial", "Levi's Stadium in Santa Clara"),
                    _qa("empty_gold", "The", "a"),
                    _qa("empty_both", "an"),
                    _qa("missing", "gone"),
                    _qa("missing_article", "The"),
                    _qa("unicode", "Zoë café"),
                    _qa("repeat", "the the cat cat cat"),
                    _qa("spaces", "  New \t York  "),
                    _qa("none_match", "1999"),
                ],
            }
        ],
    }
]
EDGE_PREDICTIONS = {
    "articles": "broncos",
    "punct": "santa clara california",
    "case": "denver",
    "many": "the Broncos team!",
    "partial": "Santa Clara stadium",
    "empty_gold": "",
    "empty_both": "The",
    "unicode": "zoë  CAFÉ",
    "repeat": "cat cat",
    "spaces": "new york",
    "none_match": "in 1999 ,",
    "extra_id": "ignored",
}


def test_squad_metrics_equal_the_official_script_on_edge_cases():
    official = official_evaluate(EDGE_DATASET, EDGE_PREDICTIONS)
    ours = _ours(EDGE_DATASET, EDGE_PREDICTIONS)
    assert ours["exact_match"] == pytest.approx(official["exact_match"], abs=1e-9)
    assert ours["f1"] == pytest.approx(official["f1"], abs=1e-9)
    assert 0 < official["f1"] < 100 and ours["total"] == 13
    # One question at a time too, so no error hides in the mean.
    for qa in EDGE_DATASET[0]["paragraphs"][0]["qas"]:
        one = [{"paragraphs": [{"qas": [qa]}]}]
        assert _ours(one, EDGE_PREDICTIONS)["f1"] == pytest.approx(
            official_evaluate(one, EDGE_PREDICTIONS)["f1"], abs=1e-9
        ), qa["id"]


def test_cmrc_metrics_score_characters():
    assert cmrc_tokens("《战国无双3》, Koei 公司") == [
        "战",
        "国",
        "无",
        "双",
        "3",
        "koei",
        "公",
        "司",
    ]
    gold = {"a": ["北京大学"], "b": ["1998年", "1998"], "c": ["光荣公司"]}
    out = cmrc_metrics(gold, {"a": "北京大学。", "b": "1998年", "c": "荣公"})
    assert out["exact_match_cmrc"] == pytest.approx(200 / 3)
    # c: longest common run 2 of 2 predicted and 4 gold characters -> F1 2/3; the SQuAD script
    # sees one "word" each and gives 0.
    assert out["f1_cmrc"] == pytest.approx(100 * (1 + 1 + 2 / 3) / 3)
    assert squad_metrics({"c": ["光荣公司"]}, {"c": "荣公"})["f1"] == 0.0
    assert mostly_chinese(["北京大学在海淀区 (Haidian)"]) and not mostly_chinese(
        ["Peking University 北京"]
    )


@needs_shared
def test_cmrc2018_reads_with_bad_answers_dropped_and_utf16_offsets_repaired(caplog):
    from bert_tf.data.squad import read_squad

    path = DATA / "cmrc2018" / "cmrc2018_dev.json"
    with caplog.at_level("WARNING"):
        examples, version_2 = read_squad(str(path))
    raw = json.loads(path.read_text(encoding="utf-8"))
    questions = sum(len(p["qas"]) for a in raw["data"] for p in a["paragraphs"])
    assert len(examples) == questions == 3219 and not version_2  # no question lost all its answers
    assert "dropped 193 answer(s) with answer_start -1" in caplog.text
    assert "7 answer_start(s) counted UTF-16 code units" in caplog.text
    for e in examples:
        for a in e.answers:
            assert e.context[a["answer_start"] : a["answer_start"] + len(a["text"])] == a["text"]
    assert mostly_chinese([e.context for e in examples[:50]])


def test_split_by_article_is_deterministic_and_disjoint(tmp_path):
    from bert_tf.data.squad import split_squad_by_article

    data = {"version": "1.1", "data": [{"title": f"t{i}", "paragraphs": []} for i in range(10)]}
    source = tmp_path / "s.json"
    source.write_text(json.dumps(data))
    train, test = split_squad_by_article(
        str(source), str(tmp_path / "a"), test_fraction=0.3, seed=1
    )
    again = split_squad_by_article(str(source), str(tmp_path / "b"), test_fraction=0.3, seed=1)
    assert [Path(p).read_text() for p in (train, test)] == [Path(p).read_text() for p in again]
    titles = [[a["title"] for a in json.loads(Path(p).read_text())["data"]] for p in (train, test)]
    assert len(titles[1]) == 3 and sorted(titles[0] + titles[1]) == sorted(
        f"t{i}" for i in range(10)
    )
    assert Path(train).name == "s.train.json" and Path(test).name == "s.test.json"


# === Real XQuAD: tiny model, trained, evaluated, exported, served ===

SEQ, STRIDE, QUERY = 96, 32, 24


@pytest.fixture(scope="module")
def xquad_run(tmp_path_factory):
    import keras

    from bert_tf import BertConfig, BertEncoder
    from bert_tf.checkpoints import save_encoder
    from bert_tf.data.squad import split_squad_by_article
    from bert_tf.public_data import minilm_path
    from bert_tf.training import finetune_question_answering
    from export.exporter import export_task_folder

    root = tmp_path_factory.mktemp("xquad")
    train, test = split_squad_by_article(
        str(DATA / "xquad" / "xquad.en.json"),
        str(root / "split"),
        test_fraction=0.25,
        seed=0,
        max_articles=8,
    )
    keras.utils.set_random_seed(0)
    vocab = os.path.join(minilm_path(), "vocab.txt")
    config = BertConfig(
        vocab_size=sum(1 for _ in open(vocab, encoding="utf-8")),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    save_encoder(BertEncoder(config), str(root / "tiny"), vocab_file=vocab, lowercase=True)
    out = root / "out"
    results = finetune_question_answering(
        train,
        test,
        str(root / "tiny"),
        str(out),
        max_seq_length=SEQ,
        doc_stride=STRIDE,
        max_query_length=QUERY,
        epochs=2,
        batch_size=32,
        learning_rate=3e-3,
        verbose=0,
        tensorboard=False,
    )
    path = export_task_folder(
        str(out / "model"), str(root / "serving"), "qa", ops_file=str(OPS_FILE)
    )
    yield {"train": train, "test": test, "results": results, "out": out, "path": path}


@pytest.mark.integration
@needs_shared
def test_xquad_metrics_equal_the_official_script_on_real_predictions(xquad_run):
    reported = json.loads((xquad_run["out"] / "eval_results.json").read_text())
    predictions = json.loads((xquad_run["out"] / "predictions.json").read_text())
    dataset = json.loads(Path(xquad_run["test"]).read_text(encoding="utf-8"))["data"]
    official = official_evaluate(dataset, predictions)
    assert 25 <= reported["total"] == len(predictions) <= 300
    assert reported["exact_match"] == pytest.approx(official["exact_match"], abs=1e-9)
    assert reported["f1"] == pytest.approx(official["f1"], abs=1e-9)
    assert (
        official["f1"] > official["exact_match"] >= 0 and official["f1"] > 0
    )  # real, partial answers
    assert "f1_cmrc" not in reported  # English contexts


@pytest.mark.integration
@needs_shared
def test_xquad_served_answers_equal_the_evaluated_answers(xquad_run):
    from bert_tf.data.squad import build_features, read_squad
    from bert_tf.text import BertTokenizer
    from export.op_check import check_ops
    from export.test_server import LoadedVersion

    task = json.loads((xquad_run["out"] / "model" / "task.json").read_text())
    assert task["squad"] == {
        "doc_stride": STRIDE,
        "max_query_length": QUERY,
        "max_answer_length": 30,
        "n_best_size": 20,
        "null_score_diff_threshold": 0.0,
        "version": "1.1",
    }
    check_ops(xquad_run["path"], str(OPS_FILE))  # also checked by the exporter; no py_function
    examples, _ = read_squad(xquad_run["test"])
    evaluated = json.loads((xquad_run["out"] / "predictions.json").read_text())
    loaded = LoadedVersion(xquad_run["path"])
    try:
        served, starts = {}, {}
        for i in range(0, len(examples), 20):  # not the evaluation's batches of 32
            batch = examples[i : i + 20]
            out = loaded.run(
                "serving_default",
                {
                    "question": np.array([e.question for e in batch], dtype=object),
                    "context": np.array([e.context for e in batch], dtype=object),
                },
            )
            for j, e in enumerate(batch):
                served[e.qid] = out["answer_text"][j].decode("utf-8")
                s, end = int(out["answer_start"][j]), int(out["answer_end"][j])
                assert e.context[s:end] == served[e.qid]
                starts[e.qid] = s
    finally:
        loaded.close()
    assert served == evaluated  # every answer
    gold = {e.qid: [a["text"] for a in e.answers] for e in examples}
    assert squad_metrics(gold, served)["f1"] == xquad_run["results"]["f1"]
    # Contexts span several windows, and answers come from past the first one.
    tokenizer = BertTokenizer.from_pretrained(str(xquad_run["out"] / "model"))
    features = build_features(examples, tokenizer, SEQ, QUERY, STRIDE)
    windows = np.bincount([f.example_index for f in features])
    assert np.median(windows) >= 3
    first_window_end = {}
    for f in features:
        if examples[f.example_index].qid not in first_window_end:
            first_window_end[examples[f.example_index].qid] = max(
                c for _, c in f.token_to_char.values()
            )
    assert sum(starts[q] >= first_window_end[q] for q in served) >= 3
