"""A small client for a TF Serving model exported by bert-tf-export.

gRPC (tensorflow-serving-api): ``Predict``, ``Classify``, ``GetModelMetadata``;
REST: ``POST /v1/models/NAME[/versions/N]:predict`` with JSON (urllib only).
Both over plain text or TLS (server verified against given root certificates or
the system's; optional client certificate), with per-call metadata (gRPC
metadata / HTTP headers, e.g. an ``authorization`` header).
Every call has a deadline; only errors that may pass are retried, a bounded
number of times with exponential backoff: UNAVAILABLE (server starting,
overloaded, not yet listening) and DEADLINE_EXCEEDED. A bad address, a failed
TLS handshake, INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED and the rest fail at
once. Many texts are sent in batches of ``batch_size``; ``predict_iter`` yields
each batch's rows as they arrive. Every failure is raised as a ServingError
whose message is one line.

TensorProtos are built and read here by hand (no TensorFlow ops), so the
client needs only protobuf and grpcio at run time.
"""

from __future__ import annotations

import itertools
import json
import socket
import ssl
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
from tensorflow.core.example import example_pb2, feature_pb2
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    model_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.2
DEFAULT_BATCH_SIZE = 32
# TF Serving's default gRPC message limit is 4 MiB; raise ours to match large batches.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# The only gRPC codes a retry can cure (the server is starting, overloaded or slow).
RETRYABLE_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# UNAVAILABLE details that no retry cures: the name does not resolve, TLS does not agree.
_DNS_FAILURE = (
    "dns resolution failed",
    "errors resolving",
    "address lookup failed",
    "name resolution",
    "could not resolve",
    "domain name not found",
    "unknown host",
)
_TLS_FAILURE = ("handshake", "ssl", "tls", "certificate", "x509")
# On a TLS channel, a connection closed before any reply: the server refused the handshake
# (typically: it wants a client certificate). A server that is down refuses the connection instead.
_TLS_CLOSED = ("socket closed",)
# The output each kind of export answers with, batch-first, in the order they are looked for:
# classifier, multi-label classifier, regression, NER, QA, sentence embedder.
PRIMARY_OUTPUTS = (
    "probabilities",
    "scores",
    "prediction",
    "num_entities",
    "answer_text",
    "embeddings",
)


class ServingError(RuntimeError):
    """A failed request; ``str(e)`` is one line fit for a CLI's ``error: ...``."""


def _one_line(text):
    return " ".join(str(text).split())


# --- TensorProto <-> numpy without TensorFlow ------------------------------------
_NP_TO_DT = {
    np.dtype("float32"): types_pb2.DT_FLOAT,
    np.dtype("float64"): types_pb2.DT_DOUBLE,
    np.dtype("int32"): types_pb2.DT_INT32,
    np.dtype("int64"): types_pb2.DT_INT64,
}
_DT_TO_NP = {
    types_pb2.DT_FLOAT: ("float_val", np.float32),
    types_pb2.DT_DOUBLE: ("double_val", np.float64),
    types_pb2.DT_INT32: ("int_val", np.int32),
    types_pb2.DT_INT64: ("int64_val", np.int64),
    types_pb2.DT_BOOL: ("bool_val", np.bool_),
    types_pb2.DT_HALF: ("half_val", np.float16),
}


def to_tensor_proto(values, dtype=None):
    """A list (or nested list / numpy array) of str, bytes, int or float -> TensorProto."""
    array = np.asarray(values, dtype=dtype)
    proto = tensor_pb2.TensorProto(
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in array.shape]
        )
    )
    if array.dtype.kind in ("U", "S", "O"):
        proto.dtype = types_pb2.DT_STRING
        proto.string_val.extend(
            v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in array.ravel()
        )
        return proto
    if array.dtype.kind in ("i", "u"):
        array = array.astype(np.int32 if dtype is None else dtype)
    if array.dtype not in _NP_TO_DT:
        array = array.astype(np.float32)
    proto.dtype = _NP_TO_DT[array.dtype]
    proto.tensor_content = array.astype(array.dtype.newbyteorder("<")).tobytes()
    return proto


def from_tensor_proto(proto):
    """TensorProto -> numpy array (strings as bytes objects); ServingError if malformed."""
    shape = [d.size for d in proto.tensor_shape.dim]
    if any(s < 0 for s in shape):
        raise ServingError(f"malformed reply: tensor has unknown shape {shape}")
    size = int(np.prod(shape)) if shape else 1
    if proto.dtype == types_pb2.DT_STRING:
        values = np.array(list(proto.string_val), dtype=object)
    elif proto.dtype in _DT_TO_NP:
        field, np_dtype = _DT_TO_NP[proto.dtype]
        if proto.tensor_content:
            values = np.frombuffer(proto.tensor_content, dtype=np.dtype(np_dtype).newbyteorder("<"))
            values = values.astype(np_dtype)
        elif proto.dtype == types_pb2.DT_HALF:
            values = np.array(proto.half_val, dtype=np.uint16).view(np.float16)
        else:
            values = np.array(getattr(proto, field), dtype=np_dtype)
    else:
        raise ServingError(
            f"malformed reply: unsupported tensor dtype {types_pb2.DataType.Name(proto.dtype)}"
        )
    if values.size == size:
        return values.reshape(shape)
    if values.size == 1 and size > 1:  # TF's compressed form: one value repeated
        return np.full(shape, values[0], dtype=values.dtype)
    if values.size == 0 and size > 0:  # all default values are omitted
        return (
            np.zeros(shape, dtype=values.dtype)
            if values.dtype != object
            else np.full(shape, b"", dtype=object)
        )
    raise ServingError(f"malformed reply: tensor of shape {shape} carries {values.size} values")


def _to_python(value):
    if isinstance(value, np.ndarray):
        return [_to_python(v) for v in value] if value.ndim else _to_python(value.item())
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _batches(n, batch_size):
    for start in range(0, n, batch_size):
        yield start, min(n, start + batch_size)


class ServingClient:
    """Calls one model on a TF Serving server (gRPC port 8500 or REST port 8501).

    Args:
        server: "HOST:PORT" (for REST, the HTTP port; "http://" optional).
        model_name: the served model's name.
        signature_name: the signature Predict calls.
        rest: use REST :predict instead of gRPC.
        timeout: the deadline of each request, seconds.
        retries: extra attempts after an UNAVAILABLE reply (or a refused connection).
        backoff: the first retry's wait; doubled each attempt.
        batch_size: texts per request in ``predict`` / ``classify``.
        model_version: a fixed version; None asks for the latest.
        required_output: the output ``predict`` insists on, batch-first ("probabilities"
            for classifiers, "embeddings" for embedders, "num_entities" for NER); None
            accepts the first of PRIMARY_OUTPUTS the reply has.
        input_names: the signature's names for the text and the second text
            (("question", "context") for QA exports).
        ssl: use TLS (gRPC secure channel / https).
        root_certificates: PEM file of the certificates that may sign the server's
            certificate; None uses the system's. Implies ``ssl``.
        client_certificate, client_key: PEM files of a client certificate chain and its
            private key, for servers that ask for one (both or neither). Imply ``ssl``.
        metadata: (key, value) pairs sent with every call (gRPC metadata, HTTP headers
            for REST), e.g. [("authorization", "Bearer TOKEN")]. gRPC keys are lowercased.
    """

    def __init__(
        self,
        server,
        model_name,
        signature_name="serving_default",
        rest=False,
        timeout=DEFAULT_TIMEOUT_S,
        retries=DEFAULT_RETRIES,
        backoff=DEFAULT_BACKOFF_S,
        batch_size=DEFAULT_BATCH_SIZE,
        model_version=None,
        required_output="probabilities",
        input_names=("text", "text_pair"),
        ssl=False,
        root_certificates=None,
        client_certificate=None,
        client_key=None,
        metadata=(),
    ):
        if not server or ":" not in server.replace("http://", "").replace("https://", ""):
            raise ServingError(f"server must be HOST:PORT, got {server!r}")
        if not model_name:
            raise ServingError("model_name is empty")
        if batch_size < 1 or retries < 0 or timeout <= 0:
            raise ServingError("batch_size must be >= 1, retries >= 0 and timeout > 0")
        self.server = server
        self.model_name = model_name
        self.signature_name = signature_name
        self.rest = rest
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.model_version = model_version
        self.required_output = required_output
        if len(input_names) != 2:
            raise ServingError(
                f"input_names must name the text and the pair input, got {list(input_names)}"
            )
        self.input_names = tuple(input_names)
        if bool(client_certificate) != bool(client_key):
            raise ServingError(
                "a client certificate needs its key and a key its certificate; give both"
            )
        self.ssl = bool(ssl or root_certificates or client_certificate)
        self.root_certificates = root_certificates
        self.client_certificate = client_certificate
        self.client_key = client_key
        self._pem = {
            name: _read_pem(path, name)
            for name, path in (
                ("root certificates", root_certificates),
                ("client certificate", client_certificate),
                ("client key", client_key),
            )
            if path
        }
        self.call_metadata = _check_metadata(metadata)
        self._channel = None
        self._stub = None

    # --- plumbing ---------------------------------------------------------------
    def close(self):
        if self._channel is not None:
            self._channel.close()
            self._channel = self._stub = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def stub(self):
        if self._stub is None:
            options = [
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ]
            if self.ssl:
                credentials = grpc.ssl_channel_credentials(
                    root_certificates=self._pem.get("root certificates"),
                    private_key=self._pem.get("client key"),
                    certificate_chain=self._pem.get("client certificate"),
                )
                self._channel = grpc.secure_channel(self.server, credentials, options=options)
            else:
                self._channel = grpc.insecure_channel(self.server, options=options)
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        return self._stub

    def _model_spec(self, signature_name=None):
        spec = model_pb2.ModelSpec(name=self.model_name)
        if signature_name:
            spec.signature_name = signature_name
        if self.model_version is not None:
            spec.version.value = int(self.model_version)
        return spec

    def _call(self, method, request):
        """One gRPC call with this client's deadline and metadata."""
        return method(request, timeout=self.timeout, metadata=self.call_metadata or None)

    def _with_retries(self, call, what):
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return call()
            except grpc.RpcError as e:
                if _grpc_retryable(e, self.ssl) and attempt < self.retries:
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise self._grpc_error(e, what, attempt + 1) from None

    def _grpc_error(self, e, what, attempts):
        code = e.code() if hasattr(e, "code") else None
        details = _one_line(e.details() if hasattr(e, "details") else e)
        name = code.name if code is not None else "UNKNOWN"
        if code == grpc.StatusCode.UNAVAILABLE and _mentions(details, _DNS_FAILURE):
            return ServingError(f"cannot resolve the server address {self.server}: {details}")
        if code == grpc.StatusCode.UNAVAILABLE and _mentions(details, _TLS_FAILURE):
            return ServingError(f"TLS with {self.server} failed (not retried): {details}")
        if code == grpc.StatusCode.UNAVAILABLE and self.ssl and _mentions(details, _TLS_CLOSED):
            return ServingError(
                f"TLS with {self.server} failed (not retried): the server closed "
                f"the connection during the handshake (does it want a client "
                f"certificate?): {details}"
            )
        if code == grpc.StatusCode.UNAVAILABLE:
            return ServingError(
                f"server {self.server} unavailable after {attempts} attempt(s): {details}"
            )
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return ServingError(
                f"{what} to {self.server} got no reply within {self.timeout:g}s "
                f"({attempts} attempt(s))"
            )
        if code == grpc.StatusCode.NOT_FOUND:
            return ServingError(
                f"model {self.model_name!r} not found on {self.server} ({name}: {details})"
            )
        return ServingError(f"{what} to {self.server} failed ({name}): {details}")

    # --- gRPC -------------------------------------------------------------------
    def predict_tensors(self, inputs, signature_name=None):
        """One Predict call: {input name: array-like} -> {output name: numpy array}."""
        signature_name = signature_name or self.signature_name
        if self.rest:
            return self._rest_predict(inputs, signature_name)
        request = predict_pb2.PredictRequest(model_spec=self._model_spec(signature_name))
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(to_tensor_proto(value))
        response = self._with_retries(lambda: self._call(self.stub.Predict, request), "Predict")
        if not isinstance(response, predict_pb2.PredictResponse):
            raise ServingError("malformed reply: Predict did not return a PredictResponse")
        return {key: from_tensor_proto(t) for key, t in response.outputs.items()}

    def predict(self, texts, text_pairs=None):
        """Texts (and pairs) -> one dict per text: probabilities, label_ids, labels (as returned)."""
        texts = list(texts)
        if text_pairs is not None and len(text_pairs) != len(texts):
            raise ServingError(f"{len(texts)} texts but {len(text_pairs)} text pairs")
        return [row for _, _, row in self.predict_iter(texts, text_pairs)]

    def predict_iter(self, texts, text_pairs=None):
        """Yields (text, text_pair or None, row) per text, a batch at a time, as replies arrive.

        ``texts`` (and ``text_pairs``) may be any iterables, e.g. a file read line by line:
        only one batch is held at a time.
        """
        pairs = iter(text_pairs) if text_pairs is not None else None
        texts = iter(texts)
        while True:
            batch = list(itertools.islice(texts, self.batch_size))
            batch_pairs = list(itertools.islice(pairs, len(batch))) if pairs is not None else None
            if batch_pairs is not None and len(batch_pairs) != len(batch):
                raise ServingError(
                    f"fewer text pairs than texts (a batch of {len(batch)} texts "
                    f"has "
                    f"{len(batch_pairs)} pairs)"
                )
            if not batch:
                if pairs is not None and next(pairs, None) is not None:
                    raise ServingError("more text pairs than texts")
                return
            inputs = {self.input_names[0]: batch}
            if batch_pairs is not None:
                inputs[self.input_names[1]] = batch_pairs
            rows = self._rows(self.predict_tensors(inputs), len(batch), self.required_output)
            for i, row in enumerate(rows):
                yield batch[i], (batch_pairs[i] if batch_pairs is not None else None), row

    @staticmethod
    def _rows(outputs, n, required="probabilities"):
        if required is None:
            required = next((name for name in PRIMARY_OUTPUTS if name in outputs), None)
            if required is None:
                raise ServingError(
                    f"malformed reply: none of the outputs "
                    f"{', '.join(PRIMARY_OUTPUTS)} "
                    f"(got {sorted(outputs) or 'none'})"
                )
        if required not in outputs:
            raise ServingError(
                f"malformed reply: no {required!r} output (got {sorted(outputs) or 'none'})"
            )
        value = np.asarray(outputs[required])
        if (
            value.ndim == 0
            or value.shape[0] != n
            or (
                required == "probabilities"
                and (value.ndim != 2 or value.dtype.kind != "f" or not np.all(np.isfinite(value)))
            )
        ):
            raise ServingError(
                f"malformed reply: {required!r} has shape {list(value.shape)} and dtype "
                f"{value.dtype}"
                + (
                    f", expected finite [{n}, C] float"
                    if required == "probabilities"
                    else f", expected {n} rows"
                )
            )
        # Outputs that are not one row per text (none of ours) are left out of the rows.
        batched = {
            k: np.asarray(v) for k, v in outputs.items() if np.ndim(v) and np.shape(v)[0] == n
        }
        return [{key: _to_python(value[i]) for key, value in batched.items()} for i in range(n)]

    def classify(self, texts, text_pairs=None):
        """gRPC Classify on ``serve_examples``: one list of (label, score) per text."""
        if self.rest:
            raise ServingError("Classify is a gRPC call here; use Predict over REST")
        texts = list(texts)
        results = []
        for start, end in _batches(len(texts), self.batch_size):
            request = classification_pb2.ClassificationRequest(
                model_spec=self._model_spec("serve_examples")
            )
            for i in range(start, end):
                features = {
                    "text": feature_pb2.Feature(
                        bytes_list=feature_pb2.BytesList(value=[_bytes(texts[i])])
                    )
                }
                if text_pairs is not None:
                    features["text_pair"] = feature_pb2.Feature(
                        bytes_list=feature_pb2.BytesList(value=[_bytes(text_pairs[i])])
                    )
                request.input.example_list.examples.add().CopyFrom(
                    example_pb2.Example(features=feature_pb2.Features(feature=features))
                )
            response = self._with_retries(
                lambda request=request: self._call(self.stub.Classify, request), "Classify"
            )
            classifications = response.result.classifications
            if len(classifications) != end - start:
                raise ServingError(
                    f"malformed reply: {len(classifications)} classifications for {end - start} texts"
                )
            results.extend([(c.label, c.score) for c in item.classes] for item in classifications)
        return results

    def metadata(self):
        """GetModelMetadata: {signature: {"method_name", "inputs": {name: dtype}, "outputs": {...}}}."""
        if self.rest:
            return self._rest_metadata()
        request = get_model_metadata_pb2.GetModelMetadataRequest(model_spec=self._model_spec())
        request.metadata_field.append("signature_def")
        response = self._with_retries(
            lambda: self._call(self.stub.GetModelMetadata, request), "GetModelMetadata"
        )
        if "signature_def" not in response.metadata:
            raise ServingError("malformed reply: GetModelMetadata has no signature_def")
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        if not response.metadata["signature_def"].Unpack(signature_map):
            raise ServingError("malformed reply: signature_def is not a SignatureDefMap")
        return {
            name: _describe_signature(sig)
            for name, sig in signature_map.signature_def.items()
            if not name.startswith("__")
        }

    # --- REST -------------------------------------------------------------------
    def _rest_url(self, verb=""):
        scheme = "https://" if self.ssl else "http://"
        base = self.server
        if not base.startswith(("http://", "https://")):
            base = scheme + base
        url = f"{base.rstrip('/')}/v1/models/{self.model_name}"
        if self.model_version is not None:
            url += f"/versions/{int(self.model_version)}"
        return url + verb

    def _ssl_context(self):
        if not url_is_https(self._rest_url()):
            return None
        try:
            context = ssl.create_default_context(cafile=self.root_certificates)
            if self.client_certificate:
                context.load_cert_chain(self.client_certificate, self.client_key)
        except (ssl.SSLError, OSError) as e:
            raise ServingError(f"cannot use the TLS certificates: {_one_line(e)}") from None
        return context

    def _rest_call(self, url, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", **dict(self.call_metadata)}
        context = self._ssl_context()
        delay = self.backoff
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(url, data=data, headers=headers)
            retry = False
            try:
                with urllib.request.urlopen(
                    request, timeout=self.timeout, context=context
                ) as reply:
                    payload = reply.read()
                break
            except urllib.error.HTTPError as e:
                message = _rest_error_message(e)
                if e.code in (503, 504) and attempt < self.retries:
                    retry = True
                elif e.code == 404:
                    raise ServingError(
                        f"model {self.model_name!r} not found on {self.server} (HTTP 404: {message})"
                    ) from None
                else:
                    raise ServingError(
                        f"REST call {url} failed (HTTP {e.code}): {message}"
                    ) from None
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                reason = getattr(e, "reason", e)
                if isinstance(reason, socket.gaierror):
                    raise ServingError(
                        f"cannot resolve the server address {self.server}: {_one_line(reason)}"
                    ) from None
                if isinstance(reason, ssl.SSLError):
                    raise ServingError(
                        f"TLS with {self.server} failed (not retried): {_one_line(reason)}"
                    ) from None
                timed_out = isinstance(reason, TimeoutError) or "timed out" in str(reason)
                if attempt < self.retries:
                    retry = True
                elif timed_out:
                    raise ServingError(
                        f"REST call to {self.server} got no reply within "
                        f"{self.timeout:g}s "
                        f"({attempt + 1} attempt(s))"
                    ) from None
                else:
                    raise ServingError(
                        f"server {self.server} unavailable after {attempt + 1} "
                        f"attempt(s): "
                        f"{_one_line(reason)}"
                    ) from None
            if retry:
                time.sleep(delay)
                delay *= 2
        try:
            return json.loads(payload)
        except ValueError:
            raise ServingError(
                f"malformed reply: REST reply from {self.server} is not JSON"
            ) from None

    def _rest_predict(self, inputs, signature_name):
        body = {
            "signature_name": signature_name,
            "inputs": {
                k: _to_python(np.asarray(v, dtype=object if _is_text(v) else None))
                for k, v in inputs.items()
            },
        }
        reply = self._rest_call(self._rest_url(":predict"), body)
        if (
            isinstance(reply, dict)
            and "outputs" not in reply
            and isinstance(reply.get("predictions"), list)
        ):
            reply = {
                "outputs": _columns(reply["predictions"])
            }  # a server that answers in row format
        if not isinstance(reply, dict) or "outputs" not in reply:
            raise ServingError("malformed reply: REST :predict reply has no 'outputs'")
        outputs = reply["outputs"]
        if not isinstance(outputs, dict):  # a single-output signature answers with the bare value
            outputs = {"output": outputs}
        try:
            return {k: np.asarray(v) for k, v in outputs.items()}
        except ValueError:
            raise ServingError("malformed reply: REST outputs are ragged") from None

    def _rest_metadata(self):
        reply = self._rest_call(self._rest_url("/metadata"))
        try:
            defs = reply["metadata"]["signature_def"]["signature_def"]
        except (KeyError, TypeError):
            raise ServingError("malformed reply: REST metadata has no signature_def") from None
        return {
            name: {
                "method_name": sig.get("method_name"),
                "inputs": {k: v.get("dtype") for k, v in sig.get("inputs", {}).items()},
                "outputs": {k: v.get("dtype") for k, v in sig.get("outputs", {}).items()},
            }
            for name, sig in defs.items()
            if not name.startswith("__")
        }


def url_is_https(url):
    return url.startswith("https://")


def _grpc_retryable(e, secure=False):
    """UNAVAILABLE / DEADLINE_EXCEEDED, unless the details say the address or TLS is wrong."""
    code = e.code() if hasattr(e, "code") else None
    if code not in RETRYABLE_CODES:
        return False
    details = e.details() if hasattr(e, "details") else str(e)
    return not _mentions(details, _DNS_FAILURE + _TLS_FAILURE + (_TLS_CLOSED if secure else ()))


def _mentions(details, words):
    text = str(details or "").lower()
    return any(word in text for word in words)


def _read_pem(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ServingError(f"cannot read the {what} file {path}: {e.strerror or e}") from None


def _check_metadata(metadata):
    """[(key, value)] -> a tuple with lowercase keys (gRPC rejects upper case).

    ServingError if malformed.
    """
    checked = []
    for item in metadata or ():
        if not isinstance(item, (tuple, list)) or len(item) != 2 or not item[0]:
            raise ServingError(f"metadata must be (key, value) pairs, got {item!r}")
        key, value = str(item[0]).strip().lower(), str(item[1])
        if not all(c.isalnum() or c in "-_." for c in key) or key.startswith(":"):
            raise ServingError(
                f"metadata key {key!r} may hold only letters, digits, '-', '_' and '.'"
            )
        if key.endswith("-bin"):
            raise ServingError(f"binary metadata ({key!r}) is not supported; send text values")
        checked.append((key, value))
    return tuple(checked)


def _columns(predictions):
    """Row-format predictions ([{name: value}, ...] or [value, ...]) -> {name: [values]}."""
    if predictions and all(isinstance(p, dict) for p in predictions):
        keys = set(predictions[0])
        if any(set(p) != keys for p in predictions):
            raise ServingError("malformed reply: REST predictions rows name different outputs")
        return {k: [p[k] for p in predictions] for k in keys}
    return {"output": predictions}


def _is_text(values):
    first = values
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, (str, bytes))


def _bytes(text):
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def _rest_error_message(e):
    try:
        body = e.read().decode("utf-8", errors="replace")
        return _one_line(json.loads(body).get("error", body))
    except Exception:  # the body is only decoration for the message
        return _one_line(e.reason)


def _describe_signature(sig: meta_graph_pb2.SignatureDef):
    def describe(tensors):
        return {k: types_pb2.DataType.Name(v.dtype) for k, v in tensors.items()}

    return {
        "method_name": sig.method_name,
        "inputs": describe(sig.inputs),
        "outputs": describe(sig.outputs),
    }
