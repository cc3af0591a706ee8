"""Overlapping windows over long texts: the cut, the mean of window logits, the training batches."""

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.data import text_windows
from tests.test_data_readers import make_preprocessor


@pytest.fixture(scope="module")
def preprocessor(tmp_path_factory):
    return make_preprocessor(
        tmp_path_factory.mktemp("vocab"), sequence_length=6
    )  # windows of 4 pieces


def test_split_windows_by_hand():
    pieces = tf.ragged.constant([list(range(10, 20)), [7, 8], [], list(range(30, 35))], tf.int32)
    windows, rows = text_windows.split_windows(pieces, window_length=4, stride=3)
    assert rows.numpy().tolist() == [0, 0, 0, 1, 2, 3, 3]
    assert windows.to_list() == [
        [10, 11, 12, 13],
        [13, 14, 15, 16],
        [16, 17, 18, 19],  # 10 pieces: starts 0, 3, 6 (= 10 - 4)
        [7, 8],  # fits: one window, as truncate
        [],  # empty text: one empty window ([CLS] [SEP])
        [30, 31, 32, 33],
        [31, 32, 33, 34],  # 5 pieces: starts 0, then 1 (moved back to end at the end)
    ]
    # the windows cover every piece, in order
    covered = {v for w in windows.to_list()[:3] for v in w}
    assert covered == set(range(10, 20))
    windows, rows = text_windows.split_windows(tf.ragged.constant([[]], tf.int32)[:0], 4, 3)
    assert rows.shape == [0] and windows.shape[0] == 0


def test_windowed_logits_are_the_mean_over_windows(preprocessor):
    class FirstPieceModel:  # logits = [first real piece id, count of real pieces] per window
        def __call__(self, features, training=False):
            ids = tf.cast(features["token_ids"], tf.float32)
            return tf.stack(
                [ids[:, 1], tf.reduce_sum(tf.cast(features["padding_mask"], tf.float32), 1) - 2], 1
            )

    tokenizer = preprocessor.tokenizer
    texts = ["good bad the movie good bad the movie good bad", "good bad", ""]
    ids = tokenizer(tf.constant(texts)).to_list()
    assert len(ids[0]) == 10 and len(set(ids[0][:4])) == 4
    logits = text_windows.windowed_logits(
        FirstPieceModel(), preprocessor, tf.constant(texts), stride=3
    )
    # text 0: windows start at pieces 0, 3, 6 (good, movie, the), 4 pieces each; text 2: [CLS] [SEP]
    first_of_windows = np.mean([ids[0][0], ids[0][3], ids[0][6]])
    sep = tokenizer.sep_id
    np.testing.assert_allclose(
        logits.numpy(), [[first_of_windows, 4], [ids[1][0], 2], [sep, 0]], rtol=1e-6
    )
    empty = text_windows.windowed_logits(
        FirstPieceModel(), preprocessor, tf.constant([], tf.string), stride=3
    )
    assert empty.shape == [0, 2]


def test_short_texts_get_the_truncate_features(preprocessor):
    texts = tf.constant(["good bad", "the movie was good"])
    features, rows = text_windows.window_features(preprocessor, texts, stride=2)
    plain = preprocessor(texts)
    assert rows.numpy().tolist() == [0, 1]
    for key in plain:
        np.testing.assert_array_equal(features[key].numpy(), plain[key].numpy())


def test_window_dataset_repeats_each_label_per_window(preprocessor):
    class Examples:
        texts = ["good " * 9 + "bad", "good bad", "the movie"]

    ds = text_windows.window_dataset(
        Examples(), preprocessor, stride=3, batch_size=4, targets=np.array([1, 0, 2])
    )
    labels = np.concatenate([y.numpy() for _, y in ds])
    assert labels.tolist() == [1, 1, 1, 0, 2]
    assert len(ds) == 2
    features, _ = next(iter(ds))
    assert features["token_ids"].shape == [4, 6]


def test_check_long_text():
    assert text_windows.check_long_text("truncate", None, 128) is None
    assert text_windows.check_long_text("windows", None, 128) == 63
    with pytest.raises(ValueError, match="window_stride must be in 1..126"):
        text_windows.check_long_text("windows", 127, 128)
    with pytest.raises(ValueError, match="single texts"):
        text_windows.check_long_text("windows", 8, 128, text_pair=True)
    with pytest.raises(ValueError, match="long_text must be one of"):
        text_windows.check_long_text("chunks", 8, 128)
