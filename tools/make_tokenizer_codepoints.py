"""Writes tests/data/tokenizer_codepoints.json: the reference tokenizer on every code point.

For every code point c of planes 0-16 (surrogates excluded) it records what Hugging Face
tokenizers' BertNormalizer + BertPreTokenizer (the BertTokenizerFast of every BERT
tokenizer.json) make of the text "a" + chr(c) + "b":

  lower   normalized chr(c) of an uncased model (clean text, CJK spacing, NFD + accent
          strip, lowercase)
  cased   normalized chr(c) of a cased model (clean text, CJK spacing)
  split   the words BertPreTokenizer makes of the uncased "a" + lower + "b", "|"-joined, with
          the normalized character written "X" ("aXb": part of the word; "a|X|b": a token of
          its own; "a|b": a separator; "ab": removed)

Run-length encoded: each of "lower" / "cased" is a list of [first, last, kind, value] runs of
consecutive code points where kind "d" means chr(c + value), "t" the template value with "{}"
standing for chr(c), "s" the literal string value, "h" the Hangul syllable's jamo
(hangul_nfd); "split" is a list of [first, last, template].
Code points left out of "lower" / "cased" map to themselves; left out of "split", they are "aXb".

    .venv/bin/python tools/make_tokenizer_codepoints.py   (needs the `tokenizers` package only)
"""

import json
import os
import sys

SURROGATES = range(0xD800, 0xE000)


def hangul_nfd(c):
    """The algorithmic decomposition of a Hangul syllable: 2 or 3 jamo (Unicode 3.12)."""
    index = c - 0xAC00
    lead, vowel, trail = 0x1100 + index // 588, 0x1161 + (index % 588) // 28, 0x11A7 + index % 28
    return chr(lead) + chr(vowel) + (chr(trail) if trail != 0x11A7 else "")


def _relative(c, out):
    ch = chr(c)
    if 0xAC00 <= c <= 0xD7A3 and out == hangul_nfd(c):
        return ("h", 0)
    if len(out) == 1:
        return ("d", ord(out) - c)
    if ch in out:
        return ("t", out.replace(ch, "{}"))
    return ("s", out)


def _runs(values, default):
    """[(code point, value tuple)] in order -> [[first, last, *value]] runs of equal values.

    Code points whose value is ``default`` are left out (the reader fills them in).
    """
    runs = []
    for c, value in values:
        if value == default:
            continue
        if runs and runs[-1][1] == c - 1 and tuple(runs[-1][2:]) == tuple(value):
            runs[-1][1] = c
        else:
            runs.append([c, c, *value])
    return runs


def probe():
    import tokenizers
    from tokenizers import normalizers, pre_tokenizers

    lower = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    cased = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    split = pre_tokenizers.BertPreTokenizer()
    lowers, caseds, splits = [], [], []
    for c in range(0x110000):
        if c in SURROGATES:
            continue
        ch = chr(c)
        low = lower.normalize_str(ch)
        lowers.append((c, _relative(c, low)))
        caseds.append((c, _relative(c, cased.normalize_str(ch))))
        words = [w for w, _ in split.pre_tokenize_str(lower.normalize_str(f"a{ch}b"))]
        joined = "|".join(words)  # always "a..." and "...b": "a" and "b" stay as they are
        middle = joined[1:-1]
        if low.strip():
            middle = middle.replace(low.strip(), "X")
        splits.append((c, (joined[0] + middle + joined[-1],)))
    return (
        tokenizers.__version__,
        _runs(lowers, ("d", 0)),
        _runs(caseds, ("d", 0)),
        _runs(splits, ("aXb",)),
    )


def main(out_path="tests/data/tokenizer_codepoints.json"):
    version, lowers, caseds, splits = probe()
    data = {
        "source": f"Hugging Face tokenizers {version}: BertNormalizer + BertPreTokenizer "
        "(tools/make_tokenizer_codepoints.py)",
        "lower": lowers,
        "cased": caseds,
        "split": splits,
    }
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("{\n")
        items = list(data.items())
        for i, (key, value) in enumerate(items):
            end = "," if i < len(items) - 1 else ""
            if isinstance(value, str):
                f.write(f"{json.dumps(key)}: {json.dumps(value)}{end}\n")
                continue
            f.write(f"{json.dumps(key)}: [\n")
            f.write(",\n".join(json.dumps(run, ensure_ascii=True) for run in value))
            f.write(f"\n]{end}\n")
        f.write("}\n")
    os.replace(tmp, out_path)
    print(f"wrote {out_path}: {len(lowers)} lower, {len(caseds)} cased, {len(splits)} split runs")


if __name__ == "__main__":
    main(*sys.argv[1:])
