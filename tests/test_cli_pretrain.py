"""bert-tf-pretrain: flags -> the recipe, the commented flagfile in configs/ parses, errors are one
line."""

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
    book.write_text(
        "\n\n".join(
            " ".join(rng.choice(words, 10)) + "\n" + " ".join(rng.choice(words, 8))
            for _ in range(30)
        )
    )
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(words))]) + "\n"
    )
    return str(book), str(vocab)


def test_repo_flagfile_then_overrides(corpus, tmp_path):
    book, vocab = corpus
    out = str(tmp_path / "out")
    assert (
        _run(
            [
                f"--flagfile={ROOT}/configs/pretrain_bert_tiny.cfg",
                f"--train_files={book}",
                f"--vocab_file={vocab}",
                f"--output_dir={out}",
                "--train_steps=4",
                "--batch_size=8",
                "--max_seq_length=32",
                "--nouse_nsp",
            ]
        )
        == 0
    )
    with open(os.path.join(out, "eval_results.json")) as f:
        results = json.load(f)
    assert results["global_step"] == 4 and "nsp_accuracy" not in results
    assert results["commonest_token"] == "the"
    assert results["tie_mlm_embeddings"] is True  # from scratch: Google's tied MLM head
    assert os.path.exists(os.path.join(out, "model", "config.json"))


def test_tie_mlm_embeddings_auto_keeps_the_checkpoint_head(corpus, tmp_path):
    from bert_tf.models import load_pretrainer

    book, vocab = corpus
    config = tmp_path / "tiny.json"  # smaller than bert_tiny: three runs stay fast
    config.write_text(
        json.dumps(
            {
                "vocab_size": 14,
                "hidden_size": 16,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 32,
                "max_position_embeddings": 32,
            }
        )
    )
    common = [
        f"--train_files={book}",
        f"--vocab_file={vocab}",
        "--batch_size=8",
        "--max_seq_length=32",
        f"--model={config}",
        "--nouse_nsp",
    ]
    tied, untied, kept = (str(tmp_path / n) for n in ("tied", "untied", "kept"))
    assert (
        _run([*common, f"--output_dir={tied}", "--train_steps=0", "--tie_mlm_embeddings=true"]) == 0
    )
    assert load_pretrainer(f"{tied}/pretrainer").tie_mlm_embeddings is True
    assert (
        _run(
            [
                *common,
                f"--output_dir={untied}",
                "--train_steps=1",
                "--tie_mlm_embeddings=false",
                f"--init_checkpoint={tied}/pretrainer",
            ]
        )
        == 0
    )
    model = load_pretrainer(f"{untied}/pretrainer")
    assert model.tie_mlm_embeddings is False
    # auto: the checkpoint's (untied) head is kept
    assert (
        _run(
            [
                *common,
                f"--output_dir={kept}",
                "--train_steps=0",
                f"--init_checkpoint={untied}/pretrainer",
            ]
        )
        == 0
    )
    with open(os.path.join(kept, "eval_results.json")) as f:
        assert json.load(f)["tie_mlm_embeddings"] is False
    kept_head = load_pretrainer(f"{kept}/pretrainer").mlm_head
    np.testing.assert_array_equal(
        kept_head.output_embeddings.numpy(), model.mlm_head.output_embeddings.numpy()
    )


def test_missing_vocab_is_one_error_line(corpus, tmp_path, capsys):
    book, _ = corpus
    with pytest.raises(SystemExit) as exc:
        _run(
            [
                f"--train_files={book}",
                f"--vocab_file={tmp_path}/none.txt",
                f"--output_dir={tmp_path}/out",
                "--learning_rate=5e-4",
            ]
        )
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
