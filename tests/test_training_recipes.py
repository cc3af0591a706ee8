"""The library recipes a notebook calls, on a tiny fresh model and tiny files written here."""

import json
import os

import numpy as np
import pytest

from bert_tf.data import DataError
from bert_tf.models import BertEncoder, load_task_model
from bert_tf.training.finetune import (
    finetune_classifier,
    finetune_question_answering,
    finetune_token_classifier,
)
from bert_tf.training.pretrain import pretrain
from tests.training_helpers import write_sentiment_csv, write_tiny_model_folder

FAST = dict(epochs=2, batch_size=8, learning_rate=3e-3, verbose=0, seed=1)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return write_tiny_model_folder(str(tmp_path_factory.mktemp("tiny") / "model"))


@pytest.fixture
def csvs(tmp_path):
    return (
        write_sentiment_csv(str(tmp_path / "train.csv"), 64, seed=0),
        write_sentiment_csv(str(tmp_path / "eval.csv"), 24, seed=1),
    )


def test_finetune_classifier_learns_and_writes_a_loadable_model(tiny_folder, csvs, tmp_path):
    out = str(tmp_path / "out")
    results = finetune_classifier(
        csvs[0],
        csvs[1],
        tiny_folder,
        out,
        max_seq_length=16,
        epochs=6,
        **{k: v for k, v in FAST.items() if k != "epochs"},
    )
    for key in (
        "accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "matthews_corrcoef",
        "eval_loss",
    ):
        assert key in results
    assert results["accuracy"] >= 0.75, results
    with open(os.path.join(out, "eval_results.json")) as f:
        assert json.load(f)["accuracy"] == results["accuracy"]
    model, info = load_task_model(os.path.join(out, "model"))
    assert info["task"] == "classification" and info["labels"] == ["negative", "positive"]
    assert info["preprocessor"] == {"sequence_length": 16, "text_pair": False}
    assert os.path.exists(os.path.join(out, "model", "vocab.txt"))
    assert os.listdir(os.path.join(out, "logs", "train"))


def test_unknown_eval_label_fails_before_training_and_writes_nothing(tiny_folder, tmp_path):
    train = write_sentiment_csv(str(tmp_path / "train.csv"), 16)
    bad = write_sentiment_csv(str(tmp_path / "eval.csv"), 8, labels=("negative", "neutral"))
    out = str(tmp_path / "out")
    with pytest.raises(DataError, match="unknown label 'neutral'"):
        finetune_classifier(train, bad, tiny_folder, out, max_seq_length=16, **FAST)
    assert not os.path.exists(os.path.join(out, "model"))
    assert not os.path.exists(os.path.join(out, "eval_results.json"))


def test_bad_inputs_are_clear_errors(tiny_folder, csvs, tmp_path):
    out = str(tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="train_file not found"):
        finetune_classifier(str(tmp_path / "missing.csv"), csvs[1], tiny_folder, out, **FAST)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="train_file is empty"):
        finetune_classifier(str(empty), csvs[1], tiny_folder, out, **FAST)
    header_only = tmp_path / "header.csv"
    header_only.write_text("text,label\n")
    with pytest.raises(DataError, match="no examples"):
        finetune_classifier(str(header_only), csvs[1], tiny_folder, out, max_seq_length=16, **FAST)
    with pytest.raises(ValueError, match="max_position_embeddings=64"):
        finetune_classifier(csvs[0], csvs[1], tiny_folder, out, max_seq_length=128, **FAST)
    assert not os.path.exists(out) or not os.path.exists(os.path.join(out, "model"))


def test_resume_of_a_finished_run_with_another_model_size_is_a_clear_error(
    tiny_folder, csvs, tmp_path
):
    out = str(tmp_path / "out")
    finetune_classifier(csvs[0], csvs[1], tiny_folder, out, max_seq_length=16, **FAST)
    other = write_tiny_model_folder(str(tmp_path / "other"), max_position_embeddings=32)
    # Caught by the run's fingerprint (run.json) before any checkpoint is read.
    with pytest.raises(ValueError, match="init_checkpoint .*other holds another model"):
        finetune_classifier(csvs[0], csvs[1], other, out, max_seq_length=16, **FAST)


def _write_conll(path, sentences):
    with open(path, "w") as f:
        f.write("-DOCSTART- -X- -X- O\n\n")
        for words, tags in sentences:
            for w, t in zip(words, tags):
                f.write(f"{w} NN O {t}\n")
            f.write("\n")
    return path


def _ner_sentences(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words, tags = [], []
        for _ in range(rng.integers(3, 7)):
            if rng.random() < 0.3:
                words += ["good", "food"]
                tags += ["B-DISH", "I-DISH"]
            else:
                words.append(str(rng.choice(["the", "was", "very", "we", "day"])))
                tags.append("O")
        out.append((words, tags))
    return out


def test_finetune_token_classifier_reports_conll_f1(tiny_folder, tmp_path):
    train = _write_conll(str(tmp_path / "train.conll"), _ner_sentences(48, 0))
    dev = _write_conll(str(tmp_path / "dev.conll"), _ner_sentences(16, 1))
    out = str(tmp_path / "out")
    results = finetune_token_classifier(
        train,
        dev,
        tiny_folder,
        out,
        max_seq_length=16,
        epochs=6,
        **{k: v for k, v in FAST.items() if k != "epochs"},
    )
    assert {"precision", "recall", "f1", "accuracy"} <= set(results)
    assert results["f1"] > 0.5, results
    _, info = load_task_model(os.path.join(out, "model"))
    assert info["task"] == "token_classification" and info["labels"] == ["B-DISH", "I-DISH", "O"]


def test_finetune_question_answering_reports_squad_metrics(tiny_folder, tmp_path):
    context = "we love the food . the day was very good"
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": f"q{i}",
                                "question": "what was good",
                                "is_impossible": False,
                                "answers": [
                                    {"text": "the day", "answer_start": context.index("the day")}
                                ],
                            }
                            for i in range(8)
                        ]
                        + [
                            {
                                "id": "none",
                                "question": "we hate you",
                                "is_impossible": True,
                                "answers": [],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    results = finetune_question_answering(
        str(path),
        str(path),
        tiny_folder,
        str(tmp_path / "out"),
        max_seq_length=32,
        doc_stride=8,
        max_query_length=8,
        **dict(FAST, epochs=12),
    )
    assert results["squad_version"] == "2.0"
    # It learns the one answer of the eight answerable questions (chance: one span of dozens), and
    # the overall figure is the hand-computed mix of the 8 answerable and 1 unanswerable questions.
    assert results["HasAns_exact"] == 100.0, results
    mix = (8 * results["HasAns_exact"] + results["NoAns_exact"]) / 9
    assert results["exact_match"] == pytest.approx(mix)


def test_pretrain_from_a_preset_writes_encoder_and_baseline(tmp_path):
    text = tmp_path / "book.txt"
    rng = np.random.default_rng(0)
    words = "the whale was white and the sea the deep".split()  # "the": commonest
    text.write_text(
        "\n\n".join(
            " ".join(rng.choice(words, 12)) + " .\n" + " ".join(rng.choice(words, 9))
            for _ in range(40)
        )
    )
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *sorted(set(words))]) + "\n"
    )
    out = str(tmp_path / "out")
    results = pretrain(
        str(text),
        out,
        vocab_file=str(vocab),
        model="bert_tiny",
        max_seq_length=32,
        train_steps=6,
        batch_size=8,
        learning_rate=1e-3,
        verbose=0,
    )
    for key in ("masked_lm_accuracy", "commonest_token_baseline_accuracy", "nsp_accuracy"):
        assert 0.0 <= results[key] <= 1.0
    assert results["commonest_token"] == "the" and results["global_step"] == 6
    encoder = BertEncoder.from_pretrained(os.path.join(out, "model"))
    assert encoder.config.vocab_size == 13 and encoder.config.hidden_size == 128
    assert os.path.exists(os.path.join(out, "model", "vocab.txt"))
    _, info = load_task_model(os.path.join(out, "pretrainer"))
    assert info["task"] == "pretraining"


def test_pretrain_chinese_zero_steps_is_the_random_baseline_and_snapshots_use_jieba_words(tmp_path):
    """train_steps=0 writes the freshly initialised network (the random-initialisation arm); on a
    Chinese vocabulary --whole_word_masking segments with jieba; encoders are written every N
    steps."""
    pytest.importorskip("jieba")
    chars = [chr(0x4E00 + 37 * i) for i in range(150)]
    rng = np.random.default_rng(0)
    text = tmp_path / "zh.txt"
    text.write_text(
        "\n\n".join(
            "".join(rng.choice(chars, 30)) + "。\n" + "".join(rng.choice(chars, 20)) + "。"
            for _ in range(40)
        ),
        encoding="utf-8",
    )
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "。", *chars]) + "\n",
        encoding="utf-8",
    )
    small = dict(
        vocab_file=str(vocab), model="bert_tiny", max_seq_length=32, batch_size=8, verbose=0
    )
    random_init = pretrain(str(text), str(tmp_path / "r"), train_steps=0, **small)
    assert random_init["global_step"] == 0 and os.path.exists(
        tmp_path / "r" / "model" / "model.weights.h5"
    )
    assert random_init["whole_word_segmenter"] is None
    results = pretrain(
        str(text),
        str(tmp_path / "p"),
        train_steps=4,
        whole_word_masking=True,
        save_encoder_every_n_steps=2,
        **small,
    )
    assert results["whole_word_segmenter"] == "jieba" and results["global_step"] == 4
    for step in (2, 4):
        assert (
            BertEncoder.from_pretrained(str(tmp_path / "p" / f"model_step{step}")).config.vocab_size
            == len(chars) + 6
        )
    with pytest.raises(ValueError, match="train_steps"):
        pretrain(str(text), str(tmp_path / "x"), train_steps=-1, **small)


def test_pretrain_learns_a_corpus_whose_masked_tokens_follow_from_context(tmp_path):
    """Behaviour, not key names: on text where every token is fixed by its neighbours (one
    cycle of 8 words, started at random points), masked-LM accuracy far exceeds the
    commonest-token baseline after a short run; a broken mask/label alignment stays at it."""
    words = "alpha bravo charlie delta echo foxtrot golf hotel".split()
    rng = np.random.default_rng(0)
    docs = []
    for _ in range(60):
        start = int(rng.integers(len(words)))
        line = [words[(start + i) % len(words)] for i in range(24)]
        docs.append(" ".join(line[:12]) + "\n" + " ".join(line[12:]))
    text = tmp_path / "cycle.txt"
    text.write_text("\n\n".join(docs) + "\n")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    results = pretrain(
        str(text),
        str(tmp_path / "out"),
        vocab_file=str(vocab),
        model="bert_tiny",
        max_seq_length=32,
        train_steps=150,
        batch_size=16,
        learning_rate=2e-3,
        use_nsp=False,
        eval_fraction=0.2,
        verbose=0,
        tensorboard=False,
    )
    baseline = results["commonest_token_baseline_accuracy"]
    assert baseline < 0.3, results  # eight words in equal measure
    # measured 0.47 after 80 steps (baseline 0.064); a tenth of that signal would still pass
    assert results["masked_lm_accuracy"] > max(0.3, 4 * baseline), results


def test_pretrain_from_scratch_starts_the_mlm_bias_at_the_unigram_prior(tmp_path):
    """From scratch the MLM output bias is the training text's log unigram frequency (the
    commonest token gets the largest bias, unseen tokens the smoothed floor), so the untrained
    network already scores masked tokens at the unigram cross-entropy; ``zeros`` keeps
    google-research/bert's zero bias; an unknown choice is a one-line error."""
    from bert_tf.models import load_pretrainer
    from bert_tf.training.pretrain import unigram_log_prior

    words = ["the"] * 6 + ["sea", "sea", "was", "calm"]
    text = tmp_path / "t.txt"
    text.write_text("\n\n".join(" ".join(words) + "\n" + " ".join(words) for _ in range(30)))
    vocab = tmp_path / "vocab.txt"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "sea", "was", "calm", "sky"]
    vocab.write_text("\n".join(tokens) + "\n")
    small = dict(vocab_file=str(vocab), max_seq_length=32, batch_size=8, train_steps=0, verbose=0)
    pretrain(str(text), str(tmp_path / "u"), **small)
    bias = load_pretrainer(str(tmp_path / "u" / "pretrainer")).mlm_head.output_bias.numpy()
    documents = 29  # 30, less the one held out (every 20th)
    counts = np.zeros(len(tokens))
    for token, n in (("the", 12), ("sea", 4), ("was", 2), ("calm", 2)):
        counts[tokens.index(token)] = n * documents
    np.testing.assert_allclose(bias, unigram_log_prior(counts), atol=1e-5)
    assert int(np.argmax(bias)) == tokens.index("the")
    floor = np.log(1 / (20 * documents + len(tokens)))
    assert bias[tokens.index("sky")] == pytest.approx(floor, abs=1e-5)
    pretrain(str(text), str(tmp_path / "z"), mlm_bias_init="zeros", **small)
    zeros = load_pretrainer(str(tmp_path / "z" / "pretrainer")).mlm_head.output_bias.numpy()
    assert not zeros.any()
    with pytest.raises(ValueError, match="mlm_bias_init must be one of unigram, zeros"):
        pretrain(str(text), str(tmp_path / "x"), mlm_bias_init="uniform", **small)


def test_pretrain_writes_the_encoder_at_the_initial_embedding_scale_with_the_same_function(
    tmp_path,
):
    """From scratch the token rows grow during pretraining; model/ (and each model_step{N}) gets
    the token, position and segment embeddings scaled together back to the initializer's row
    norm, which the embedding LayerNorm makes the same function as the trained encoder in
    pretrainer/; ``trained`` writes them as trained."""
    from bert_tf.models import load_pretrainer
    from bert_tf.training.pretrain import TRUNCATED_NORMAL_STD

    words = "alpha bravo charlie delta echo foxtrot golf hotel".split()
    rng = np.random.default_rng(0)
    text = tmp_path / "t.txt"
    text.write_text(
        "\n\n".join(
            " ".join(rng.choice(words, 12)) + "\n" + " ".join(rng.choice(words, 12))
            for _ in range(40)
        )
    )
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    small = dict(
        vocab_file=str(vocab),
        max_seq_length=32,
        batch_size=8,
        train_steps=30,
        learning_rate=1e-2,
        verbose=0,
        tensorboard=False,
    )
    results = pretrain(str(text), str(tmp_path / "p"), save_encoder_every_n_steps=15, **small)
    trained = load_pretrainer(str(tmp_path / "p" / "pretrainer")).encoder
    written = BertEncoder.from_pretrained(str(tmp_path / "p" / "model"))

    def row_norm(encoder):
        return np.linalg.norm(encoder.token_embedding.embeddings.numpy(), axis=1).mean()

    initial = 0.02 * TRUNCATED_NORMAL_STD * np.sqrt(128)
    assert row_norm(trained) > 1.2 * initial  # pretraining grew the rows
    assert row_norm(written) == pytest.approx(initial, rel=1e-4)
    assert results["embedding_rescale_factor"] == pytest.approx(initial / row_norm(trained), 1e-4)
    snapshot = BertEncoder.from_pretrained(str(tmp_path / "p" / "model_step15"))
    assert row_norm(snapshot) == pytest.approx(initial, rel=1e-4)
    features = {
        "token_ids": np.array([[2, 5, 9, 7, 3, 6, 8, 3]]),
        "segment_ids": np.array([[0, 0, 0, 0, 0, 1, 1, 1]]),
        "padding_mask": np.ones((1, 8), "int32"),
    }
    expected = trained(features)["sequence_output"].numpy()
    np.testing.assert_allclose(written(features)["sequence_output"], expected, atol=2e-5)
    # the check can see a wrong rescale: the token table alone scaled changes the function
    written.embeddings.position_embeddings.assign(trained.embeddings.position_embeddings)
    assert np.abs(written(features)["sequence_output"].numpy() - expected).max() > 1e-3
    pretrain(str(text), str(tmp_path / "t"), embedding_scale="trained", **small)
    as_trained = BertEncoder.from_pretrained(str(tmp_path / "t" / "model"))
    assert row_norm(as_trained) > 1.2 * initial
