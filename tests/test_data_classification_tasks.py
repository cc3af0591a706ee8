"""Multi-label cells and the label-column guard (NaN, typos against a label_map, learned set)."""

import logging

import numpy as np
import pytest

from bert_tf.data import DataError, classification_dataset, read_classification_examples
from tests.test_data_readers import make_preprocessor, write


@pytest.fixture(scope="module")
def preprocessor(tmp_path_factory):
    return make_preprocessor(tmp_path_factory.mktemp("vocab"), sequence_length=16)


def test_multi_label_cells_give_multi_hot_targets(tmp_path, preprocessor):
    path = write(
        tmp_path / "m.csv", 'text,tags\ngood,"b|a"\nbad,c\nthe movie,\ngood bad,"a | c|a"\n'
    )
    examples = read_classification_examples(path, "text", "tags", label_type="multi_label")
    assert examples.label_names == ["a", "b", "c"]
    assert examples.labels == [(0, 1), (2,), (), (0, 2)]  # an empty cell: a row with no labels
    ds, names = classification_dataset(
        path, "text", "tags", preprocessor, batch_size=8, bucket_by="none", label_type="multi_label"
    )
    _, y = next(iter(ds))
    np.testing.assert_array_equal(y.numpy(), [[1, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 1]])
    # JSON lists work too, and the eval file is read against the training labels
    path = write(
        tmp_path / "m.jsonl", '{"text": "good", "tags": ["c", "b"]}\n{"text": "bad", "tags": "a"}\n'
    )
    examples = read_classification_examples(
        path, "text", "tags", label_type="multi_label", label_map=names
    )
    assert examples.labels == [(1, 2), (0,)]
    # drop_remainder keeps the static [B, L] shape
    ds, _ = classification_dataset(
        path,
        "text",
        "tags",
        preprocessor,
        batch_size=2,
        bucket_by="none",
        label_type="multi_label",
        label_map=names,
        drop_remainder=True,
    )
    assert ds.element_spec[1].shape.as_list() == [2, 3]


def test_multi_label_typos_and_empty_names_name_file_and_line(tmp_path):
    path = write(tmp_path / "m.csv", "text,tags\ngood,a|b\nbad,a|bb\n")
    with pytest.raises(DataError, match=r"m\.csv:3: unknown label 'bb' in column 'tags'"):
        read_classification_examples(
            path, "text", "tags", label_type="multi_label", label_map=["a", "b"]
        )
    path = write(tmp_path / "e.csv", "text,tags\ngood,a||b\n")
    with pytest.raises(DataError, match=r"e\.csv:2: empty label name in column 'tags'"):
        read_classification_examples(path, "text", "tags", label_type="multi_label")
    path = write(tmp_path / "n.csv", "text,tags\ngood,a|nan\n")
    with pytest.raises(DataError, match=r"n\.csv:2: missing label 'nan'"):
        read_classification_examples(path, "text", "tags", label_type="multi_label")


def test_nan_label_is_not_a_class(tmp_path):
    path = write(tmp_path / "p.csv", "text,label\ngood,pos\nbad,NaN\n")  # pandas' NaN written out
    with pytest.raises(DataError, match=r"p\.csv:3: missing label 'NaN' in column 'label'"):
        read_classification_examples(path, "text", "label")
    path = write(
        tmp_path / "j.jsonl", '{"text": "good", "label": "pos"}\n{"text": "bad", "label": NaN}\n'
    )
    with pytest.raises(DataError, match=r"j\.jsonl:2: missing label 'nan'"):
        read_classification_examples(path, "text", "label")
    # a label_map that lists "nan" makes it a class on purpose
    examples = read_classification_examples(
        str(tmp_path / "p.csv"), "text", "label", label_map=["pos", "NaN"]
    )
    assert examples.labels == [0, 1]


def test_label_typo_with_label_map_is_an_error_and_without_is_logged(tmp_path, caplog):
    path = write(tmp_path / "t.csv", "text,label\ngood,positive\nbad,negative\nok,postive\n")
    with pytest.raises(DataError, match=r"t\.csv:4: unknown label 'postive' in column 'label'"):
        read_classification_examples(path, "text", "label", label_map=["negative", "positive"])
    with caplog.at_level(logging.DEBUG, logger="bert_tf.data.classification"):
        examples = read_classification_examples(path, "text", "label")
    assert examples.label_names == ["negative", "positive", "postive"]
    assert (
        "labels learned from the data (no label_map): {'negative': 1, 'positive': 1, 'postive': 1}"
        in caplog.text
    )
