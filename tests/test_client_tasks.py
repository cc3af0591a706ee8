"""bert-tf-client prints NER entities, QA answers, multi-label scores and regressions readably.

NER and QA: tiny exported models served by export.test_server (gRPC and REST), the client's
lines checked against what the SavedModel itself returns. Multi-label and regression: stand-in
servers answering in those exports' output format (``scores`` [B, L], ``classes`` [B, L],
``labels`` [B] "|"-joined; ``prediction`` [B]).
"""

import json
import os
import re
import subprocess
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from bert_tf import BertConfig, BertEncoder, BertSpanLabeler, BertTokenClassifier
from export.client import ServingClient
from tests.test_export import VOCAB

PY = sys.executable
ENV = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
NER_TEXTS = ["i love the good movie", "the film , not good !", "very very great film stuff"]
ENTITY_LINE = re.compile(r'^  (\S+) +("(?:[^"\\]|\\.)*")  \[(\d+), (\d+)\)  (\d+\.\d\d)$')
ANSWER_LINE = re.compile(r'^A: ("(?:[^"\\]|\\.)*")  \[(\d+), (\d+)\)  (\S+)$')


def _config():
    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import keras

    from bert_tf.checkpoints import save_task_model
    from export.exporter import export_task_folder
    from export.test_server import ModelRegistry, serve_grpc, serve_rest

    root = tmp_path_factory.mktemp("tasks")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    keras.utils.set_random_seed(3)
    ner = BertTokenClassifier(BertEncoder(_config()), num_classes=len(NER_LABELS))
    ner.classifier.kernel.assign(
        np.random.default_rng(3).normal(0, 3.0, ner.classifier.kernel.shape).astype("float32")
    )
    save_task_model(
        ner,
        str(root / "ner_model"),
        {
            "task": "token_classification",
            "task_config": {"num_classes": len(NER_LABELS)},
            "labels": NER_LABELS,
            "preprocessor": {"sequence_length": 12, "text_pair": False},
        },
        vocab_file=str(vocab),
        lowercase=True,
    )
    save_task_model(
        BertSpanLabeler(BertEncoder(_config())),
        str(root / "qa_model"),
        {
            "task": "question_answering",
            "task_config": {},
            "labels": None,
            "preprocessor": {"sequence_length": 16, "text_pair": True},
        },
        vocab_file=str(vocab),
        lowercase=True,
    )
    export_task_folder(str(root / "ner_model"), str(root / "serving"), "ner")
    export_task_folder(str(root / "qa_model"), str(root / "serving"), "qa")
    registry = ModelRegistry()
    registry.add_base(str(root / "serving"), "ner")
    registry.add_base(str(root / "serving"), "qa")
    grpc_server, grpc_port = serve_grpc(registry)
    rest_server, rest_port = serve_rest(registry)
    yield {"grpc": f"127.0.0.1:{grpc_port}", "rest": f"127.0.0.1:{rest_port}", "registry": registry}
    grpc_server.stop(None)
    rest_server.shutdown()
    registry.close()


def _client_cli(*args):
    return subprocess.run(
        [PY, "-m", "export.client_cli", "--timeout=60", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=180,
    )


def _blocks(stdout, header_prefix=""):
    """Readable output -> [(header line, [indented lines])]."""
    blocks = []
    for line in stdout.splitlines():
        if line.startswith("  "):
            blocks[-1][1].append(line)
        else:
            blocks.append(
                (line[len(header_prefix) :] if line.startswith(header_prefix) else line, [])
            )
    return blocks


def test_ner_entities_are_printed_readably(served):
    """gRPC, readable lines; REST, JSON lines (every output)."""
    _, loaded = served["registry"].get("ner")
    direct = loaded.run("serving_default", {"text": np.array(NER_TEXTS, dtype=object)})
    texts = [f"--text={t}" for t in NER_TEXTS]
    result = _client_cli(f"--server={served['grpc']}", "--model_name=ner", *texts)
    assert result.returncode == 0, result.stderr
    blocks = _blocks(result.stdout)
    assert [header for header, _ in blocks] == NER_TEXTS
    total = 0
    for i, (text, lines) in enumerate(blocks):
        n = int(direct["num_entities"][i])
        total += n
        if n == 0:
            assert lines == ["  (no entities)"]
            continue
        assert len(lines) == n, lines
        for j, line in enumerate(lines):
            match = ENTITY_LINE.match(line)
            assert match, line
            kind, span, start, end, score = match.groups()
            start, end = int(start), int(end)
            assert kind == direct["entity_types"][i][j].decode()
            assert json.loads(span) == direct["entity_texts"][i][j].decode() == text[start:end]
            assert (start, end) == (direct["entity_starts"][i][j], direct["entity_ends"][i][j])
            assert float(score) == pytest.approx(float(direct["entity_scores"][i][j]), abs=0.005)
    assert total > 0  # the random tagger finds entities in these texts
    # --format=json keeps every output, one line per text.
    result = _client_cli(
        f"--server={served['rest']}", "--rest", "--model_name=ner", *texts, "--format=json"
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["num_entities"] for r in rows] == list(direct["num_entities"])
    assert [r["text"] for r in rows] == NER_TEXTS and all("word_labels" in r for r in rows)


@pytest.mark.parametrize("rest", [False, True])
def test_qa_answers_are_printed_readably_with_question_and_context_flags(served, rest):
    questions = ["what is good ?", "which film ?", "good ?"]
    contexts = ["the good movie is very great", "i love the film , not the movie", "the movie"]
    _, loaded = served["registry"].get("qa")
    direct = loaded.run(
        "serving_default",
        {
            "question": np.array(questions, dtype=object),
            "context": np.array(contexts, dtype=object),
        },
    )
    result = _client_cli(
        f"--server={served['rest' if rest else 'grpc']}",
        "--model_name=qa",
        *[f"--question={q}" for q in questions],
        *[f"--context={c}" for c in contexts],
        *(["--rest"] if rest else []),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0::2] == [f"Q: {q}" for q in questions]
    answered = 0
    for i, line in enumerate(lines[1::2]):
        if direct["answer_text"][i] == b"":
            assert line == f"A: (no answer)  {float(direct['score'][i]):.4g}"
            continue
        assert line.endswith("  (no_answer)") == bool(direct["no_answer"][i])
        line = line.replace("  (no_answer)", "")
        match = ANSWER_LINE.match(line)
        assert match, line
        answer, start, end, score = match.groups()
        start, end = int(start), int(end)
        assert json.loads(answer) == direct["answer_text"][i].decode() == contexts[i][start:end]
        assert (start, end) == (direct["answer_start"][i], direct["answer_end"][i])
        assert float(score) == pytest.approx(float(direct["score"][i]), rel=1e-3, abs=1e-3)
        answered += 1
    assert answered > 0


def test_qa_questions_and_contexts_from_a_file(served, tmp_path):
    path = tmp_path / "qa.tsv"
    path.write_text(
        "what is good ?\tthe good movie is very great\nwhich ?\tthe film\n", encoding="utf-8"
    )
    result = _client_cli(
        f"--server={served['grpc']}",
        "--model_name=qa",
        "--input_names=question,context",
        f"--input_file={path}",
        "--format=json",
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["question"], r["context"]) for r in rows] == [
        ("what is good ?", "the good movie is very great"),
        ("which ?", "the film"),
    ]
    assert all(r["answer_text"] == r["context"][r["answer_start"] : r["answer_end"]] for r in rows)


# --- multi-label and regression: stand-in servers in those exports' output format ----------
LABELS = ["sports", "politics", "tech"]


def _multi_label_outputs(n):
    scores = np.tile(np.array([[0.91, 0.12, 0.55]], np.float32), (n, 1))
    return {
        "scores": scores,
        "classes": np.array([LABELS] * n, dtype=object),
        "labels": np.array(["sports|tech"] * n, dtype=object),
    }


def _regression_outputs(n):
    return {"prediction": np.arange(n, dtype=np.float32) + 0.25}


class TaskServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, outputs):
        self.outputs = outputs

    def Predict(self, request, context):
        n = tf.make_ndarray(request.inputs["text"]).shape[0]
        response = predict_pb2.PredictResponse()
        for key, value in self.outputs(n).items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response


def _rest_server(outputs):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            reply = {
                k: (
                    v.tolist()
                    if v.dtype != object
                    else [x if isinstance(x, str) else list(x) for x in v]
                )
                for k, v in outputs(len(body["inputs"]["text"])).items()
            }
            data = json.dumps({"outputs": reply}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("task,rest", [("multi_label", False), ("regression", True)])
def test_multi_label_and_regression_are_printed_readably(task, rest):
    outputs = _multi_label_outputs if task == "multi_label" else _regression_outputs
    if rest:
        server, address = _rest_server(outputs)
    else:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            TaskServicer(outputs), server
        )
        address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
        server.start()
    try:
        rows = ServingClient(address, "m", rest=rest, required_output=None).predict(["a", "b"])
        other = (
            _rest_server(outputs) if not rest else None
        )  # the library over the other protocol too
        if other is not None:
            assert (
                ServingClient(other[1], "m", rest=True, required_output=None).predict(["a", "b"])
                == rows
            )
            other[0].shutdown()
        result = _client_cli(
            f"--server={address}",
            "--model_name=m",
            "--text=great match",
            "--text=new phone",
            *(["--rest"] if rest else []),
        )
    finally:
        server.shutdown() if rest else server.stop(None)
    assert result.returncode == 0, result.stderr
    if task == "multi_label":
        assert rows[0]["classes"] == LABELS and rows[0]["labels"] == "sports|tech"
        assert result.stdout.splitlines()[:4] == [
            "great match",
            "  sports    0.91  *",
            "  politics  0.12",
            "  tech      0.55  *",
        ]
        assert len(result.stdout.splitlines()) == 8
    else:
        assert [r["prediction"] for r in rows] == [0.25, 1.25]
        assert result.stdout.splitlines() == ["0.25\tgreat match", "1.25\tnew phone"]
