"""CoNLL-2003 token classification: reading, first-piece label alignment, mapping back to words."""

import keras
import numpy as np
import pytest

from bert_tf.data import DataError, padding_efficiency
from bert_tf.data.conll import (
    IGNORE_LABEL,
    read_token_classification_examples,
    token_classification_dataset,
    word_labels_from_logits,
)
from tests.test_data_readers import make_preprocessor, write

CONLL_2003 = """-DOCSTART- -X- -X- O

John NNP B-NP B-PER
lives VBZ B-VP O
in IN B-PP O
New NNP B-NP B-LOC
York NNP I-NP I-LOC
. . O O

-DOCSTART- -X- -X- O

Zorg NNP B-NP B-ORG
works VBZ B-VP O
unbelievable JJ B-ADJP O
"""


@pytest.fixture(scope="module")
def preprocessor(tmp_path_factory):
    return make_preprocessor(tmp_path_factory.mktemp("vocab"), sequence_length=16)


def test_reads_conll_2003_with_docstart_and_sentence_breaks(tmp_path):
    ex = read_token_classification_examples(write(tmp_path / "train.txt", CONLL_2003))
    assert ex.sentences == [
        ["John", "lives", "in", "New", "York", "."],
        ["Zorg", "works", "unbelievable"],
    ]
    assert ex.tags[1] == ["B-ORG", "O", "O"]
    assert ex.label_names == ["B-LOC", "B-ORG", "B-PER", "I-LOC", "O"]
    assert ex.line_numbers == [3, 12]


def test_two_column_files_and_errors_name_the_line(tmp_path):
    ex = read_token_classification_examples(
        write(tmp_path / "a.tsv", "John\tB-PER\nlives\tO\n\nhe\tO\n")
    )
    assert ex.sentences == [["John", "lives"], ["he"]] and ex.label_ids == [[0, 1], [1]]
    with pytest.raises(DataError, match=r"b\.txt:2: expected 4 columns"):
        read_token_classification_examples(
            write(tmp_path / "b.txt", "John NNP B-NP B-PER\nlives O\n")
        )
    with pytest.raises(DataError, match=r"c\.txt:4: unknown label 'B-MISC'"):
        read_token_classification_examples(
            write(tmp_path / "c.txt", "a O\n\nb O\nc B-MISC\n"), label_map=["O", "B-PER"]
        )
    with pytest.raises(DataError, match=r"d\.txt: no sentences found"):
        read_token_classification_examples(write(tmp_path / "d.txt", "-DOCSTART- O\n\n"))


def test_labels_go_on_the_first_piece_only(tmp_path, preprocessor):
    path = write(tmp_path / "train.txt", CONLL_2003)
    ds, names = token_classification_dataset(
        path, preprocessor, batch_size=4, bucket=False, return_word_ids=True
    )
    features, labels, meta = next(iter(ds))
    vocab = preprocessor.tokenizer.vocabulary
    row = 1  # Zorg works unbelievable -> [CLS] z ##o ##r ##g works un ##believ ##able [SEP]
    mask = features["padding_mask"].numpy()[row] == 1
    tokens = [vocab[i] for i in features["token_ids"].numpy()[row][mask]]
    assert tokens == [
        "[CLS]",
        "z",
        "##o",
        "##r",
        "##g",
        "works",
        "un",
        "##believ",
        "##able",
        "[SEP]",
    ]
    got = labels.numpy()[row][mask].tolist()
    o, org = names.index("O"), names.index("B-ORG")
    assert (
        got
        == [IGNORE_LABEL, org, IGNORE_LABEL, IGNORE_LABEL, IGNORE_LABEL, o, o] + [IGNORE_LABEL] * 3
    )
    assert meta["word_ids"].numpy()[row][mask].tolist() == [-1, 0, -1, -1, -1, 1, 2, -1, -1, -1]
    assert (labels.numpy()[~(features["padding_mask"].numpy() == 1)] == IGNORE_LABEL).all()
    # one labelled position per word in every row
    assert ((labels.numpy() != IGNORE_LABEL).sum(1) == [6, 3]).all()


def test_round_trip_token_predictions_to_word_tags(tmp_path, preprocessor):
    ex = read_token_classification_examples(write(tmp_path / "train.txt", CONLL_2003))
    ds, names = token_classification_dataset(
        ex, preprocessor, batch_size=1, return_word_ids=True, shuffle=True, seed=0
    )
    seen = {}
    for _features, labels, meta in ds:
        onehot = (
            np.eye(len(names))[np.where(labels.numpy() < 0, 0, labels.numpy())] * 5.0
        )  # "perfect" logits
        (i,) = meta["example_index"].numpy()
        seen[i] = word_labels_from_logits(onehot, meta["word_ids"], [len(ex.sentences[i])], names)[
            0
        ]
    assert [seen[i] for i in range(len(ex))] == ex.tags


def test_long_sentences_become_overlapping_windows(tmp_path, tmp_path_factory):
    short = make_preprocessor(tmp_path_factory.mktemp("v2"), sequence_length=5)  # room for 3 pieces
    path = write(tmp_path / "t.txt", "Acme B-ORG\nworks O\nin O\nParis B-LOC\n")
    ds, names = token_classification_dataset(
        path, short, batch_size=4, return_word_ids=True, bucket=False
    )
    features, labels, meta = next(iter(ds))
    vocab = short.tokenizer.vocabulary
    tokens = [[vocab[i] for i in row] for row in features["token_ids"].numpy()]
    # default stride 5 // 2 = 2: windows start at pieces 0 and 2; every word labelled somewhere
    assert tokens == [
        ["[CLS]", "acme", "works", "in", "[SEP]"],
        ["[CLS]", "in", "paris", "[SEP]", "[PAD]"],
    ]
    assert meta["window_start"].numpy().tolist() == [0, 2]
    assert meta["example_index"].numpy().tolist() == [0, 0]
    assert [[names[i] if i >= 0 else None for i in row] for row in labels.numpy()] == [
        [None, "B-ORG", "O", "O", None],
        [None, "O", "B-LOC", None, None],
    ]
    assert meta["word_ids"].numpy().tolist() == [[-1, 0, 1, 2, -1], [-1, 2, 3, -1, -1]]
    ds, _ = token_classification_dataset(path, short, batch_size=4, window_stride=3, bucket=False)
    assert [len(f["token_ids"]) for f, _ in ds] == [2]
    with pytest.raises(ValueError, match="window_stride must be between 1 and"):
        token_classification_dataset(path, short, batch_size=4, window_stride=4)


def test_cjk_and_character_words_continue_the_label(tmp_path, preprocessor):
    from bert_tf.text import BertPreprocessor, BertTokenizer

    vocab = preprocessor.tokenizer.vocabulary + ["\u5317", "\u4eac", "\u6211"]
    chinese = BertPreprocessor(BertTokenizer(vocab), sequence_length=16)
    path = write(tmp_path / "c.txt", "\u6211 O\n\u5317\u4eac B-LOC\n\u4eac I-LOC\nab O\n")
    for split, expected in (
        ("whitespace", ["O", "B-LOC", "I-LOC", "I-LOC", "O"]),
        ("characters", ["O", "B-LOC", "I-LOC", "I-LOC", "O", "O"]),
    ):
        ds, names = token_classification_dataset(
            path, chinese, batch_size=1, word_split=split, return_word_ids=True
        )
        features, labels, meta = next(iter(ds))
        got = [names[i] for i in labels.numpy()[0] if i >= 0]
        assert got == expected, split
        assert meta["word_ids"].numpy()[0][labels.numpy()[0] >= 0].tolist()[:3] == [0, 1, -1]


def test_ignore_label_convention_with_keras_loss(tmp_path, preprocessor):
    ds, names = token_classification_dataset(
        write(tmp_path / "t.txt", CONLL_2003), preprocessor, batch_size=2
    )
    _, labels = next(iter(ds))
    logits = np.random.default_rng(0).normal(size=labels.shape + (len(names),)).astype("float32")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)
    keep = labels.numpy() != IGNORE_LABEL
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(logp, labels.numpy().clip(0)[..., None], -1)[..., 0][keep].mean()
    np.testing.assert_allclose(float(loss(labels, logits)), expected, rtol=1e-5)


def test_bucketing_and_determinism(tmp_path, preprocessor):
    lines = []
    rng = np.random.default_rng(0)
    for _s in range(60):
        n = int(rng.choice([1, 2, 9]))
        lines += [
            f"{rng.choice(['john', 'paris', 'acme', 'the'])} {rng.choice(['O', 'B-PER'])}"
            for _ in range(n)
        ]
        lines.append("")
    path = write(tmp_path / "t.txt", "\n".join(lines))
    plain, _ = token_classification_dataset(path, preprocessor, batch_size=4, bucket=False)
    a, _ = token_classification_dataset(path, preprocessor, batch_size=4, shuffle=True, seed=1)
    b, _ = token_classification_dataset(path, preprocessor, batch_size=4, shuffle=True, seed=1)
    batches_a, batches_plain = list(a), list(plain)  # one pass each

    def rows(batches):
        return [tuple(r) for f, _ in batches for r in f["token_ids"].numpy().tolist()]

    first = rows(batches_a)
    assert first == rows(b) and len(first) == 60 and len(batches_a) == len(a)
    assert first != rows(batches_plain)

    def unpad(rs):
        return sorted(tuple(x for x in r if x) for r in rs)

    assert unpad(first) == unpad(rows(batches_plain))
    assert padding_efficiency(batches_a) > padding_efficiency(batches_plain) + 0.15


@pytest.mark.integration
def test_fits_a_token_classifier_and_predicts_one_tag_per_word(tmp_path, preprocessor):
    from bert_tf import BertConfig, BertEncoder, BertTokenClassifier
    from bert_tf.data import predict_word_labels

    path = write(tmp_path / "train.txt", CONLL_2003)
    ds, names = token_classification_dataset(path, preprocessor, batch_size=2)
    config = BertConfig(
        vocab_size=preprocessor.tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=16,
    )
    model = BertTokenClassifier(BertEncoder(config), num_classes=len(names))
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=IGNORE_LABEL
        ),
    )
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    tags = predict_word_labels(model, path, preprocessor, names, batch_size=1)
    assert [len(t) for t in tags] == [6, 3] and all(t in names for row in tags for t in row)
