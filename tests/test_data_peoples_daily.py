"""People's Daily 1998-01 -> character-level BIO CoNLL (PER/LOC/ORG) and pretraining text."""

import os

import pytest

from bert_tf.data.conll import read_conll
from bert_tf.data.peoples_daily import char_bio, convert, entities, parse_line, sentences

LINES = [
    "迈向/v  充满/v  希望/n  的/u  新/a  世纪/n",
    "中共中央/nt  总书记/n  、/w  国家/n  主席/n  江/nr  泽民/nr",
    "１２月/t  ３１日/t  ，/w  江/nr  泽民/nr  在/p  北京/ns  发表/v  讲话/n  。/w  "
    "新华社/nt  记者/n  "
    "兰/nr  红光/nr  摄/Vg  。/w",
    "",
    "他/r  说/v  ：/w  “/w  好/a  。/w  ”/w  然后/c  走/v  了/y  。/w",
]


def test_consecutive_person_words_merge_and_tags_are_character_bio():
    items = entities(parse_line(LINES[1]))
    assert items[-1] == ("江泽民", "PER") and items[0] == ("中共中央", "ORG")
    tags = char_bio([("江泽民", "PER"), ("在", ""), ("北京", "LOC")])
    assert tags == [
        ("江", "B-PER"),
        ("泽", "I-PER"),
        ("民", "I-PER"),
        ("在", "O"),
        ("北", "B-LOC"),
        ("京", "I-LOC"),
    ]


def test_sentences_end_after_full_stops_keep_closing_quotes_and_fit_max_chars():
    parts = sentences(entities(parse_line(LINES[2])))
    assert ["".join(t for t, _ in s) for s in parts] == [
        "１２月３１日，江泽民在北京发表讲话。",
        "新华社记者兰红光摄。",
    ]
    quoted = sentences(entities(parse_line(LINES[4])))
    assert "".join(t for t, _ in quoted[0]).endswith("。”")
    long = [("很长的一句话", "")] * 30 + [("北京", "LOC")]
    cut = sentences(long, max_chars=20)
    assert all(sum(len(t) for t, _ in s) <= 20 for s in cut) and ("北京", "LOC") in cut[-1]


def test_convert_writes_conll_splits_without_test_text_in_the_pretraining_text(tmp_path):
    source = tmp_path / "199801.txt"
    source.write_text("\n".join(LINES * 10) + "\n", encoding="utf-8")
    counts = convert(str(source), str(tmp_path / "out"), train_fraction=0.6, dev_fraction=0.2)
    for name in ("train", "dev", "test"):
        examples = list(read_conll(str(tmp_path / "out" / f"{name}.conll")))
        assert len(examples) == counts[name] > 0
    _, words, tags = list(read_conll(str(tmp_path / "out" / "train.conll")))[1]
    assert "".join(words) == "中共中央总书记、国家主席江泽民"
    assert tags[:4] == ["B-ORG", "I-ORG", "I-ORG", "I-ORG"] and tags[-3:] == [
        "B-PER",
        "I-PER",
        "I-PER",
    ]
    text = (tmp_path / "out" / "pretrain.txt").read_text(encoding="utf-8")
    assert text.count("迈向充满希望的新世纪") == 8  # 80% of 10 copies: train + dev paragraphs only
    assert "\n\n" in text  # a title starts a new document


@pytest.mark.integration
def test_real_peoples_daily_entities():
    from bert_tf.public_data import dataset_path

    try:
        path = dataset_path("peoples_daily")
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    with open(path, encoding="utf-8") as f:
        head = [next(f) for _ in range(400)]
    kinds = [k for line in head if line.strip() for _, k in entities(parse_line(line))]
    assert kinds.count("PER") > 50 and kinds.count("LOC") > 100 and kinds.count("ORG") > 10
