"""--long_text=windows end to end on real long mails: finetune -> export -> TF Serving's loader.

SpamAssassin mail bodies (several windows long at max_seq_length=32), a tiny
encoder with MiniLM's real vocabulary. The export, run through the TF1 session
loader as TF Serving runs it, must give the probabilities evaluation computed
(same windows, same mean) and so the accuracy bert-tf-finetune reported.
"""

import csv
import email
import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import minilm_or_skip

pytestmark = pytest.mark.integration
PY = sys.executable
ENV = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
SHARED_OPS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "..",
    "shared",
    "serving",
    "tf_serving_2.20_ops.txt",
)


def mail_body(raw: str) -> str:
    """The text of a raw mail: its text/plain parts (else text/html without tags), one-spaced."""
    message = email.message_from_string(raw)
    parts = [p for p in message.walk() if p.get_content_maintype() == "text"]
    plain = [p for p in parts if p.get_content_subtype() == "plain"] or parts
    texts = []
    for part in plain:
        payload = part.get_payload(decode=True) or b""
        texts.append(payload.decode(part.get_content_charset() or "latin-1", errors="replace"))
    text = re.sub(r"<[^>]*>", " ", " ".join(texts))
    return " ".join(text.split())


def spam_rows(folder, per_class, min_chars=400, max_chars=1200, seed=0):
    """[(body, "spam"|"ham")]: the first per_class long-enough mails of each class, shuffled."""
    rows = []
    for label, groups in (("spam", ("spam-1", "spam-2")), ("ham", ("easy-ham-1", "hard-ham-1"))):
        found = []
        for path in sorted(p for g in groups for p in glob.glob(os.path.join(folder, g, "*.txt"))):
            with open(path, encoding="latin-1") as f:  # raw mails; the parts name their charsets
                body = mail_body(f.read())
            if len(body) >= min_chars:
                found.append((body[:max_chars], label))
            if len(found) == per_class:
                break
        rows += found
    np.random.default_rng(seed).shuffle(rows)
    return rows


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def test_windowed_spam_classifier_serves_what_it_evaluated(tmp_path):
    import tensorflow as tf

    from bert_tf import BertConfig, BertEncoder
    from bert_tf.data.text_windows import predict_windowed_logits
    from bert_tf.models import load_task_model
    from bert_tf.public_data import dataset_path
    from bert_tf.text import BertPreprocessor
    from export.op_check import check_ops
    from export.test_server import LoadedVersion

    minilm = minilm_or_skip()
    try:
        folder = dataset_path("spam")
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    rows = spam_rows(folder, per_class=120)
    train, test = rows[:160], rows[160:]
    _write(tmp_path / "train.csv", train)
    _write(tmp_path / "test.csv", test)
    init = str(tmp_path / "init")
    BertEncoder(
        BertConfig(
            vocab_size=30522,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
            max_position_embeddings=64,
        )
    ).save_pretrained(init, vocab_file=os.path.join(minilm, "vocab.txt"), lowercase=True)

    out = tmp_path / "run"
    finetune = subprocess.run(
        [
            PY,
            "-m",
            "bert_tf.cli.finetune",
            "--task=classification",
            f"--train_file={tmp_path / 'train.csv'}",
            f"--eval_file={tmp_path / 'test.csv'}",
            f"--init_checkpoint={init}",
            f"--output_dir={out}",
            "--max_seq_length=32",
            "--long_text=windows",
            "--window_stride=15",
            "--epochs=2",
            "--batch_size=32",
            "--learning_rate=1e-3",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=900,
    )
    assert finetune.returncode == 0, finetune.stderr[-3000:]
    with open(out / "eval_results.json") as f:
        reported = json.load(f)["accuracy"]
    export = subprocess.run(
        [
            PY,
            "-m",
            "export.cli",
            f"--model_dir={out / 'model'}",
            f"--export_dir={tmp_path / 'serving'}",
            "--model_name=spam",
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert export.returncode == 0, export.stderr[-3000:]
    version = str(tmp_path / "serving" / "spam" / "1")
    check_ops(version, SHARED_OPS if os.path.exists(SHARED_OPS) else None)

    model, info = load_task_model(str(out / "model"))
    assert info["long_text"] == {"mode": "windows", "window_stride": 15}
    pre = BertPreprocessor.from_pretrained(str(out / "model"), sequence_length=32)
    texts = [t for t, _ in test]
    pieces = np.asarray(pre.tokenizer(tf.constant(texts)).row_lengths())
    assert np.median(pieces) > 3 * 30, np.median(pieces)  # several windows of 30 pieces per mail
    evaluated = tf.nn.softmax(predict_windowed_logits(model, pre, texts, 15, batch_size=32)).numpy()

    loaded = LoadedVersion(version)
    try:
        served, labels = [], []
        for start in range(0, len(texts), 16):  # other batches than evaluation's
            o = loaded.run(
                "serving_default", {"text": np.array(texts[start : start + 16], dtype=object)}
            )
            served.append(o["probabilities"])
            labels.extend(x.decode() for x in o["labels"])
    finally:
        loaded.close()
    served = np.concatenate(served)
    np.testing.assert_allclose(served, evaluated, atol=1e-5)
    accuracy = float(np.mean([p == y for p, (_, y) in zip(labels, test)]))
    print(
        f"bert-tf-finetune accuracy {reported:.4f}; served {accuracy:.4f}; "
        f"pieces per mail median {np.median(pieces):.0f}"
    )
    assert accuracy == pytest.approx(reported, abs=1e-9)
