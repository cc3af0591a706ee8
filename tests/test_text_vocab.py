"""Vocabulary building (tensorflow-text learner) and the bert-tf-vocab CLI."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from bert_tf.text import BertTokenizer, build_vocabulary

CORPUS = ["The quick brown fox jumps over the lazy dog.", "Café au lait, naïve résumé!",
          "中文 text and Running runners run."] * 20


def test_build_vocabulary_special_tokens_first_and_usable():
    vocab = build_vocabulary(CORPUS, vocab_size=120, lowercase=True)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(set(vocab)) == len(vocab)
    # accents stripped before learning: no accented letter in any token, and "café" is two or
    # fewer pieces of the plain "cafe" (it occurs 20 times)
    assert not [t for t in vocab if set(t) & set("éïÉ")]
    ids = BertTokenizer(vocab, lowercase=True)(tf.constant(["café"]))[0].numpy()
    pieces = [vocab[i] for i in ids]
    assert "".join(p.lstrip("#") for p in pieces) == "cafe" and len(pieces) <= 2
    assert not any(t != t.lower() for t in vocab[5:])
    tok = BertTokenizer(vocab, lowercase=True)
    ids = tok(tf.constant(["The lazy fox, Café!"]))[0].numpy()
    assert len(ids) > 0 and tok.unk_id not in ids


def test_vocabulary_never_exceeds_vocab_size():
    corpus = [" ".join(f"word{i} token{i * 7} piece{i % 13}" for i in range(j, j + 30)) for j in range(300)]
    vocab = build_vocabulary(corpus, vocab_size=80, learn_params={"lower_thresh": 1})
    assert len(vocab) <= 80 and vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_cased_vocabulary_keeps_case():
    vocab = build_vocabulary(CORPUS, vocab_size=120, lowercase=False)
    assert any(t != t.lower() for t in vocab[5:])


def test_errors():
    with pytest.raises(ValueError, match="no text"):
        build_vocabulary(["", "   "], vocab_size=50)
    with pytest.raises(ValueError, match="vocab_size"):
        build_vocabulary(CORPUS, vocab_size=3)


def _cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "bert_tf.cli.vocab", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_writes_vocab_and_fails_clearly(tmp_path):
    (tmp_path / "a.txt").write_text("\n".join(CORPUS), encoding="utf-8")
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    out = tmp_path / "out" / "vocab.txt"
    result = _cli(f"--input_files={tmp_path}/a*.txt", f"--output={out}", "--vocab_size=100", "--lowercase")
    assert result.returncode == 0, result.stderr
    vocab = out.read_text(encoding="utf-8").splitlines()
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    BertTokenizer(str(out))  # loads
    result = _cli(f"--input_files={tmp_path}/nothing*.txt", f"--output={out}", "--vocab_size=100")
    assert result.returncode != 0 and result.stderr.strip().splitlines()[-1].startswith("error: no files match")
    result = _cli(f"--input_files={tmp_path}/empty.txt", f"--output={tmp_path}/v2.txt", "--vocab_size=100")
    assert result.returncode != 0 and "contain no text" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr and not (tmp_path / "v2.txt").exists()
