"""A stand-in for TF Serving, for tests and local benchmarks (TF Serving cannot be installed here).

It loads each version the way tensorflow_model_server does - the TF1 session
loader with the ``serve`` tag, then feeds and fetches the tensor names the
SignatureDefs name - and answers:

- gRPC ``tensorflow.serving.PredictionService``: Predict, Classify, GetModelMetadata;
- REST: ``POST /v1/models/NAME[/versions/N]:predict`` ({"inputs": ...} or
  {"instances": [...]}), ``GET /v1/models/NAME[/versions/N]/metadata``.

Errors use TF Serving's status codes and messages where it matters to clients:
NOT_FOUND "Servable not found for request: Latest(NAME)" (HTTP 404),
INVALID_ARGUMENT for bad signatures and inputs (HTTP 400).

    python -m export.test_server --export_dir=BASE --model_name=NAME --port=8500 --rest_port=8501
"""

from __future__ import annotations

import json
import os
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the exports use)
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

CLASSIFY_METHOD = "tensorflow/serving/classify"


class LoadedVersion:
    """One SavedModel version loaded through the TF1 session loader, as TF Serving does."""

    def __init__(self, path):
        self.path = path
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            self.meta_graph = tf.compat.v1.saved_model.loader.load(self.session, ["serve"], path)
        self.signatures = dict(self.meta_graph.signature_def)
        self.warmup()

    def warmup(self):
        """Replays assets.extra/tf_serving_warmup_requests, as TF Serving does at load time."""
        path = os.path.join(self.path, "assets.extra", "tf_serving_warmup_requests")
        if not os.path.exists(path):
            return 0
        from tensorflow_serving.apis import prediction_log_pb2

        count = 0
        for record in tf.compat.v1.io.tf_record_iterator(path):
            log = prediction_log_pb2.PredictionLog.FromString(record)
            request = log.predict_log.request
            self.run(
                request.model_spec.signature_name or "serving_default",
                {k: tf.make_ndarray(v) for k, v in request.inputs.items()},
            )
            count += 1
        return count

    def run(self, signature_name, inputs):
        """{input key: array-like} -> {output key: numpy array} for one SignatureDef."""
        if signature_name not in self.signatures:
            raise KeyError(f'Serving signature name: "{signature_name}" not found in signature def')
        sig = self.signatures[signature_name]
        missing = set(sig.inputs) - set(inputs)
        extra = set(inputs) - set(sig.inputs)
        if missing or extra:
            raise ValueError(
                f"signature {signature_name} expects inputs {sorted(sig.inputs)}, "
                f"got {sorted(inputs)}"
            )
        feed = {sig.inputs[k].name: v for k, v in inputs.items()}
        fetch = {k: t.name for k, t in sig.outputs.items()}
        return self.session.run(fetch, feed_dict=feed)

    def close(self):
        self.session.close()


class ModelRegistry:
    """name -> {version: LoadedVersion}; the latest version answers unless one is named."""

    def __init__(self):
        self.models = {}

    def add(self, name, path):
        version = int(os.path.basename(os.path.normpath(path)))
        self.models.setdefault(name, {})[version] = LoadedVersion(path)
        return version

    def add_base(self, export_dir, name):
        base = os.path.join(export_dir, name)
        for d in sorted(os.listdir(base)):
            if re.fullmatch(r"[0-9]+", d):
                self.add(name, os.path.join(base, d))

    def get(self, name, version=None):
        versions = self.models.get(name)
        if not versions:
            raise LookupError(f"Servable not found for request: Latest({name})")
        if version is None:
            version = max(versions)
        if version not in versions:
            raise LookupError(f"Servable not found for request: Specific({name}, {version})")
        return version, versions[version]

    def close(self):
        for versions in self.models.values():
            for loaded in versions.values():
                loaded.close()


def _spec_version(spec):
    return spec.version.value if spec.HasField("version") else None


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """gRPC PredictionService backed by a ModelRegistry."""

    def __init__(self, registry):
        self.registry = registry

    def _lookup(self, spec, context):
        try:
            return self.registry.get(spec.name, _spec_version(spec))
        except LookupError as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e))

    def Predict(self, request, context):
        version, loaded = self._lookup(request.model_spec, context)
        signature = request.model_spec.signature_name or "serving_default"
        try:
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            outputs = loaded.run(signature, inputs)
        except (KeyError, ValueError, tf.errors.InvalidArgumentError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, " ".join(str(e).split()))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = signature
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def Classify(self, request, context):
        version, loaded = self._lookup(request.model_spec, context)
        signature = request.model_spec.signature_name or "serving_default"
        sig = loaded.signatures.get(signature)
        if sig is None or sig.method_name != CLASSIFY_METHOD:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Expected classification signature method_name to be {CLASSIFY_METHOD}",
            )
        if request.input.WhichOneof("kind") != "example_list":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Input must be an example_list")
        serialized = np.array(
            [e.SerializeToString() for e in request.input.example_list.examples], dtype=object
        )
        try:
            outputs = loaded.run(signature, {"inputs": serialized})
        except (KeyError, ValueError, tf.errors.InvalidArgumentError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, " ".join(str(e).split()))
        response = classification_pb2.ClassificationResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = signature
        for classes, scores in zip(outputs["classes"], outputs["scores"]):
            item = response.result.classifications.add()
            for label, score in zip(classes, scores):
                item.classes.add(label=label.decode("utf-8"), score=float(score))
        return response

    def GetModelMetadata(self, request, context):
        version, loaded = self._lookup(request.model_spec, context)
        if list(request.metadata_field) != ["signature_def"]:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "Metadata field signature_def is the one supported",
            )
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, sig in loaded.signatures.items():
            signature_map.signature_def[name].CopyFrom(sig)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.metadata["signature_def"].Pack(signature_map)
        return response


def serve_grpc(registry, port=0, host="127.0.0.1", max_workers=4, credentials=None):
    """Starts the gRPC server; returns (server, bound port). ``server.stop(None)`` ends it.

    ``credentials``: grpc.ssl_server_credentials(...) to serve TLS; None serves plain text.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionServicer(registry), server
    )
    if credentials is not None:
        bound = server.add_secure_port(f"{host}:{port}", credentials)
    else:
        bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, bound


# --- REST -------------------------------------------------------------------------
_REST_PATH = re.compile(r"^/v1/models/([^/:]+)(?:/versions/([0-9]+))?(:predict|/metadata)?$")


def _jsonable(value):
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [_jsonable(v) for v in value] if value.ndim else _jsonable(value.item())
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rest_array(value, dtype):
    if dtype == tf.string.as_datatype_enum:
        return np.array(value, dtype=object)
    return np.array(value, dtype=tf.dtypes.as_dtype(dtype).as_numpy_dtype)


class _RestHandler(BaseHTTPRequestHandler):
    registry: ModelRegistry = None

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, code, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self):
        match = _REST_PATH.match(self.path)
        if not match:
            self._reply(404, {"error": f"Malformed request: {self.command} {self.path}"})
            return None
        name, version, verb = match.groups()
        try:
            version, loaded = self.registry.get(name, int(version) if version else None)
        except LookupError as e:
            self._reply(404, {"error": str(e)})
            return None
        return version, loaded, verb

    def do_GET(self):
        routed = self._route()
        if routed is None:
            return
        version, loaded, verb = routed
        if verb != "/metadata":
            self._reply(
                200, {"model_version_status": [{"version": str(version), "state": "AVAILABLE"}]}
            )
            return
        defs = {
            name: {
                "method_name": sig.method_name,
                "inputs": {
                    k: {"dtype": types_pb2.DataType.Name(v.dtype)} for k, v in sig.inputs.items()
                },
                "outputs": {
                    k: {"dtype": types_pb2.DataType.Name(v.dtype)} for k, v in sig.outputs.items()
                },
            }
            for name, sig in loaded.signatures.items()
        }
        self._reply(
            200,
            {
                "model_spec": {"name": self.path.split("/")[3], "version": str(version)},
                "metadata": {"signature_def": {"signature_def": defs}},
            },
        )

    def do_POST(self):
        routed = self._route()
        if routed is None:
            return
        version, loaded, verb = routed
        if verb != ":predict":
            self._reply(400, {"error": f"Unsupported verb in {self.path}"})
            return
        try:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            signature = body.get("signature_name", "serving_default")
            if signature not in loaded.signatures:
                raise KeyError(f'Serving signature name: "{signature}" not found in signature def')
            sig = loaded.signatures[signature]
            if "inputs" in body:  # columnar format -> {"outputs": ...}
                columns = body["inputs"]
                if not isinstance(columns, dict):
                    columns = {next(iter(sig.inputs)): columns}
                inputs = {
                    k: _rest_array(v, sig.inputs[k].dtype)
                    for k, v in columns.items()
                    if k in sig.inputs
                }
                outputs = loaded.run(signature, inputs)
                self._reply(200, {"outputs": {k: _jsonable(v) for k, v in outputs.items()}})
            elif "instances" in body:  # row format -> {"predictions": [...]}
                rows = body["instances"]
                keys = list(sig.inputs)
                if rows and not isinstance(rows[0], dict):
                    rows = [{keys[0]: r} for r in rows]
                inputs = {k: _rest_array([r[k] for r in rows], sig.inputs[k].dtype) for k in keys}
                outputs = loaded.run(signature, inputs)
                n = len(rows)
                self._reply(
                    200,
                    {
                        "predictions": [
                            {k: _jsonable(v[i]) for k, v in outputs.items()} for i in range(n)
                        ]
                    },
                )
            else:
                raise ValueError("Missing 'inputs' or 'instances' key")
        except (KeyError, ValueError, TypeError, tf.errors.InvalidArgumentError) as e:
            self._reply(400, {"error": " ".join(str(e).split())})


def serve_rest(registry, port=0, host="127.0.0.1", ssl_context=None):
    """Starts the REST server in a thread; returns (server, bound port).

    ``server.shutdown()`` ends it. ``ssl_context``: an ssl.SSLContext (server side) to serve
    https; None serves http.
    """
    handler = type("RestHandler", (_RestHandler,), {"registry": registry})
    server = ThreadingHTTPServer((host, port), handler)
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, server.server_address[1]


def main(argv):
    from absl import flags

    flags_ = flags.FLAGS
    registry = ModelRegistry()
    registry.add_base(flags_.export_dir, flags_.model_name)
    grpc_server, grpc_port = serve_grpc(registry, flags_.port, host=flags_.host)
    rest_server, rest_port = serve_rest(registry, flags_.rest_port, host=flags_.host)
    print(
        f"serving {flags_.model_name} versions {sorted(registry.models[flags_.model_name])}: "
        f"gRPC {flags_.host}:{grpc_port}, REST {flags_.host}:{rest_port}",
        flush=True,
    )
    try:
        grpc_server.wait_for_termination()
    finally:
        rest_server.shutdown()
        registry.close()


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string(
        "export_dir", None, "Export base folder (holds NAME/VERSION/).", required=True
    )
    flags.DEFINE_string("model_name", None, "Model name under export_dir.", required=True)
    flags.DEFINE_string("host", "127.0.0.1", "Address to bind.")
    flags.DEFINE_integer("port", 8500, "gRPC port.")
    flags.DEFINE_integer("rest_port", 8501, "REST port.")
    app.run(main)
