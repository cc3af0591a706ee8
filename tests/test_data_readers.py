"""Readers (CSV/TSV/JSONL rows with line numbers) and the helpers the other data tests share."""

import os

import pytest

from bert_tf.data.readers import DataError, detect_file_format, expand_paths, read_rows

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [
    "the",
    "a",
    "movie",
    "film",
    "was",
    "is",
    "good",
    "bad",
    "great",
    "awful",
    "very",
    "not",
    "i",
    "it",
    "and",
    "plot",
    "john",
    "lives",
    "in",
    "new",
    "york",
    "paris",
    "works",
    "for",
    "acme",
    "corp",
    "when",
    "where",
    "who",
    "did",
    "does",
    "born",
    "was",
    "city",
    "of",
    "he",
    "she",
    "play",
    "##ing",
    "##s",
    "##ed",
    "un",
    "##believ",
    "##able",
    ".",
    ",",
    "?",
    "!",
    "'",
    '"',
]
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]


def write_vocab(folder) -> str:
    """A tiny WordPiece vocab: specials, some words, and every letter/digit alone and as ##piece."""
    tokens = list(dict.fromkeys(SPECIALS + WORDS + LETTERS + ["##" + c for c in LETTERS]))
    path = os.path.join(str(folder), "vocab.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    return path


def make_preprocessor(folder, sequence_length=16):
    from bert_tf.text import BertPreprocessor, BertTokenizer

    tokenizer = BertTokenizer(write_vocab(folder), lowercase=True)
    return BertPreprocessor(tokenizer, sequence_length=sequence_length)


def write(path, text, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        f.write(text)
    return str(path)


def test_csv_quoted_multiline_fields_and_start_lines(tmp_path):
    path = write(
        tmp_path / "d.csv",
        'text,label\n"first, with comma",pos\n"two\nlines ""quoted""",neg\n\nlast,pos\n',
    )
    rows = list(read_rows(path))
    assert rows == [
        (2, {"text": "first, with comma", "label": "pos"}),
        (3, {"text": 'two\nlines "quoted"', "label": "neg"}),
        (6, {"text": "last", "label": "pos"}),
    ]


def test_tsv_is_read_without_quoting_like_glue(tmp_path):
    path = write(tmp_path / "d.tsv", 'sentence\tlabel\nhe said "hi\t1\nok\t0\n')
    assert [r for _, r in read_rows(path)] == [
        {"sentence": 'he said "hi', "label": "1"},
        {"sentence": "ok", "label": "0"},
    ]


def test_jsonl_rows_keep_types_and_skip_blank_lines(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b", "label": 0.5}\n')
    assert list(read_rows(path)) == [
        (1, {"text": "a", "label": 1}),
        (3, {"text": "b", "label": 0.5}),
    ]


def test_errors_name_file_and_line(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\nok,1\nmissing\n")
    with pytest.raises(DataError, match=r"d\.csv:3: expected 2 fields"):
        list(read_rows(path))
    path = write(tmp_path / "d.jsonl", '{"text": "a"}\n{"text": oops}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:2: invalid JSON"):
        list(read_rows(path))
    path = write(tmp_path / "l.csv", "text,label\nok,1\ncaf\xe9,0\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"l\.csv:3: cannot decode the file as utf-8.*latin-1"):
        list(read_rows(path))
    assert [r["text"] for _, r in read_rows(path, encoding="latin-1")] == ["ok", "caf\xe9"]


def test_utf8_bom_is_dropped_from_the_header(tmp_path):
    path = write(tmp_path / "d.csv", "\ufefftext,label\nx,1\n")
    assert list(read_rows(path)) == [(2, {"text": "x", "label": "1"})]


def test_format_detection_and_paths(tmp_path):
    assert detect_file_format("a/b.TSV") == "tsv"
    assert detect_file_format("x.data", "jsonl") == "jsonl"
    with pytest.raises(DataError, match="cannot tell the format"):
        detect_file_format("x.data")
    write(tmp_path / "b.txt", "x")
    write(tmp_path / "a.txt", "x")
    assert expand_paths(str(tmp_path / "*.txt")) == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "b.txt"),
    ]
    with pytest.raises(DataError, match="no file matches"):
        expand_paths(str(tmp_path / "*.csv"))
    with pytest.raises(DataError, match="no such file"):
        list(read_rows(str(tmp_path / "none.csv")))


def test_headerless_tsv_by_column_position(tmp_path):
    from bert_tf.data import read_classification_examples

    path = write(
        tmp_path / "cola.tsv", "gj04\t1\t\tthe film was good .\ngj04\t0\t*\tfilm the good was .\n"
    )
    ex = read_classification_examples(path, text_column=3, label_column=1, header=False)
    assert ex.texts == ["the film was good .", "film the good was ."] and ex.labels == [1, 0]
