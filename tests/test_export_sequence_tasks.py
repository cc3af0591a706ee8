"""Exports of multi-label classifiers, regressors and windowed classifiers (TF Serving's loader).

Each signature is checked against the Keras model in eager mode: the same logits
(windowed: the mean over bert_tf.data.text_windows windows), then sigmoid / softmax.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import BertClassifier, BertConfig, BertEncoder
from bert_tf.data.text_windows import windowed_logits
from bert_tf.text import BertPreprocessor, BertTokenizer
from tests.test_export import HOSTILE, VOCAB

SHARED_OPS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "..",
    "shared",
    "serving",
    "tf_serving_2.20_ops.txt",
)
TEXTS = [
    "i love the good movie",
    "the film , not good ! " * 4,
    "",
    "very very great film stuff xx",
    "it was awful . i hate it . the movie was bad , not great , not good at all",
]
KINDS = {
    "multi_label_classification": (
        ["bad", "good", "long"],
        {"mode": "windows", "window_stride": 3},
    ),
    "regression": (None, {"mode": "truncate", "window_stride": None}),
    "classification": (["negative", "positive"], {"mode": "windows", "window_stride": 4}),
}
SEQ = 10


@pytest.fixture(scope="module", params=list(KINDS))
def exported(request, tmp_path_factory):
    import keras

    from bert_tf.checkpoints import save_task_model
    from export.exporter import export_task_folder, load_task_folder
    from export.test_server import LoadedVersion

    task = request.param
    labels, long_text = KINDS[task]
    root = tmp_path_factory.mktemp(task)
    (root / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    keras.utils.set_random_seed(5)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
    )
    model = BertClassifier(BertEncoder(config), num_classes=len(labels) if labels else 1)
    kernel = model.classifier.kernel
    # a random encoder pools every text alike: a wide head spreads the logits apart
    kernel.assign(np.random.default_rng(5).normal(0, 50.0, kernel.shape).astype("float32"))
    # center the logits: unsaturated probabilities, and decisions that differ between texts
    pre = BertPreprocessor(
        BertTokenizer(str(root / "vocab.txt"), lowercase=True), sequence_length=SEQ
    )
    logits = windowed_logits(
        model, pre, tf.constant(TEXTS), long_text["window_stride"] or SEQ
    ).numpy()
    model.classifier.bias.assign(-np.median(logits, axis=0))
    info = {
        "task": task,
        "labels": labels,
        "preprocessor": {"sequence_length": SEQ, "text_pair": False},
        "long_text": long_text,
    }
    if task == "multi_label_classification":
        info["threshold"] = 0.5
    model_dir = str(root / "model")
    save_task_model(model, model_dir, info, vocab_file=str(root / "vocab.txt"), lowercase=True)
    path = export_task_folder(model_dir, str(root / "serving"), "m")
    loaded = LoadedVersion(path)
    model, preprocessor, info = load_task_folder(model_dir)
    yield {
        "task": task,
        "path": path,
        "loaded": loaded,
        "model": model,
        "pre": preprocessor,
        "info": info,
    }
    loaded.close()


def _reference_logits(e, texts):
    stride = e["info"]["long_text"]["window_stride"]
    if stride:
        return windowed_logits(e["model"], e["pre"], tf.constant(texts), stride).numpy()
    return np.asarray(e["model"](e["pre"](tf.constant(texts)), training=False))


def test_serving_default_equals_the_keras_model(exported):
    e = exported
    out = e["loaded"].run("serving_default", {"text": np.array(TEXTS, dtype=object)})
    logits = _reference_logits(e, TEXTS)
    assert np.abs(logits).max() < 20  # probabilities not saturated: a wrong logit shows
    if e["task"] == "regression":
        assert set(out) == {"prediction"} and out["prediction"].shape == (len(TEXTS),)
        np.testing.assert_allclose(out["prediction"], logits[:, 0], rtol=1e-4, atol=1e-4)
    elif e["task"] == "multi_label_classification":
        names = e["info"]["labels"]
        scores = 1 / (1 + np.exp(-logits))
        np.testing.assert_allclose(out["scores"], scores, atol=1e-5)
        assert out["classes"].shape == (len(TEXTS), 3) and out["classes"][0].tolist() == [
            n.encode() for n in names
        ]
        expected = ["|".join(n for n, s in zip(names, row) if s >= 0.5) for row in out["scores"]]
        assert [x.decode() for x in out["labels"]] == expected
        assert len(set(expected)) > 1  # the test sees different decisions
    else:
        probs = tf.nn.softmax(logits).numpy()
        np.testing.assert_allclose(out["probabilities"], probs, atol=1e-5)
        assert out["label_ids"].tolist() == probs.argmax(-1).tolist()
    if (
        e["info"]["long_text"]["mode"] == "windows"
    ):  # a long text's output is not its first window's
        first = np.asarray(e["model"](e["pre"](tf.constant(TEXTS)), training=False))
        assert np.abs(first[1] - logits[1]).max() > 0.01 and np.allclose(
            first[0], logits[0], atol=1e-4
        )


def test_hostile_empty_batch_and_ops(exported):
    from export.op_check import check_ops

    e = exported
    out = e["loaded"].run("serving_default", {"text": np.array(HOSTILE, dtype=object)})
    key = {"regression": "prediction", "multi_label_classification": "scores"}.get(
        e["task"], "probabilities"
    )
    assert out[key].shape[0] == len(HOSTILE) and np.all(np.isfinite(out[key]))
    empty = e["loaded"].run("serving_default", {"text": np.array([], dtype=object)})
    assert empty[key].shape[0] == 0
    ids = {
        "token_ids": np.array([[2, 7, 9, 3]], np.int32),
        "segment_ids": np.zeros((1, 4), np.int32),
        "padding_mask": np.ones((1, 4), np.int32),
    }
    assert e["loaded"].run("serve_token_ids", ids)[key].shape[0] == 1
    check_ops(e["path"], SHARED_OPS if os.path.exists(SHARED_OPS) else None)
