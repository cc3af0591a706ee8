"""Export of a real-size model (all-MiniLM-L6-v2 + a classifier head) scored on real tweets.

The serving graph must tokenize exactly as training does: the predictions of
``serving_default`` on raw tweets (TF1 session loader, as TF Serving) are
compared with the Keras model fed by bert_tf.data.classification_dataset, the
pipeline bert-tf-finetune trains and evaluates with.
"""

import os

import numpy as np
import pytest

from tests.conftest import minilm_or_skip
from tests.test_export import HOSTILE

pytestmark = pytest.mark.integration
SEQUENCE_LENGTH = 64
N_TWEETS = 192


@pytest.fixture(scope="module")
def minilm_export(tmp_path_factory):
    import keras

    from bert_tf import BertClassifier
    from bert_tf.checkpoints import save_task_model
    from bert_tf.models import BertEncoder
    from export.exporter import export_task_folder, load_task_folder
    from export.test_server import LoadedVersion

    path = minilm_or_skip()
    root = tmp_path_factory.mktemp("minilm_export")
    keras.utils.set_random_seed(0)
    model = BertClassifier(BertEncoder.from_pretrained(path), num_classes=3)
    # A head with clear preferences, so argmax comparisons are not decided by float noise.
    kernel = model.classifier.kernel
    kernel.assign(np.random.default_rng(0).normal(0, 0.5, kernel.shape).astype("float32"))
    model_dir = str(root / "model")
    save_task_model(
        model,
        model_dir,
        {
            "task": "classification",
            "task_config": {"num_classes": 3},
            "labels": ["negative", "neutral", "positive"],
            "preprocessor": {"sequence_length": SEQUENCE_LENGTH, "text_pair": False},
        },
        vocab_file=os.path.join(path, "vocab.txt"),
        lowercase=True,
    )
    export_path = export_task_folder(model_dir, str(root / "serving"), "minilm_sentiment")
    loaded = LoadedVersion(export_path)
    model, preprocessor, _ = load_task_folder(model_dir)
    yield {"path": export_path, "loaded": loaded, "model": model, "preprocessor": preprocessor}
    loaded.close()


def test_minilm_export_uses_only_tf_serving_ops(minilm_export):
    from export.op_check import check_ops

    used = check_ops(minilm_export["path"])
    assert "Erf" in used or "Erfc" in used  # exact GELU made it in as a stock op


def test_minilm_export_hostile_inputs(minilm_export):
    loaded = minilm_export["loaded"]
    for batch in (HOSTILE, HOSTILE[:1], []):
        out = loaded.run("serving_default", {"text": np.array(batch, dtype=object)})
        p = out["probabilities"]
        assert p.shape == (len(batch), 3) and np.all(np.isfinite(p))
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)


def test_serving_scores_real_tweets_like_the_training_pipeline(minilm_export, tmp_path):
    import tensorflow as tf

    from bert_tf.data.classification import classification_dataset, read_classification_examples
    from bert_tf.public_data import dataset_path

    try:
        tweets = dataset_path("tweets")
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    examples = read_classification_examples(
        tweets, "text", "sentiment", encoding="latin-1", skip_invalid=True
    )
    n = min(N_TWEETS, len(examples.texts))
    subset = tmp_path / "tweets.csv"
    import csv

    with open(subset, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "sentiment"])
        for text, label in zip(examples.texts[:n], examples.labels[:n]):
            writer.writerow([text, examples.label_names[label]])
    dataset, names = classification_dataset(
        str(subset),
        "text",
        "sentiment",
        minilm_export["preprocessor"],
        batch_size=32,
        label_map=examples.label_names,
        bucket_by="none",
    )
    keras_probs, labels = [], []
    for features, y in dataset:
        keras_probs.append(tf.nn.softmax(minilm_export["model"](features, training=False)).numpy())
        labels.append(y.numpy())
    keras_probs, labels = np.concatenate(keras_probs), np.concatenate(labels)

    texts = examples.texts[:n]
    served = np.concatenate(
        [
            minilm_export["loaded"].run(
                "serving_default", {"text": np.array(texts[i : i + 32], dtype=object)}
            )["probabilities"]
            for i in range(0, n, 32)
        ]
    )
    np.testing.assert_allclose(served, keras_probs, atol=2e-4)
    accuracy_served = float(np.mean(served.argmax(-1) == labels))
    accuracy_keras = float(np.mean(keras_probs.argmax(-1) == labels))
    assert abs(accuracy_served - accuracy_keras) < 0.005
