"""bert-tf-pretrain: flags -> the recipe, the commented flagfile in configs/ parses, errors are one line."""

import json
import os

import numpy as np
import pytest
from absl import flags

from bert_tf.cli import pretrain as cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(argv):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["bert-tf-pretrain", *argv])
    return cli.main(["bert-tf-pretrain"])


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    words = "call me ishmael some years ago the whale the sea".split()
    book = tmp_path / "book.txt"
    book.write_text("\n\n".join(" ".join(rng.choice(words, 10)) + "\n" + " ".join(rng.choice(words, 8))
                                for _ in range(30)))
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(words))]) + "\n")
    return str(book), str(vocab)


def test_repo_flagfile_then_overrides(corpus, tmp_path):
    book, vocab = corpus
    out = str(tmp_path / "out")
    assert _run([f"--flagfile={ROOT}/configs/pretrain_bert_tiny.cfg", f"--train_files={book}",
                 f"--vocab_file={vocab}", f"--output_dir={out}", "--train_steps=4", "--batch_size=8",
                 "--max_seq_length=32", "--nouse_nsp"]) == 0
    with open(os.path.join(out, "eval_results.json")) as f:
        results = json.load(f)
    assert results["global_step"] == 4 and "nsp_accuracy" not in results
    assert results["commonest_token"] == "the"
    assert os.path.exists(os.path.join(out, "model", "config.json"))


def test_missing_vocab_is_one_error_line(corpus, tmp_path, capsys):
    book, _ = corpus
    with pytest.raises(SystemExit) as exc:
        _run([f"--train_files={book}", f"--vocab_file={tmp_path}/none.txt", f"--output_dir={tmp_path}/out",
              "--learning_rate=5e-4"])
    assert exc.value.code == 1
    assert capsys.readouterr().err.strip() == f"error: vocab_file not found: {tmp_path}/none.txt"
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.parametrize("name", ["finetune_classification", "finetune_ner", "finetune_squad"])
def test_finetune_flagfiles_parse(name):
    from bert_tf.cli import finetune  # noqa: F401 - defines the finetune flags
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["bert-tf-finetune", f"--flagfile={ROOT}/configs/{name}.cfg"])
    assert flags.FLAGS.task in ("classification", "token_classification", "question_answering")
    flags.FLAGS.unparse_flags()
