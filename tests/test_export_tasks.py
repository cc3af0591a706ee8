"""Task-specific exports: token classification (NER entities with offsets) and sentence embedders.

Loaded through the TF1 session loader as TF Serving loads them (see test_export.py).
"""

import os
import re

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import BertConfig, BertEncoder, BertTokenClassifier
from tests.test_export import HOSTILE, VOCAB

NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
TEXTS = [
    "i love the good movie",
    "the film , not good !",
    "",
    "very very great film stuff xx",
    "Caf\u00e9 中文 the movies",
    "  the   good\tmovie  ",
]
# Several windows of sequence_length 10 (8 pieces, stride 5); punctuation glued to a word.
LONG_TEXTS = [
    "i love the good movie , it was very great ! " * 4 + "the film is bad.Awful",
    "the\u3000film 中文x good ! " * 3,
]


def _config():
    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=24,
    )


def _vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def ner(tmp_path_factory):
    import keras

    from bert_tf.checkpoints import save_task_model
    from export.exporter import export_task_folder, load_task_folder
    from export.test_server import LoadedVersion

    root = tmp_path_factory.mktemp("ner")
    keras.utils.set_random_seed(3)
    model = BertTokenClassifier(BertEncoder(_config()), num_classes=len(NER_LABELS))
    kernel = model.classifier.kernel
    kernel.assign(np.random.default_rng(3).normal(0, 3.0, kernel.shape).astype("float32"))
    model_dir = str(root / "model")
    save_task_model(
        model,
        model_dir,
        {
            "task": "token_classification",
            "task_config": {"num_classes": len(NER_LABELS)},
            "labels": NER_LABELS,
            "preprocessor": {"sequence_length": 10, "text_pair": False},
        },
        vocab_file=_vocab(root),
        lowercase=True,
    )
    path = export_task_folder(model_dir, str(root / "serving"), "ner")
    loaded = LoadedVersion(path)
    model, preprocessor, _ = load_task_folder(model_dir)
    yield {"path": path, "loaded": loaded, "model": model, "preprocessor": preprocessor}
    loaded.close()


def _is_cjk(ch):
    return 0x4E00 <= ord(ch) <= 0x9FFF or 0x3400 <= ord(ch) <= 0x4DBF or 0xF900 <= ord(ch) <= 0xFAFF


def _python_words(text):
    """Whitespace-separated words, each CJK ideograph alone: [(char_start, char_end)]."""
    words = []
    for match in re.finditer(r"\S+", text):
        start = match.start()
        for i in range(match.start(), match.end()):
            if _is_cjk(text[i]):
                if start < i:
                    words.append((start, i))
                words.append((i, i + 1))
                start = i + 1
        if start < match.end():
            words.append((start, match.end()))
    return words


def _reference_entities(model, preprocessor, text, sequence_length=10):
    """Python reference: BERT doc-span windows, max-context first-piece word labels, BIO merge."""
    tokenizer = preprocessor.tokenizer
    room, stride = sequence_length - 2, sequence_length // 2
    words = _python_words(text)
    pieces = [tokenizer(tf.constant([text[s:e]]))[0].numpy().tolist() for s, e in words]
    flat = [p for ps in pieces for p in ps]
    spans, start = [], 0
    while start < len(flat):
        length = min(len(flat) - start, room)
        spans.append((start, length))
        if start + length == len(flat):
            break
        start += min(length, stride)
    window_probs = []
    for start, length in spans:
        window = tf.ragged.constant([flat[start : start + length]], dtype=tf.int32)
        features = preprocessor.pack([window])
        window_probs.append(tf.nn.softmax(model(features, training=False)[0]).numpy())  # [T, C]
    labelled, at = [], 0  # [start_char, end_char, label, best]
    for (s, e), ps in zip(words, pieces):
        if not ps:
            labelled.append([s, e, "O", 0.0])
            continue
        best = None
        for k, (start, length) in enumerate(spans):
            if start <= at < start + length:
                score = min(at - start, start + length - 1 - at) + 0.01 * length
                if best is None or score > best[0]:
                    best = (score, window_probs[k][at - start + 1])
        labelled.append([s, e, NER_LABELS[best[1].argmax()], float(best[1].max())])
        at += len(ps)
    entities, previous = [], "O"
    for start, end, label, best in labelled:
        kind = label[2:] if label[:2] in ("B-", "I-") else label
        if label == "O":
            previous = "O"
            continue
        if label.startswith("B-") or previous == "O" or previous != kind:
            entities.append([kind, start, end, [best]])
        else:
            entities[-1][2] = end
            entities[-1][3].append(best)
        previous = kind
    word_view = [(label, s, e) for s, e, label, _ in labelled]
    return [(kind, text[s:e], s, e, float(np.mean(b))) for kind, s, e, b in entities], word_view


def test_ner_entities_match_a_python_reference(ner):
    texts = TEXTS + LONG_TEXTS
    out = ner["loaded"].run("serving_default", {"text": np.array(texts, dtype=object)})
    seen = 0
    for row, text in enumerate(texts):
        expected, words = _reference_entities(ner["model"], ner["preprocessor"], text)
        n = int(out["num_entities"][row])
        got = [
            (
                out["entity_types"][row, k].decode(),
                out["entity_texts"][row, k].decode(),
                int(out["entity_starts"][row, k]),
                int(out["entity_ends"][row, k]),
                float(out["entity_scores"][row, k]),
            )
            for k in range(n)
        ]
        assert [g[:4] for g in got] == [e[:4] for e in expected], text
        np.testing.assert_allclose([g[4] for g in got], [e[4] for e in expected], atol=1e-5)
        for _kind, entity_text, start, end, _ in got:
            assert text[start:end] == entity_text  # character offsets index the input string
        got_words = [
            (
                out["word_labels"][row, k].decode(),
                int(out["word_starts"][row, k]),
                int(out["word_ends"][row, k]),
            )
            for k in range(len(words))
        ]
        assert got_words == words
        seen += n
    assert seen >= 3  # the random head does produce entities to compare
    assert out["word_labels"].shape[1] == len(LONG_TEXTS[0].split())  # every word of the long text
    assert max(out["entity_ends"][len(TEXTS)]) > 100  # entities from later windows too


def test_ner_hostile_and_empty(ner):
    loaded = ner["loaded"]
    out = loaded.run("serving_default", {"text": np.array(HOSTILE, dtype=object)})
    assert out["num_entities"].shape == (len(HOSTILE),)
    assert np.all(np.isfinite(out["entity_scores"]))
    out = loaded.run("serving_default", {"text": np.array([], dtype=object)})
    assert out["num_entities"].shape == (0,) and out["entity_types"].shape[0] == 0


def test_ner_export_ops(ner):
    from export.op_check import check_ops

    check_ops(ner["path"])


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    import keras

    from export.exporter import export_task_folder
    from export.test_server import LoadedVersion

    root = tmp_path_factory.mktemp("embedder")
    keras.utils.set_random_seed(4)
    folder = str(root / "encoder")
    BertEncoder(_config()).save_pretrained(folder, vocab_file=_vocab(root), lowercase=True)
    path = export_task_folder(folder, str(root / "serving"), "embed", sequence_length=16)
    loaded = LoadedVersion(path)
    yield {"folder": folder, "path": path, "loaded": loaded}
    loaded.close()


def test_embedder_export_matches_bert_text_embedder(embedder):
    from bert_tf.models.bert_text_embedder import BertTextEmbedder
    from export.op_check import check_ops

    reference = BertTextEmbedder.from_pretrained(embedder["folder"], sequence_length=16)
    expected = reference(tf.constant(TEXTS)).numpy()
    out = embedder["loaded"].run("serving_default", {"text": np.array(TEXTS, dtype=object)})
    np.testing.assert_allclose(out["embeddings"], expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out["embeddings"], axis=-1), 1.0, atol=1e-5)
    assert embedder["loaded"].run("serving_default", {"text": np.array([], dtype=object)})[
        "embeddings"
    ].shape == (0, 32)
    hostile = embedder["loaded"].run("serving_default", {"text": np.array(HOSTILE, dtype=object)})[
        "embeddings"
    ]
    assert hostile.shape == (len(HOSTILE), 32) and np.all(np.isfinite(hostile))
    check_ops(embedder["path"])
    assert os.path.exists(
        os.path.join(embedder["path"], "assets.extra", "tf_serving_warmup_requests")
    )


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    import keras

    from bert_tf import BertSpanLabeler
    from bert_tf.checkpoints import save_task_model
    from export.exporter import export_task_folder, load_task_folder
    from export.test_server import LoadedVersion

    root = tmp_path_factory.mktemp("qa")
    keras.utils.set_random_seed(5)
    model = BertSpanLabeler(BertEncoder(_config()))
    kernel = model.classifier.kernel
    kernel.assign(np.random.default_rng(5).normal(0, 3.0, kernel.shape).astype("float32"))
    model_dir = str(root / "model")
    save_task_model(
        model,
        model_dir,
        {
            "task": "question_answering",
            "task_config": {},
            "labels": None,
            "preprocessor": {"sequence_length": 16, "text_pair": True},
        },
        vocab_file=_vocab(root),
        lowercase=True,
    )
    path = export_task_folder(model_dir, str(root / "serving"), "qa")
    loaded = LoadedVersion(path)
    model, preprocessor, _ = load_task_folder(model_dir)
    yield {"path": path, "loaded": loaded, "model": model, "preprocessor": preprocessor}
    loaded.close()


def _reference_answer(model, preprocessor, question, context):
    """Python reference: training's windows (build_features) + postprocess_predictions."""
    from bert_tf.data.squad import (
        SquadExample,
        SquadFeatures,
        build_features,
        postprocess_predictions,
    )

    example = SquadExample("q", question, context, [])
    try:
        features = build_features(
            [example], preprocessor.tokenizer, 16, max_query_length=64, doc_stride=128
        )
    except ValueError:  # the question leaves no room for the context
        return "", 1
    ids = np.zeros([len(features), 16], "int32")
    segments, mask = np.zeros_like(ids), np.zeros_like(ids)
    for i, f in enumerate(features):
        n = len(f.token_ids)
        ids[i, :n], segments[i, :n], mask[i, :n] = f.token_ids, f.segment_ids, 1
    out = model({"token_ids": ids, "segment_ids": segments, "padding_mask": mask}, training=False)
    squad = SquadFeatures("", [example], features, False, max_seq_length=16)
    answers = postprocess_predictions(
        squad, list(range(len(features))), out["start_logits"].numpy(), out["end_logits"].numpy()
    )
    return answers["q"], len(features)


def test_qa_answers_match_a_python_reference(qa):
    questions = [
        "what is good ?",
        "who",
        "",
        "the film the film the film the film the film the film the film",
        "what ?",
    ]
    contexts = [
        "i love the good movie , it is great",
        "Caf\u00e9 中文 the movies were awful",
        "the film",
        "very good film",
        "the good movie is not a bad film , i love it . " * 4,
    ]
    out = qa["loaded"].run(
        "serving_default",
        {
            "question": np.array(questions, dtype=object),
            "context": np.array(contexts, dtype=object),
        },
    )
    windows = []
    for i, (question, context) in enumerate(zip(questions, contexts)):
        text, num_windows = _reference_answer(qa["model"], qa["preprocessor"], question, context)
        windows.append(num_windows)
        assert out["answer_text"][i].decode() == text, (question, context)
        start, end = int(out["answer_start"][i]), int(out["answer_end"][i])
        assert context[start:end] == text if text else (start, end) == (-1, -1)
    assert out["no_answer"][3]  # the long question leaves no room for the context
    assert windows[-1] >= 4  # the last context spans several windows


def test_qa_hostile_empty_and_ops(qa):
    from export.op_check import check_ops
    from export.warmup import read_warmup_requests

    loaded = qa["loaded"]
    batch = np.array(HOSTILE, dtype=object)
    out = loaded.run("serving_default", {"question": batch, "context": batch[::-1]})
    assert out["answer_text"].shape == (len(HOSTILE),) and np.all(np.isfinite(out["null_score"]))
    empty = np.array([], dtype=object)
    assert loaded.run("serving_default", {"question": empty, "context": empty})[
        "answer_text"
    ].shape == (0,)
    check_ops(qa["path"])
    for log in read_warmup_requests(qa["path"]):  # warm-up requests name this signature's inputs
        inputs = {k: tf.make_ndarray(v) for k, v in log.predict_log.request.inputs.items()}
        loaded.run("serving_default", inputs)
