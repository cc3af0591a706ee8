"""bert-tf-export --quantize / --format=tflite: complete parity.json, refusals, op list."""

import json
import os
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from export import artifacts, op_check, parity, quantize, tflite
from export.exporter import load_task_folder
from tests.conftest import minilm_or_skip

REPORT_FIELDS = {
    "accuracy",
    "reference_accuracy",
    "accuracy_drop_points",
    "max_probability_drift",
    "mean_probability_drift",
    "label_agreement",
    "size_bytes",
    "reference_size_bytes",
    "latency_b1_p50_ms",
    "latency_b1_p99_ms",
    "throughput_b32",
    "reference_latency_b1_p50_ms",
    "reference_latency_b1_p99_ms",
    "reference_throughput_b32",
    "latency_b1_speedup",
    "throughput_b32_speedup",
    "num_examples",
    "passed",
    "max_accuracy_drop",
    "format",
    "quantize",
    "parity_file",
    "machine",
    "runtime",
}
FAST = dict(latency_requests=6, throughput_batches=2)


@pytest.fixture
def classifier(tiny_sentiment_run):
    """A tiny classifier fine-tuned on separable rows, and 40 held-out rows to check parity on."""
    _, model_dir, _, dev, _ = tiny_sentiment_run
    return model_dir, dev


@pytest.mark.parametrize(
    "fmt,mode,raw_text",
    [
        ("saved_model", "none", True),
        ("tflite", "none", True),
        ("tflite", "float16", True),
        ("tflite", "dynamic_int8", True),
        ("tflite", "dynamic_int8", False),
    ],
)
def test_each_artifact_has_a_complete_parity_report(classifier, tmp_path, fmt, mode, raw_text):
    model_dir, dev = classifier
    path, report = artifacts.export_artifact(
        model_dir,
        str(tmp_path),
        "m",
        quantize=mode,
        fmt=fmt,
        parity_file=dev,
        raw_text=raw_text,
        **FAST,
    )
    with open(os.path.join(path, parity.PARITY_FILE)) as f:
        written = json.load(f)
    assert REPORT_FIELDS <= set(written), REPORT_FIELDS - set(written)
    assert (
        written["passed"] and written["num_examples"] == 40 and written["label_agreement"] >= 0.95
    )
    assert (
        written["size_bytes"] > 0
        and written["latency_b1_p50_ms"] > 0
        and written["throughput_b32"] > 0
    )
    if fmt == "tflite":
        assert os.path.basename(path) == artifacts.tflite_folder_name(mode, raw_text)
        for name in (
            "model.tflite",
            "vocab.txt",
            "labels.txt",
            "tokenizer_config.json",
            "task.json",
        ):
            assert os.path.exists(os.path.join(path, name)), name
        assert written["raw_text_input"] == raw_text
    else:
        assert os.path.basename(path) == "1" and os.path.exists(
            os.path.join(path, "saved_model.pb")
        )
    assert [d for d in os.listdir(tmp_path / "m") if d.startswith(".tmp")] == []  # no scratch left


def test_int8_saved_model_stays_within_tf_serving_ops(classifier, tmp_path, mode="dynamic_int8"):
    """The int8 mode (not offered: measured slower) builds within the stock op list (offer_all)."""
    model_dir, dev = classifier
    path, report = artifacts.export_artifact(
        model_dir, str(tmp_path), "q", quantize=mode, parity_file=dev, offer_all=True, **FAST
    )
    used = op_check.check_ops(path)  # raises on an op stock TF Serving lacks
    assert report["passed"] and len(used) > 10
    dtypes = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    dtypes = set(dtypes.get_variable_to_dtype_map().values())
    assert (tf.int8 if mode == "dynamic_int8" else tf.float16) in dtypes, dtypes


def test_accuracy_drop_refuses_and_leaves_nothing(classifier, tmp_path, monkeypatch, capsys):
    model_dir, dev = classifier
    convert = tflite.write_tflite_artifact

    def broken(model, *args, **kwargs):  # the injected fault: a head that predicts the other class
        model.classifier.set_weights([-w for w in model.classifier.get_weights()])
        return convert(model, *args, **kwargs)

    monkeypatch.setattr(artifacts.tflite, "write_tflite_artifact", broken)
    with pytest.raises(
        parity.ParityError, match=r"refused: accuracy .* points below .*not published"
    ):
        artifacts.export_artifact(
            model_dir,
            str(tmp_path),
            "m",
            fmt="tflite",
            quantize="dynamic_int8",
            parity_file=dev,
            **FAST,
        )
    assert os.listdir(tmp_path / "m") == []
    assert "REFUSED" in capsys.readouterr().out


def test_cli_refuses_modes_measured_slower_and_requires_parity_data(classifier, tmp_path):
    # A subprocess, as TF Serving users run it: export.cli's flags (--format, --model_name) share
    # names with other CLIs (bert-tf-convert, bert-tf-client) that must not be imported beside it.
    model_dir, _ = classifier
    for argv, message in [
        (
            ["--quantize=dynamic_int8"],
            "error: --quantize=dynamic_int8 is not offered for --format=saved_model: "
            "the Keras int8 SavedModel measured slower",
        ),
        (["--format=tflite"], "error: --parity_file is required"),
    ]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "export.cli",
                f"--model_dir={model_dir}",
                f"--export_dir={tmp_path}",
                "--model_name=m",
                *argv,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        )
        assert result.returncode == 1, result.stderr[-2000:]
        assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr[-2000:]
    with pytest.raises(quantize.QuantizeNotOffered, match="float16 SavedModel measured slower"):
        quantize.check_offered("float16", "saved_model")
    quantize.check_offered("dynamic_int8", "tflite")
    quantize.check_offered("float16", "saved_model", offer_all=True)
    assert not os.path.exists(tmp_path / "m") or os.listdir(tmp_path / "m") == []


def _real_texts(n):
    from benchmarks.realtext import load_texts

    try:
        return load_texts("tweets", n, seed=5)
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))


def _clean(text):
    """No control/format characters, nothing NFKD changes beyond NFD (where normalizers differ)."""
    return all(
        unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs") or c in "\t\n\r" for c in text
    ) and (unicodedata.normalize("NFKD", text) == unicodedata.normalize("NFD", text))


@pytest.mark.integration
def test_tflite_tokenizer_graph_matches_bert_tokenizer_on_real_text():
    from bert_tf.text import BertPreprocessor

    preprocessor = BertPreprocessor.from_pretrained(minilm_or_skip(), sequence_length=64)
    texts = _real_texts(600)
    module = tflite._TFLiteModule(None, preprocessor)
    ours = preprocessor(tf.constant(texts))["token_ids"].numpy()
    theirs = module.pack(tf.constant(texts))["token_ids"].numpy()
    assert ours.shape == theirs.shape or not all(map(_clean, texts))
    same = [np.array_equal(_row(ours, i), _row(theirs, i)) for i in range(len(texts))]
    clean = [i for i, t in enumerate(texts) if _clean(t)]
    assert len(clean) > 500
    assert all(same[i] for i in clean), [texts[i] for i in clean if not same[i]][:3]
    assert np.mean(same) >= 0.97


def _row(ids, i):
    row = ids[i]
    return row[row != 0]


@pytest.mark.integration
def test_raw_string_tflite_answers_real_text_like_the_saved_model(tmp_path):
    """MiniLM's vocabulary, raw tweets in: the .tflite's labels vs the float SavedModel's."""
    import keras

    from bert_tf import BertClassifier, BertConfig, BertEncoder
    from bert_tf.checkpoints import save_task_model

    minilm = minilm_or_skip()
    texts = _real_texts(300)
    keras.utils.set_random_seed(0)
    encoder = BertEncoder(
        BertConfig(
            vocab_size=30522,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
            max_position_embeddings=64,
        )
    )
    model = BertClassifier(encoder, num_classes=3)
    folder = str(tmp_path / "model")
    save_task_model(
        model,
        folder,
        {
            "task": "classification",
            "labels": ["negative", "neutral", "positive"],
            "preprocessor": {"sequence_length": 64, "text_pair": False},
        },
        vocab_file=os.path.join(minilm, "vocab.txt"),
        lowercase=True,
    )
    # Labels of the float model itself, so accuracy parity is exact agreement with it.
    reference, preprocessor, _ = load_task_folder(folder)
    probabilities = tf.nn.softmax(
        reference(preprocessor(tf.constant(texts)), training=False)
    ).numpy()
    names = ["negative", "neutral", "positive"]
    parity_file = tmp_path / "parity.csv"
    import csv

    with open(parity_file, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows([t, names[p]] for t, p in zip(texts, probabilities.argmax(-1)))
    path, report = artifacts.export_artifact(
        folder,
        str(tmp_path / "out"),
        "m",
        fmt="tflite",
        quantize="none",
        parity_file=str(parity_file),
        **FAST,
    )
    assert report["raw_text_input"] and report["label_agreement"] >= 0.99, report["label_agreement"]
    classifier = tflite.TFLiteClassifier(os.path.join(path, tflite.MODEL_FILE))
    np.testing.assert_allclose(classifier.predict(texts[:4]).sum(-1), 1.0, rtol=1e-5)
