"""TF Serving warm-up requests: ``assets.extra/tf_serving_warmup_requests``.

TF Serving replays these PredictRequests when it loads a version, so the first
real request does not pay for graph initialisation and kernel selection.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

WARMUP_FILE = "tf_serving_warmup_requests"
# A short and a long text, a batch of 1 and of 8: the sizes the first real requests have.
DEFAULT_WARMUP_TEXTS = ("warm-up request", "a longer warm-up request " * 20)
DEFAULT_BATCH_SIZES = (1, 8)


def warmup_requests(
    model_name,
    input_names=("text",),
    texts=DEFAULT_WARMUP_TEXTS,
    batch_sizes=DEFAULT_BATCH_SIZES,
    signature_name="serving_default",
):
    """PredictionLog protos with PredictRequests for ``signature_name`` (each string input gets the
    text)."""
    logs = []
    for batch_size in batch_sizes:
        for text in texts:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
            )
            batch = np.array([text.encode("utf-8")] * batch_size, dtype=object)
            for name in input_names:
                request.inputs[name].CopyFrom(tf.make_tensor_proto(batch, dtype=tf.string))
            logs.append(
                prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request)
                )
            )
    return logs


def write_warmup_requests(saved_model_dir, model_name, input_names=("text",), **kwargs):
    """Writes the TFRecord file TF Serving reads at load time; returns its path."""
    extra = os.path.join(saved_model_dir, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    path = os.path.join(extra, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for log in warmup_requests(model_name, input_names=input_names, **kwargs):
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(saved_model_dir):
    """The PredictionLogs of an export's warm-up file (for tests and for replaying)."""
    path = os.path.join(saved_model_dir, "assets.extra", WARMUP_FILE)
    logs = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs
