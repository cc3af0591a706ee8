"""ServingClient / bert-tf-client transport: TLS, per-call metadata, retries, streaming output.

Servers here are small hand-written PredictionService servicers (and export.test_server's REST
endpoint over a stand-in registry) on 127.0.0.1; certificates are made per test run with the
openssl command line tool (the test skips where it is missing).
"""

import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from export.client import ServingClient, ServingError
from export.test_server import serve_rest

PY = sys.executable
ENV = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")


class RecordingServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Answers two-class probabilities; records calls and metadata; may want a header or fail."""

    def __init__(self, require=None, fail_with=None, gate_call=None):
        self.calls, self.metadata = 0, []
        self.require, self.fail_with, self.gate_call = require, fail_with, gate_call
        self.gate = threading.Event()
        self.lock = threading.Lock()

    def Predict(self, request, context):
        with self.lock:
            self.calls += 1
            call = self.calls
        metadata = dict(context.invocation_metadata())
        self.metadata.append(metadata)
        if self.fail_with is not None:
            context.abort(self.fail_with, f"refused with {self.fail_with.name}")
        if self.require and metadata.get(self.require[0]) != self.require[1]:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong authorization")
        if call == self.gate_call:
            self.gate.wait(30)
        texts = tf.make_ndarray(request.inputs["text"])
        probabilities = np.stack([np.full(len(texts), 0.25), np.full(len(texts), 0.75)], -1)
        response = predict_pb2.PredictResponse()
        response.outputs["probabilities"].CopyFrom(
            tf.make_tensor_proto(probabilities.astype(np.float32))
        )
        response.outputs["labels"].CopyFrom(
            tf.make_tensor_proto(np.array([b"pos"] * len(texts), dtype=object))
        )
        return response


def _start(servicer, credentials=None):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return server, f"127.0.0.1:{port}"


def _self_signed(folder, name):
    """(cert.pem, key.pem) of a self-signed certificate for 127.0.0.1 / localhost."""
    cert, key = os.path.join(folder, f"{name}.pem"), os.path.join(folder, f"{name}.key")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line tool makes the test certificates")
    folder = str(tmp_path_factory.mktemp("certs"))
    server_cert, server_key = _self_signed(folder, "server")
    client_cert, client_key = _self_signed(folder, "client")
    other_cert, _ = _self_signed(folder, "other")
    read = lambda path: open(path, "rb").read()  # noqa: E731
    return {
        "server_cert": server_cert,
        "server_key": server_key,
        "client_cert": client_cert,
        "client_key": client_key,
        "other_cert": other_cert,
        "read": read,
    }


def _client_cli(*args, **kwargs):
    return subprocess.run(
        [PY, "-m", "export.client_cli", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        **kwargs,
    )


# --- TLS ------------------------------------------------------------------------------
def test_grpc_over_tls_with_root_certificates_and_a_client_certificate(certs):
    read = certs["read"]
    credentials = grpc.ssl_server_credentials(
        [(read(certs["server_key"]), read(certs["server_cert"]))],
        root_certificates=read(certs["client_cert"]),
        require_client_auth=True,
    )
    servicer = RecordingServicer()
    server, address = _start(servicer, credentials)
    try:
        rows = ServingClient(
            address,
            "m",
            root_certificates=certs["server_cert"],
            client_certificate=certs["client_cert"],
            client_key=certs["client_key"],
        ).predict(["a"])
        assert rows == [{"probabilities": [0.25, 0.75], "labels": "pos"}]
        # The CLI, the same way.
        result = _client_cli(
            f"--server={address}",
            "--model_name=m",
            "--text=a",
            "--ssl",
            f"--ssl_root_certificates={certs['server_cert']}",
            f"--ssl_client_certificate={certs['client_cert']}",
            f"--ssl_client_key={certs['client_key']}",
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["probabilities"] == [0.25, 0.75]
        calls = servicer.calls
        # A server certificate no given root signed: a TLS failure, at once and not retried.
        start = time.monotonic()
        with pytest.raises(ServingError, match="TLS with .* failed .not retried.") as info:
            ServingClient(
                address,
                "m",
                root_certificates=certs["other_cert"],
                client_certificate=certs["client_cert"],
                client_key=certs["client_key"],
                retries=3,
                backoff=2.0,
                timeout=5,
            ).predict(["a"])
        assert time.monotonic() - start < 4.0  # retries would wait 2 + 4 + 8 s
        assert "\n" not in str(info.value)
        # No client certificate for a server that asks for one: refused, not retried.
        start = time.monotonic()
        with pytest.raises(ServingError, match="TLS|unavailable"):
            ServingClient(
                address,
                "m",
                root_certificates=certs["server_cert"],
                retries=3,
                backoff=2.0,
                timeout=5,
            ).predict(["a"])
        assert time.monotonic() - start < 4.0
        assert servicer.calls == calls  # neither reached the servicer
        result = _client_cli(
            f"--server={address}",
            "--model_name=m",
            "--text=a",
            f"--ssl_root_certificates={certs['other_cert']}",
            "--retries=3",
        )
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith("error: TLS with") and len(result.stderr.splitlines()) == 1
    finally:
        server.stop(None)


class _StandInLoaded:
    """A loaded version for export.test_server's REST handler: text -> probabilities."""

    def __init__(self):
        sig = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
        sig.inputs["text"].dtype = types_pb2.DT_STRING
        sig.outputs["probabilities"].dtype = types_pb2.DT_FLOAT
        self.signatures = {"serving_default": sig}
        self.headers = []

    def run(self, signature_name, inputs):
        n = len(inputs["text"])
        return {"probabilities": np.tile(np.array([[0.25, 0.75]], np.float32), (n, 1))}


class _StandInRegistry:
    def __init__(self):
        self.loaded = _StandInLoaded()

    def get(self, name, version=None):
        if name != "m":
            raise LookupError(f"Servable not found for request: Latest({name})")
        return 1, self.loaded


def test_rest_over_https_with_headers(certs):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["server_cert"], certs["server_key"])
    registry = _StandInRegistry()
    server, port = serve_rest(registry, ssl_context=context)
    try:
        client = ServingClient(
            f"127.0.0.1:{port}",
            "m",
            rest=True,
            root_certificates=certs["server_cert"],
            metadata=[("Authorization", "Bearer t0ken")],
        )
        assert client.predict(["a", "b"]) == [{"probabilities": [0.25, 0.75]}] * 2
        start = time.monotonic()
        with pytest.raises(ServingError, match="TLS with .* failed .not retried."):
            ServingClient(
                f"127.0.0.1:{port}",
                "m",
                rest=True,
                root_certificates=certs["other_cert"],
                retries=3,
                backoff=2.0,
            ).predict(["a"])
        assert time.monotonic() - start < 2.0
    finally:
        server.shutdown()


# --- metadata and what is retried -------------------------------------------------------
def test_metadata_reaches_the_server_and_unauthenticated_is_not_retried():
    servicer = RecordingServicer(require=("authorization", "Bearer t0ken"))
    server, address = _start(servicer)
    try:
        rows = ServingClient(
            address, "m", metadata=[("Authorization", "Bearer t0ken"), ("x-tenant", "a=b")]
        ).predict(["a", "b", "c"])
        assert len(rows) == 3 and servicer.metadata[-1]["x-tenant"] == "a=b"
        servicer.calls = 0
        with pytest.raises(ServingError, match="UNAUTHENTICATED"):
            ServingClient(address, "m", retries=3, backoff=0.01).predict(["a"])
        assert servicer.calls == 1
        result = _client_cli(
            f"--server={address}",
            "--model_name=m",
            "--text=a",
            "--metadata=authorization=Bearer t0ken",
            "--metadata=x-tenant=a=b",
        )
        assert result.returncode == 0, result.stderr
        assert (
            servicer.metadata[-1]["authorization"] == "Bearer t0ken"
            and servicer.metadata[-1]["x-tenant"] == "a=b"
        )
        bad = _client_cli(
            f"--server={address}", "--model_name=m", "--text=a", "--metadata=no_equals_sign"
        )
        assert bad.returncode == 1 and "--metadata takes KEY=VALUE" in bad.stderr
    finally:
        server.stop(None)


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAVAILABLE,
    ],
)
def test_only_unavailable_and_deadline_are_retried(code):
    servicer = RecordingServicer(fail_with=code)
    server, address = _start(servicer)
    try:
        with pytest.raises(ServingError) as info:
            ServingClient(address, "m", retries=2, backoff=0.01).predict(["a"])
        assert servicer.calls == (3 if code == grpc.StatusCode.UNAVAILABLE else 1), str(info.value)
    finally:
        server.stop(None)


class SlowOnceServicer(RecordingServicer):
    def Predict(self, request, context):
        if self.calls == 0:
            self.calls += 1
            time.sleep(1.0)
            return predict_pb2.PredictResponse()
        return super().Predict(request, context)


def test_deadline_exceeded_is_retried():
    servicer = SlowOnceServicer()
    server, address = _start(servicer)
    try:
        rows = ServingClient(address, "m", timeout=0.3, retries=1, backoff=0.01).predict(["a"])
        assert rows[0]["probabilities"] == [0.25, 0.75] and servicer.calls == 2
    finally:
        server.stop(None)


@pytest.mark.parametrize("rest", [False, True])
def test_a_name_that_does_not_resolve_is_not_retried(rest):
    start = time.monotonic()
    with pytest.raises(ServingError, match="cannot resolve the server address"):
        ServingClient(
            "no-such-host.invalid:8500", "m", rest=rest, retries=3, backoff=2.0, timeout=5
        ).predict(["a"])
    assert time.monotonic() - start < 4.0  # retries would wait 2 + 4 + 8 s


# --- results as they arrive -----------------------------------------------------------
def test_cli_prints_each_batch_as_its_reply_arrives(tmp_path):
    """The second batch's reply is held back until the first batch's lines have been read."""
    servicer = RecordingServicer(gate_call=2)
    server, address = _start(servicer)
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"text {i}\n" for i in range(5)), encoding="utf-8")
    process = subprocess.Popen(
        [
            PY,
            "-m",
            "export.client_cli",
            f"--server={address}",
            "--model_name=m",
            f"--input_file={texts}",
            "--batch_size=2",
            "--timeout=60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        first = [json.loads(process.stdout.readline()) for _ in range(2)]  # blocks until printed
        assert [line["text"] for line in first] == ["text 0", "text 1"]
        deadline = time.monotonic() + 30
        while servicer.calls < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert servicer.calls == 2  # the second batch is in flight, its reply held at the server
        servicer.gate.set()
        rest, err = process.communicate(timeout=60)
    finally:
        servicer.gate.set()
        if process.poll() is None:
            process.kill()
        server.stop(None)
    assert process.returncode == 0, err
    assert [json.loads(line)["text"] for line in rest.splitlines()] == [
        "text 2",
        "text 3",
        "text 4",
    ]
    assert servicer.calls == 3


def test_predict_iter_reads_its_input_lazily():
    servicer = RecordingServicer()
    server, address = _start(servicer)
    consumed = []

    def texts():
        for i in range(7):
            consumed.append(i)
            yield f"t{i}"

    try:
        rows = ServingClient(address, "m", batch_size=3).predict_iter(texts())
        assert next(rows)[0] == "t0" and consumed == [0, 1, 2] and servicer.calls == 1
        assert [text for text, _, _ in rows] == [
            f"t{i}" for i in range(1, 7)
        ] and servicer.calls == 3
    finally:
        server.stop(None)
