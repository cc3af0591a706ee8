"""Export tests: each export is loaded through the TF1 session loader, exactly as TF Serving does.

TF Serving itself cannot be installed here; ``export.test_server.LoadedVersion``
loads with ``tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)`` and
feeds/fetches the tensor names of the MetaGraphDef's SignatureDefs - the same
path tensorflow_model_server takes - and the op check holds each export to the
op list of stock TF Serving 2.20.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import BertClassifier, BertConfig, BertEncoder

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "a",
    "good",
    "bad",
    "movie",
    "film",
    "is",
    "was",
    "not",
    "very",
    "great",
    "awful",
    "##s",
    "##ing",
    "##ly",
    ".",
    ",",
    "!",
    "?",
    "i",
    "it",
    "love",
    "hate",
    "<",
    ">",
    "/",
    "中",
    "文",
    "x",
    "##x",
]
LABELS = ["negative", "neutral", "positive"]
SEQUENCE_LENGTH = 12
HOSTILE = [
    "",
    " ",
    "\t\n  \r",
    "x" * 50_000,
    b"\xff\xfe\xc3(\x80",
    "a\x00b\x00",
    "😀🎉👍🏽",
    "中文测试文本",
    "<html><body><b>good</b> movie</body></html>",
    "the good movie " * 3000,
    "\u200b\u202e\ufeff",
]
PY = sys.executable
ENV = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")


def make_task_folder(path, text_pair=False, seed=0):
    """A tiny trained-looking classifier folder in the shared task format (save_task_model)."""
    from bert_tf.checkpoints import save_task_model

    vocab_file = os.path.join(os.path.dirname(path), f"vocab_{os.path.basename(path)}.txt")
    with open(vocab_file, "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
    )
    import keras

    keras.utils.set_random_seed(seed)
    model = BertClassifier(BertEncoder(config), num_classes=len(LABELS))
    # Spread the head so classes differ clearly (a fresh head gives ~1/3 each).
    kernel = model.classifier.kernel
    kernel.assign(np.random.default_rng(seed).normal(0, 2.0, kernel.shape).astype("float32"))
    task_info = {
        "task": "classification",
        "task_config": {"num_classes": len(LABELS), "dropout": 0.1},
        "labels": LABELS,
        "preprocessor": {"sequence_length": SEQUENCE_LENGTH, "text_pair": text_pair},
    }
    save_task_model(model, path, task_info, vocab_file=vocab_file, lowercase=True)
    return path


def keras_reference(model_dir, texts, pairs=None):
    """Softmax of the Keras model on the training preprocessor's features."""
    from export.exporter import load_task_folder

    model, preprocessor, _ = load_task_folder(model_dir)
    texts = tf.constant(texts)
    features = preprocessor(texts if pairs is None else (texts, tf.constant(pairs)))
    return tf.nn.softmax(model(features, training=False)).numpy(), {
        k: v.numpy() for k, v in features.items()
    }


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    from export.exporter import export_task_folder
    from export.test_server import LoadedVersion

    root = tmp_path_factory.mktemp("export_single")
    model_dir = make_task_folder(str(root / "model"))
    path = export_task_folder(model_dir, str(root / "serving"), "sentiment")
    loaded = LoadedVersion(path)
    yield {"model_dir": model_dir, "base": str(root / "serving"), "path": path, "loaded": loaded}
    loaded.close()


def _check_probabilities(out, n):
    p = out["probabilities"]
    assert p.shape == (n, len(LABELS)) and p.dtype == np.float32
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    assert out["label_ids"].shape == (n,) and out["labels"].shape == (n,)
    np.testing.assert_array_equal(out["label_ids"], p.argmax(-1))
    assert [x.decode() for x in out["labels"]] == [LABELS[i] for i in out["label_ids"]]


def test_signatures_as_tf_serving_sees_them(single):
    sigs = single["loaded"].signatures
    assert {"serving_default", "serve_token_ids", "serve_examples"} <= set(sigs)
    default = sigs["serving_default"]
    assert (
        set(default.inputs) == {"text"}
        and default.inputs["text"].dtype == tf.string.as_datatype_enum
    )
    assert set(default.outputs) == {"probabilities", "label_ids", "labels"}
    assert default.method_name == "tensorflow/serving/predict"
    assert set(sigs["serve_token_ids"].inputs) == {"token_ids", "segment_ids", "padding_mask"}
    examples = sigs["serve_examples"]
    # What TF Serving's Classify API demands of a signature.
    assert examples.method_name == "tensorflow/serving/classify"
    assert set(examples.inputs) == {"inputs"} and set(examples.outputs) == {"classes", "scores"}
    assert examples.outputs["classes"].dtype == tf.string.as_datatype_enum


def test_serving_default_matches_keras(single):
    texts = ["the good movie", "it was awful !", "i hate the film . not good", "very very great"]
    out = single["loaded"].run("serving_default", {"text": np.array(texts, dtype=object)})
    _check_probabilities(out, len(texts))
    expected, features = keras_reference(single["model_dir"], texts)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    # The classes really differ, so the comparison is not between uniform rows.
    assert expected.max() - expected.min() > 0.05

    ids = single["loaded"].run("serve_token_ids", features)
    np.testing.assert_allclose(ids["probabilities"], expected, atol=1e-5)


def test_serve_examples_matches_serving_default(single):
    texts = ["the good movie", "awful film"]
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={
                    "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[t.encode()]))
                }
            )
        ).SerializeToString()
        for t in texts
    ]
    out = single["loaded"].run("serve_examples", {"inputs": np.array(examples, dtype=object)})
    ref = single["loaded"].run("serving_default", {"text": np.array(texts, dtype=object)})
    np.testing.assert_allclose(out["scores"], ref["probabilities"], atol=1e-6)
    assert [[c.decode() for c in row] for row in out["classes"]] == [LABELS, LABELS]


def test_hostile_inputs_give_probabilities(single):
    loaded = single["loaded"]
    batch = np.array(HOSTILE, dtype=object)
    out = loaded.run("serving_default", {"text": batch})
    _check_probabilities(out, len(HOSTILE))
    for text in HOSTILE:  # alone in a batch as well (an all-empty batch has no real tokens)
        _check_probabilities(
            loaded.run("serving_default", {"text": np.array([text], dtype=object)}), 1
        )
    # Long text is cut to sequence_length tokens in the graph: same answer as its first words.
    long = loaded.run(
        "serving_default",
        {"text": np.array(["the good movie " * 3000, "the good movie " * 4], dtype=object)},
    )
    np.testing.assert_allclose(long["probabilities"][0], long["probabilities"][1], atol=1e-5)


def test_empty_batches(single):
    loaded = single["loaded"]
    out = loaded.run("serving_default", {"text": np.array([], dtype=object)})
    assert out["probabilities"].shape == (0, len(LABELS))
    assert out["label_ids"].shape == (0,) and out["labels"].shape == (0,)
    out = loaded.run("serve_examples", {"inputs": np.array([], dtype=object)})
    assert out["scores"].shape == (0, len(LABELS)) and out["classes"].shape == (0, len(LABELS))
    empty = np.zeros((0, 0), np.int32)
    out = loaded.run(
        "serve_token_ids", {"token_ids": empty, "segment_ids": empty, "padding_mask": empty}
    )
    assert out["probabilities"].shape == (0, len(LABELS))


def test_token_ids_signature_survives_bad_ids(single):
    loaded = single["loaded"]
    bad = {
        "token_ids": np.array([[2, 9999, -5, 3], [0, 0, 0, 0]], np.int32),
        "segment_ids": np.array([[0, 7, -1, 0], [0, 0, 0, 0]], np.int32),
        "padding_mask": np.array([[1, 1, 1, 1], [0, 0, 0, 0]], np.int32),
    }  # row 2: all padding
    _check_probabilities(loaded.run("serve_token_ids", bad), 2)
    too_long = {k: np.ones((1, 100), np.int32) for k in bad}  # longer than max_position_embeddings
    _check_probabilities(loaded.run("serve_token_ids", too_long), 1)


def test_pair_task_export(tmp_path):
    from export.exporter import export_task_folder
    from export.test_server import LoadedVersion

    model_dir = make_task_folder(str(tmp_path / "model"), text_pair=True, seed=1)
    path = export_task_folder(model_dir, str(tmp_path / "serving"), "nli")
    loaded = LoadedVersion(path)
    try:
        assert set(loaded.signatures["serving_default"].inputs) == {"text", "text_pair"}
        a = ["the good movie", "", "x" * 50_000]
        b = ["it was awful", "very great", "the film " * 40]
        out = loaded.run(
            "serving_default",
            {"text": np.array(a, dtype=object), "text_pair": np.array(b, dtype=object)},
        )
        _check_probabilities(out, 3)
        expected, _ = keras_reference(model_dir, a, b)
        np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
        empty = np.array([], dtype=object)
        assert loaded.run("serving_default", {"text": empty, "text_pair": empty})[
            "probabilities"
        ].shape == (0, 3)
    finally:
        loaded.close()


def test_op_check_passes_and_sees_the_tokenizer(single):
    from export.op_check import check_ops, collect_ops, load_allowed_ops

    used = check_ops(single["path"])
    assert used <= load_allowed_ops()
    assert {"FastWordpieceTokenizeWithOffsets"} & used or {"WordpieceTokenizeWithOffsets"} & used
    # Ops only reachable through nested function-library functions are collected too.
    assert {"Softmax", "BatchMatMulV2"} <= collect_ops(single["path"])


def test_op_check_rejects_an_op_tf_serving_lacks(tmp_path):
    from export.op_check import DisallowedOpsError, check_ops

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def decode(self, data):  # DecodeJxl is registered in TF 2.21 but not in TF Serving 2.20
            return {"image": tf.raw_ops.DecodeJxl(contents=data)}

    module = Module()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.decode})
    with pytest.raises(DisallowedOpsError, match="DecodeJxl") as info:
        check_ops(str(tmp_path))
    assert info.value.ops == ["DecodeJxl"]


def test_failed_op_check_leaves_no_version(single, tmp_path):
    from export.exporter import export_task_folder
    from export.op_check import DisallowedOpsError, load_allowed_ops

    ops_file = tmp_path / "ops.txt"
    ops_file.write_text("\n".join(sorted(load_allowed_ops() - {"Softmax", "Tanh"})))
    base = tmp_path / "serving"
    with pytest.raises(DisallowedOpsError, match="Softmax, Tanh"):
        export_task_folder(single["model_dir"], str(base), "m", ops_file=str(ops_file))
    assert os.listdir(base / "m") == []  # no version, no temp folder


def test_versions_increment_and_are_never_overwritten(single):
    from export.exporter import ExportError, existing_versions, export_task_folder

    base = single["base"]
    before = os.path.getmtime(os.path.join(single["path"], "saved_model.pb"))
    second = export_task_folder(single["model_dir"], base, "sentiment")
    assert os.path.basename(second) == "2"
    with pytest.raises(ExportError, match="already exists"):
        export_task_folder(single["model_dir"], base, "sentiment", version=1)
    assert os.path.getmtime(os.path.join(single["path"], "saved_model.pb")) == before
    assert existing_versions(os.path.join(base, "sentiment")) == [1, 2]
    assert sorted(os.listdir(os.path.join(base, "sentiment"))) == ["1", "2"]  # no temp folders left
    # Readable by a server running as another user (mkdtemp alone would leave 0700).
    assert os.stat(second).st_mode & 0o055 == 0o055 or os.umask(os.umask(0)) & 0o055
    assert (
        os.stat(os.path.join(base, "models.config")).st_mode & 0o044 == 0o044
        or os.umask(os.umask(0)) & 0o044
    )


def test_warmup_requests_replay(single):
    from export.warmup import read_warmup_requests

    logs = read_warmup_requests(single["path"])
    assert logs
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.signature_name == "serving_default"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        _check_probabilities(single["loaded"].run("serving_default", inputs), len(inputs["text"]))


def test_serving_config_files(single):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    with open(os.path.join(single["base"], "models.config")) as f:
        text_format.Parse(f.read(), config)
    entries = {c.name: c for c in config.model_config_list.config}
    assert entries["sentiment"].base_path == "/models/sentiment"
    assert entries["sentiment"].model_platform == "tensorflow"
    with open(os.path.join(single["base"], "batching_parameters.txt")) as f:
        assert "max_batch_size { value: 32 }" in f.read()
    # The checked-in examples parse as the protos TF Serving reads.
    here = os.path.join(os.path.dirname(__file__), "..", "export", "serving_config")
    with open(os.path.join(here, "models.config")) as f:
        text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())


def test_saved_model_cli_shows_the_signatures(single):
    cli = os.path.join(os.path.dirname(PY), "saved_model_cli")
    result = subprocess.run(
        [
            cli,
            "show",
            "--dir",
            single["path"],
            "--tag_set",
            "serve",
            "--signature_def",
            "serve_examples",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tensorflow/serving/classify" in result.stdout
    assert "classes" in result.stdout and "scores" in result.stdout
    result = subprocess.run(
        [cli, "show", "--dir", single["path"], "--all"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("serving_default", "serve_token_ids", "serve_examples", "probabilities", "text"):
        assert name in result.stdout


def test_export_cli(single, tmp_path):
    base = tmp_path / "serving"
    cmd = [
        PY,
        "-m",
        "export.cli",
        f"--model_dir={single['model_dir']}",
        f"--export_dir={base}",
        "--model_name=cli_model",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.path.isfile(base / "cli_model" / "1" / "saved_model.pb")
    assert "cli_model" in result.stdout
    bad = subprocess.run(
        cmd[:3]
        + [f"--model_dir={tmp_path / 'nope'}", f"--export_dir={base}", "--model_name=cli_model"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert bad.returncode != 0
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in bad.stderr
    assert sorted(os.listdir(base / "cli_model")) == ["1"]
    json.dumps(errors)  # the message is plain text


def test_shipped_op_list_has_no_python_kernels():
    """TF Serving cannot run ops whose kernels live in Python (tensorflow/serving #54, #992)."""
    from export.op_check import load_allowed_ops

    allowed = load_allowed_ops()
    assert not {"PyFunc", "PyFuncStateless", "EagerPyFunc", "DecodeJxl"} & allowed
    assert {"Softmax", "BatchMatMulV2", "FastWordpieceTokenizeWithOffsets"} <= allowed


@pytest.mark.parametrize("wrap", ["py_function", "numpy_function"])
def test_export_with_a_py_function_is_refused(tmp_path, wrap):
    from export.exporter import export_model
    from export.op_check import DisallowedOpsError

    def upper(text):
        return np.char.upper(text.numpy() if hasattr(text, "numpy") else text)

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            out = getattr(tf, wrap)(upper, [text], tf.string)
            return {"upper": tf.reshape(out, [-1])}

        def signatures(self):
            return {"serving_default": self.serve}

    base = tmp_path / "serving"
    with pytest.raises(DisallowedOpsError, match="PyFunc") as info:
        export_model(None, None, {"task": "custom"}, str(base), "m", module=Module())
    assert set(info.value.ops) & {"EagerPyFunc", "PyFunc", "PyFuncStateless"}
    assert os.listdir(base / "m") == []  # no version, no temp folder
