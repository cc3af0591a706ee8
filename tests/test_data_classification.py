"""Classification pipeline: CSV/TSV/JSONL -> labelled, bucketed, in-graph tokenized batches."""

import dataclasses
import logging
import random

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.data import (
    DataError,
    classification_dataset,
    padding_efficiency,
    read_classification_examples,
)
from tests.test_data_readers import make_preprocessor, write


@pytest.fixture(scope="module")
def preprocessor(tmp_path_factory):
    return make_preprocessor(tmp_path_factory.mktemp("vocab"), sequence_length=16)


def _mixed_length_csv(path, n=240, seed=0):
    """Rows of 1-3 words and a few of ~12 words, random order: padding to the longest wastes a
    lot."""
    rng = random.Random(seed)
    lines = ["text,label"]
    for i in range(n):
        words = rng.choice([1, 1, 2, 3, 12])
        text = " ".join(rng.choice(["good", "bad", "movie", "the plot"]) for _ in range(words))
        lines.append(f'"{text}, row {i}",{rng.choice(["pos", "neg", "neutral"])}')
    return write(path, "\n".join(lines) + "\n")


def _rows(ds):
    """(token_ids without padding, label) per row, in dataset order."""
    out = []
    for features, labels in ds:
        for ids, mask, label in zip(
            features["token_ids"].numpy(), features["padding_mask"].numpy(), labels.numpy()
        ):
            out.append((tuple(ids[mask == 1]), label.item()))
    return out


def test_csv_with_quotes_and_newlines_gives_the_right_labels(tmp_path, preprocessor):
    path = write(
        tmp_path / "train.csv",
        'id,text,label\n1,"good movie, very good",pos\n2,"bad\nplot",neg\n'
        '3,"the ""film""",neutral\n',
    )
    ds, labels = classification_dataset(
        path, "text", "label", preprocessor, batch_size=8, bucket_by="none"
    )
    assert labels == ["neg", "neutral", "pos"]
    assert len(ds) == 1
    features, y = next(iter(ds))
    assert y.numpy().tolist() == [2, 0, 1]
    assert y.dtype == tf.int32
    assert set(features) == {"token_ids", "segment_ids", "padding_mask"}
    assert all(v.dtype == tf.int32 for v in features.values())
    # each row starts with [CLS]; the row "bad\nplot" has the two words' ids
    tokenizer = preprocessor.tokenizer
    vocab = tokenizer.vocabulary
    ids = features["token_ids"].numpy()
    assert (ids[:, 0] == tokenizer.cls_id).all()
    assert [vocab[i] for i in ids[1][features["padding_mask"].numpy()[1] == 1]] == [
        "[CLS]",
        "bad",
        "plot",
        "[SEP]",
    ]


def test_text_pairs_from_tsv_and_label_map_given(tmp_path, preprocessor):
    path = write(
        tmp_path / "dev.tsv", "premise\thypothesis\tlabel\nthe film\tit was good\t1\ngood\tbad\t0\n"
    )
    ds, labels = classification_dataset(
        path,
        "premise",
        "label",
        preprocessor,
        batch_size=4,
        text_pair_column="hypothesis",
        label_map=["1", "0"],
        bucket_by="none",
    )
    assert labels == ["1", "0"]
    features, y = next(iter(ds))
    assert y.numpy().tolist() == [0, 1]
    seg = features["segment_ids"].numpy()[0][features["padding_mask"].numpy()[0] == 1]
    assert seg.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]  # [CLS] the film [SEP] | it was good [SEP]


def test_jsonl_integer_and_regression_labels(tmp_path, preprocessor):
    lines = [
        f'{{"text": "good movie {i}", "label": {i % 11}, "score": {i / 10}}}' for i in range(22)
    ]
    path = write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    ds, labels = classification_dataset(
        path, "text", "label", preprocessor, batch_size=32, bucket_by="none"
    )
    assert labels == [str(i) for i in range(11)]  # numeric order, not "0", "1", "10", "2"
    assert next(iter(ds))[1].numpy().tolist() == [i % 11 for i in range(22)]
    ds, labels = classification_dataset(
        path,
        "text",
        "score",
        preprocessor,
        batch_size=32,
        label_type="regression",
        bucket_by="none",
    )
    assert labels is None
    y = next(iter(ds))[1]
    assert y.dtype == tf.float32
    np.testing.assert_allclose(y.numpy(), [i / 10 for i in range(22)], rtol=1e-6)


def test_malformed_rows_name_file_and_line_or_are_skipped(tmp_path, preprocessor, caplog):
    path = write(tmp_path / "bad.csv", 'text,label\n"a\nb",pos\n"  ",neg\ngood,\nok,pos\n')
    with pytest.raises(DataError, match=r"bad\.csv:4: empty text in column 'text'"):
        classification_dataset(path, "text", "label", preprocessor)
    with caplog.at_level(logging.WARNING, logger="bert_tf.data.classification"):
        examples = read_classification_examples(path, "text", "label", skip_invalid=True)
    assert "bad.csv: skipped 2 invalid row(s); first: " in caplog.text
    assert (
        examples.num_skipped == 2
        and examples.line_numbers == [2, 6]
        and examples.label_names == ["pos"]
    )
    with pytest.raises(DataError, match=r"bad\.csv:2: missing column 'sentence'"):
        classification_dataset(path, "sentence", "label", preprocessor)
    # an eval file with a label the training labels do not have
    path = write(
        tmp_path / "eval.jsonl",
        '{"text": "good", "label": "pos"}\n{"text": "bad", "label": "meh"}\n',
    )
    with pytest.raises(DataError, match=r"eval\.jsonl:2: unknown label 'meh'"):
        classification_dataset(path, "text", "label", preprocessor, label_map=["neg", "pos"])
    path = write(tmp_path / "r.csv", "text,y\ngood,0.5\nbad,high\n")
    with pytest.raises(DataError, match=r"r\.csv:3: regression target .* not a finite number"):
        read_classification_examples(path, "text", "y", label_type="regression")


def test_empty_data_is_a_clear_error(tmp_path, preprocessor):
    with pytest.raises(DataError, match=r"empty\.csv: no examples found"):
        classification_dataset(
            write(tmp_path / "empty.csv", "text,label\n"), "text", "label", preprocessor
        )
    path = write(tmp_path / "allbad.csv", "text,label\n,pos\n")
    with pytest.raises(DataError, match=r"allbad\.csv: no examples found \(1 invalid row"):
        classification_dataset(path, "text", "label", preprocessor, skip_invalid=True)


def test_latin1_file_reads_with_encoding_option(tmp_path, preprocessor):
    path = write(
        tmp_path / "tweets.csv", "sentiment,text\npositive,caf\xe9 good\n", encoding="latin-1"
    )
    with pytest.raises(DataError, match=r"tweets\.csv:2: cannot decode"):
        classification_dataset(path, "text", "sentiment", preprocessor)
    ds, labels = classification_dataset(path, "text", "sentiment", preprocessor, encoding="latin-1")
    assert labels == ["positive"] and len(list(ds)) == 1


def test_bucketing_reduces_padding_and_keeps_every_row(tmp_path, preprocessor):
    path = _mixed_length_csv(tmp_path / "mixed.csv", n=160)
    batches = {}
    for by in ("none", "tokens", "chars"):
        ds, _ = classification_dataset(
            path, "text", "label", preprocessor, batch_size=8, bucket_by=by, shuffle=True, seed=0
        )
        batches[by] = list(ds)  # one pass each
        assert len(ds) == len(batches[by])  # the declared cardinality is the real number of batches
    eff = {by: padding_efficiency(b) for by, b in batches.items()}
    for by in ("tokens", "chars"):
        assert sorted(_rows(batches[by])) == sorted(
            _rows(batches["none"])
        )  # same rows and labels, regrouped
        widths = {f["token_ids"].shape[1] for f, _ in batches[by]}
        assert max(widths) <= 16 and len(widths) > 1  # per-batch widths, capped at sequence_length
    assert eff["tokens"] > eff["none"] + 0.2, eff
    assert eff["chars"] > eff["none"] + 0.1, eff


def test_pad_to_multiple_of_limits_the_shapes(tmp_path, preprocessor):
    path = _mixed_length_csv(tmp_path / "mixed.csv", n=48)
    ds, _ = classification_dataset(
        path, "text", "label", preprocessor, batch_size=8, pad_to_multiple_of=5
    )
    for features, _ in ds:
        t = features["token_ids"].shape[1]
        mask = features["padding_mask"].numpy()
        assert t in (5, 10, 15, 16) and mask.sum(1).max() > t - 5  # rounded up, never past the cap
        assert (features["token_ids"].numpy()[mask == 0] == preprocessor.tokenizer.pad_id).all()


def test_shuffle_is_deterministic_with_a_seed_and_reshuffles_each_epoch(tmp_path, preprocessor):
    path = _mixed_length_csv(tmp_path / "mixed.csv", n=40)

    def make(seed):
        return classification_dataset(
            path, "text", "label", preprocessor, batch_size=8, shuffle=True, seed=seed
        )[0]

    a = make(3)
    first = _rows(a)
    assert first == _rows(make(3))
    assert first != _rows(a)  # a new order in the next epoch
    other = _rows(make(4))
    assert first != other and sorted(first) == sorted(other)


def test_drop_remainder_gives_static_batches(tmp_path, preprocessor):
    path = _mixed_length_csv(tmp_path / "mixed.csv", n=100)
    ds, _ = classification_dataset(
        path,
        "text",
        "label",
        preprocessor,
        batch_size=8,
        drop_remainder=True,
        bucket_by="tokens",
        bucket_boundaries=[5, 8],
    )
    batches = list(ds)
    assert len(batches) == len(ds) and all(f["token_ids"].shape[0] == 8 for f, _ in batches)
    assert ds.element_spec[1].shape.as_list() == [8]


def test_unlabelled_file_gives_features_only(tmp_path, preprocessor):
    path = write(tmp_path / "p.csv", "text\ngood\nbad movie\n")
    ds, labels = classification_dataset(path, "text", None, preprocessor, bucket_by="none")
    assert labels is None
    (features,) = list(ds)
    assert isinstance(features, dict) and features["token_ids"].shape[0] == 2


@pytest.mark.integration
def test_real_tweets_corpus_latin1_with_minilm_vocab():
    """The real 38k-row tweets CSV (latin-1) through the real MiniLM tokenizer: bucketing pays
    off."""
    import os

    from bert_tf.public_data import dataset_path
    from bert_tf.text import BertPreprocessor
    from tests.conftest import minilm_or_skip

    try:
        path = dataset_path("tweets")
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    examples = read_classification_examples(path, "text", "sentiment", encoding="latin-1")
    assert len(examples) == 38158 and examples.label_names == ["negative", "neutral", "positive"]
    assert examples.num_skipped == 0
    subset = dataclasses.replace(
        examples,
        texts=examples.texts[:3000],
        labels=examples.labels[:3000],
        line_numbers=examples.line_numbers[:3000],
    )
    pre = BertPreprocessor.from_pretrained(minilm_or_skip(), sequence_length=128)
    plain, _ = classification_dataset(subset, preprocessor=pre, batch_size=32, bucket_by="none")
    bucketed, _ = classification_dataset(
        subset, preprocessor=pre, batch_size=32, shuffle=True, seed=0
    )
    assert padding_efficiency(bucketed) > padding_efficiency(plain) + 0.2
