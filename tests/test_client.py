"""Client tests: ServingClient and bert-tf-client against PredictionService servers on 127.0.0.1.

TF Serving cannot be installed here. ``export.test_server`` stands in for it:
a gRPC PredictionService (Predict, Classify, GetModelMetadata) and a REST
:predict endpoint backed by the export loaded through the TF1 session loader,
as tensorflow_model_server loads it. Small hand-written servicers below play
misbehaving servers (UNAVAILABLE, slow, malformed replies).
"""

import json
import os
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from export.client import ServingClient, ServingError, from_tensor_proto, to_tensor_proto
from tests.test_export import LABELS, make_task_folder

PY = sys.executable
ENV = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
TEXTS = ["the good movie", "it was awful !", "", "中文 😀"]


def _counting(inner):
    """Wraps a servicer's Predict to count calls (to see batching)."""

    class Counting(type(inner)):
        predict_calls = 0

        def Predict(self, request, context):
            type(self).predict_calls += 1
            return super().Predict(request, context)

    counting = Counting.__new__(Counting)
    counting.__dict__.update(inner.__dict__)
    return counting


def _start(servicer):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from export.exporter import export_task_folder
    from export.test_server import ModelRegistry, PredictionServicer, serve_rest

    root = tmp_path_factory.mktemp("client")
    model_dir = make_task_folder(str(root / "model"))
    export_task_folder(model_dir, str(root / "serving"), "sentiment")
    registry = ModelRegistry()
    registry.add_base(str(root / "serving"), "sentiment")
    counting = _counting(PredictionServicer(registry))
    grpc_server, grpc_port = _start(counting)
    rest_server, rest_port = serve_rest(registry)
    _, loaded = registry.get("sentiment")
    yield {
        "grpc": f"127.0.0.1:{grpc_port}",
        "rest": f"127.0.0.1:{rest_port}",
        "loaded": loaded,
        "counting": counting,
    }
    grpc_server.stop(None)
    rest_server.shutdown()
    registry.close()


def _direct(served, texts):
    return served["loaded"].run("serving_default", {"text": np.array(texts, dtype=object)})


def test_tensor_protos_match_tensorflow():
    for value in (
        np.array([[1.5, -2.0], [0.0, 3.25]], np.float32),
        np.array([1, 2, 3], np.int64),
        np.array([b"a", "\u4e2d".encode(), b"\xff"], dtype=object),
        np.zeros((0, 3), np.float32),
    ):
        np.testing.assert_array_equal(from_tensor_proto(tf.make_tensor_proto(value)), value)
        np.testing.assert_array_equal(tf.make_ndarray(to_tensor_proto(value)), value)
    # TF's compressed form (one repeated value) is expanded.
    np.testing.assert_array_equal(
        from_tensor_proto(tf.make_tensor_proto(np.full((2, 3), 7.0, np.float32))),
        np.full((2, 3), 7.0),
    )


def test_grpc_predict_returns_the_served_probabilities(served):
    with ServingClient(served["grpc"], "sentiment") as client:
        rows = client.predict(TEXTS)
    direct = _direct(served, TEXTS)
    assert len(rows) == len(TEXTS)
    np.testing.assert_allclose(
        [r["probabilities"] for r in rows], direct["probabilities"], atol=1e-6
    )
    assert [r["labels"] for r in rows] == [x.decode() for x in direct["labels"]]
    assert [r["label_ids"] for r in rows] == list(direct["label_ids"])


def test_rest_predict_returns_the_served_probabilities(served):
    rows = ServingClient(served["rest"], "sentiment", rest=True).predict(TEXTS)
    np.testing.assert_allclose(
        [r["probabilities"] for r in rows], _direct(served, TEXTS)["probabilities"], atol=1e-6
    )
    assert ServingClient(served["rest"], "sentiment", rest=True).metadata()["serving_default"][
        "inputs"
    ] == {"text": "DT_STRING"}


def test_many_texts_go_in_batches(served):
    texts = [f"text {i} good" for i in range(70)]
    before = served["counting"].predict_calls
    rows = ServingClient(served["grpc"], "sentiment", batch_size=32).predict(texts)
    assert served["counting"].predict_calls - before == 3  # 32 + 32 + 6
    np.testing.assert_allclose(
        [r["probabilities"] for r in rows], _direct(served, texts)["probabilities"], atol=1e-6
    )


def test_classify_and_metadata(served):
    client = ServingClient(served["grpc"], "sentiment")
    classes = client.classify(["the good movie", "awful"])
    direct = _direct(served, ["the good movie", "awful"])
    assert [[c for c, _ in row] for row in classes] == [LABELS, LABELS]
    np.testing.assert_allclose(
        [[s for _, s in row] for row in classes], direct["probabilities"], atol=1e-6
    )
    meta = client.metadata()
    assert meta["serve_examples"]["method_name"] == "tensorflow/serving/classify"
    assert meta["serving_default"]["outputs"]["probabilities"] == "DT_FLOAT"


def test_wrong_model_and_dead_server_are_one_line_errors(served):
    with pytest.raises(ServingError, match="model 'nope' not found") as info:
        ServingClient(served["grpc"], "nope").predict(["x"])
    assert "\n" not in str(info.value)
    with pytest.raises(ServingError, match="not found"):
        ServingClient(served["rest"], "nope", rest=True).predict(["x"])
    with pytest.raises(ServingError, match="unavailable after 2 attempt"):
        ServingClient("127.0.0.1:1", "sentiment", retries=1, backoff=0.01).predict(["x"])
    with pytest.raises(ServingError, match="unavailable after 2 attempt"):
        ServingClient("127.0.0.1:1", "sentiment", rest=True, retries=1, backoff=0.01).predict(["x"])


class FlakyServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """UNAVAILABLE for the first `failures` calls, then a valid two-class reply."""

    def __init__(self, failures):
        self.failures, self.calls = failures, 0

    def Predict(self, request, context):
        self.calls += 1
        if self.calls <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        n = tf.make_ndarray(request.inputs["text"]).shape[0]
        response = predict_pb2.PredictResponse()
        response.outputs["probabilities"].CopyFrom(
            tf.make_tensor_proto(np.full((n, 2), 0.5, np.float32))
        )
        return response


def test_unavailable_is_retried_a_bounded_number_of_times():
    servicer = FlakyServicer(failures=2)
    server, port = _start(servicer)
    try:
        rows = ServingClient(f"127.0.0.1:{port}", "m", retries=3, backoff=0.01).predict(["a"])
        assert rows == [{"probabilities": [0.5, 0.5]}] and servicer.calls == 3
        servicer.calls = 0
        with pytest.raises(ServingError, match="unavailable after 2 attempt"):
            ServingClient(f"127.0.0.1:{port}", "m", retries=1, backoff=0.01).predict(["a"])
        assert servicer.calls == 2
    finally:
        server.stop(None)


class SlowServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request, context):
        time.sleep(2.0)
        return predict_pb2.PredictResponse()


class MalformedServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request, context):
        response = predict_pb2.PredictResponse()
        response.outputs["logits"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 2), np.float32)))
        return response


def test_deadline_and_malformed_replies():
    server, port = _start(SlowServicer())
    try:
        with pytest.raises(ServingError, match="no reply within 0.3s"):
            ServingClient(f"127.0.0.1:{port}", "m", timeout=0.3).predict(["a"])
    finally:
        server.stop(None)
    server, port = _start(MalformedServicer())
    try:
        with pytest.raises(ServingError, match="malformed reply: no 'probabilities' output"):
            ServingClient(f"127.0.0.1:{port}", "m").predict(["a"])
    finally:
        server.stop(None)


def _client_cli(*args):
    return subprocess.run(
        [PY, "-m", "export.client_cli", *args], capture_output=True, text=True, env=ENV, timeout=120
    )


def test_client_cli_prints_probabilities(served):
    result = _client_cli(
        f"--server={served['grpc']}",
        "--model_name=sentiment",
        "--text=the good movie",
        "--text=awful",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    direct = _direct(served, ["the good movie", "awful"])
    np.testing.assert_allclose(
        [line["probabilities"] for line in lines], direct["probabilities"], atol=1e-6
    )
    assert lines[0]["text"] == "the good movie" and lines[0]["labels"] in LABELS
    assert result.stderr == ""  # no TensorFlow start-up noise: the CLI never loads the TF runtime

    rest = _client_cli(
        f"--server={served['rest']}", "--rest", "--model_name=sentiment", "--text=awful"
    )
    assert rest.returncode == 0, rest.stderr
    np.testing.assert_allclose(
        json.loads(rest.stdout)["probabilities"], direct["probabilities"][1], atol=1e-6
    )


@pytest.mark.parametrize(
    "where", ["wrong_model", "dead_port", "dead_port_rest", "malformed", "no_text"]
)
def test_client_cli_failures_are_one_line(served, where):
    server = None
    if where == "malformed":
        server, port = _start(MalformedServicer())
        args = [f"--server=127.0.0.1:{port}", "--model_name=m", "--text=a"]
    elif where == "wrong_model":
        args = [f"--server={served['grpc']}", "--model_name=nope", "--text=a"]
    elif where == "dead_port":
        args = ["--server=127.0.0.1:1", "--model_name=sentiment", "--text=a", "--retries=1"]
    elif where == "dead_port_rest":
        args = [
            "--server=127.0.0.1:1",
            "--rest",
            "--model_name=sentiment",
            "--text=a",
            "--retries=1",
        ]
    else:
        args = [f"--server={served['grpc']}", "--model_name=sentiment"]
    try:
        result = _client_cli(*args)
    finally:
        if server is not None:
            server.stop(None)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""


def test_concurrent_clients_share_the_server(served):
    results, errors = [], []

    def work():
        try:
            results.append(ServingClient(served["grpc"], "sentiment").predict(["the good movie"]))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4


def test_rest_row_format_replies_are_understood():
    """A server answering {"predictions": [...]} (row format) instead of {"outputs": ...}."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            n = len(body["inputs"]["text"])
            data = json.dumps({"predictions": [{"probabilities": [0.25, 0.75]}] * n}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rows = ServingClient(f"127.0.0.1:{server.server_address[1]}", "m", rest=True).predict(
            ["a", "b"]
        )
        assert rows == [{"probabilities": [0.25, 0.75]}] * 2
    finally:
        server.shutdown()


def test_client_cli_for_a_qa_export(tmp_path):
    """--input_names/--required_output reach other signatures (a QA export here)."""
    import keras

    from bert_tf import BertConfig, BertEncoder, BertSpanLabeler
    from bert_tf.checkpoints import save_task_model
    from export.exporter import export_task_folder
    from export.test_server import ModelRegistry, serve_grpc
    from tests.test_export import VOCAB

    keras.utils.set_random_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
    )
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    save_task_model(
        BertSpanLabeler(BertEncoder(config)),
        str(tmp_path / "model"),
        {
            "task": "question_answering",
            "task_config": {},
            "labels": None,
            "preprocessor": {"sequence_length": 16, "text_pair": True},
        },
        vocab_file=str(vocab),
        lowercase=True,
    )
    export_task_folder(str(tmp_path / "model"), str(tmp_path / "serving"), "qa")
    registry = ModelRegistry()
    registry.add_base(str(tmp_path / "serving"), "qa")
    server, port = serve_grpc(registry)
    try:
        result = _client_cli(
            f"--server=127.0.0.1:{port}",
            "--model_name=qa",
            "--input_names=question,context",
            "--required_output=answer_text",
            "--text=what is good ?",
            "--timeout=60",
            "--text_pair=the good movie is very great",
            "--format=json",
        )
    finally:
        server.stop(None)
        registry.close()
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert (
        line["answer_text"]
        == "the good movie is very great"[line["answer_start"] : line["answer_end"]]
    )
