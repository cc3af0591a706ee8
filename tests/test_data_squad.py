"""SQuAD v1.1 / v2.0: reading, doc-stride windows, answer span mapping, postprocessing round trip."""

import json

import numpy as np
import pytest

from bert_tf.data import DataError
from bert_tf.data.squad import postprocess_predictions, read_squad, squad_dataset
from tests.test_data_readers import make_preprocessor, write

CONTEXT_1 = "Zo\u00eb was born in Paris. She works for Acme Corp in New York."
CONTEXT_2 = (
    "The film is very good. The plot is not bad. John did not play in it. "
    "The city of the film is Paris, and the plot was unbelievable."
)


def squad_json(version_2):
    qas1 = [
        {
            "id": "q1",
            "question": "Where was Zo\u00eb born?",
            "answers": [{"text": "Paris", "answer_start": CONTEXT_1.index("Paris")}],
        },
        {
            "id": "q2",
            "question": "Who does she work for?",
            "answers": [
                {"text": "Acme Corp", "answer_start": CONTEXT_1.index("Acme")},
                {"text": "Acme", "answer_start": CONTEXT_1.index("Acme")},
            ],
        },
    ]
    qas2 = [
        {
            "id": "q3",
            "question": "What city is the film?",
            "answers": [{"text": "Paris", "answer_start": CONTEXT_2.index("Paris")}],
        }
    ]
    if version_2:
        for qa in qas1 + qas2:
            qa["is_impossible"] = False
        qas2.append(
            {
                "id": "q4",
                "question": "Who did play?",
                "answers": [],
                "is_impossible": True,
                "plausible_answers": [{"text": "John", "answer_start": CONTEXT_2.index("John")}],
            }
        )
    data = {
        "version": "v2.0" if version_2 else "1.1",
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {"context": CONTEXT_1, "qas": qas1},
                    {"context": CONTEXT_2, "qas": qas2},
                ],
            }
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1)


@pytest.fixture(scope="module")
def preprocessor(tmp_path_factory):
    return make_preprocessor(tmp_path_factory.mktemp("vocab"), sequence_length=24)


def test_reads_v1_and_v2(tmp_path):
    examples, v2 = read_squad(write(tmp_path / "v1.json", squad_json(False)))
    assert not v2 and [e.qid for e in examples] == ["q1", "q2", "q3"]
    assert examples[1].answers[0] == {"text": "Acme Corp", "answer_start": 37}
    examples, v2 = read_squad(write(tmp_path / "v2.json", squad_json(True)))
    assert v2 and examples[3].is_impossible and examples[3].answers == []


def test_bad_files_are_clear_errors(tmp_path):
    bad = json.loads(squad_json(False))
    bad["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] = 36
    path = write(tmp_path / "bad.json", json.dumps(bad))
    with pytest.raises(
        DataError,
        match=r"bad\.json: data\[0\]\.paragraphs\[0\]\.qas\[1\] \(id q2\): "
        r"answer 'Acme Corp' is not at answer_start 36",
    ):
        read_squad(path)
    examples, _ = read_squad(path, skip_invalid=True)
    assert [e.qid for e in examples] == ["q1", "q3"]
    with pytest.raises(DataError, match=r"broken\.json:2: invalid JSON"):
        read_squad(write(tmp_path / "broken.json", '{"data":\n [,]}'))
    with pytest.raises(DataError, match="no questions found"):
        read_squad(write(tmp_path / "empty.json", '{"data": []}'))


def test_answer_start_minus_one_dropped_and_utf16_offsets_repaired(tmp_path, caplog):
    context = "\U0001f600 emoji first, then Paris and Rome."
    data = {
        "version": "v1.0",
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": "a",
                                "question": "where?",
                                "answers": [
                                    {"text": "Paris", "answer_start": -1},
                                    {"text": "Rome", "answer_start": context.index("Rome")},
                                ],
                            },
                            {
                                "id": "b",
                                "question": "none?",
                                "answers": [{"text": "Oslo", "answer_start": -1}],
                            },
                            {
                                "id": "c",
                                "question": "utf16?",
                                "answers": [  # a UTF-16 offset: the emoji counts twice
                                    {"text": "Paris", "answer_start": context.index("Paris") + 1}
                                ],
                            },
                        ],
                    }
                ],
            }
        ],
    }
    with caplog.at_level("WARNING"):
        examples, _ = read_squad(write(tmp_path / "cmrc.json", json.dumps(data)))
    assert [(e.qid, e.answers) for e in examples] == [
        ("a", [{"text": "Rome", "answer_start": context.index("Rome")}]),
        ("c", [{"text": "Paris", "answer_start": context.index("Paris")}]),
    ]
    assert (
        "dropped 2 answer(s) with answer_start -1 (and 1 question(s) left without an answer)"
        in caplog.text
    )
    assert "1 answer_start(s) counted UTF-16 code units" in caplog.text


def _answer_tokens(features, squad, preprocessor, fi):
    f = squad.features[fi]
    vocab = preprocessor.tokenizer.vocabulary
    return [vocab[i] for i in f.token_ids[f.start_position : f.end_position + 1]]


def test_windows_and_span_mapping(tmp_path, preprocessor):
    ds, squad = squad_dataset(
        write(tmp_path / "v2.json", squad_json(True)),
        preprocessor,
        batch_size=4,
        max_query_length=8,
        doc_stride=6,
        bucket=False,
        return_feature_index=True,
    )
    feats = squad.features

    def by_q(qid):
        return [i for i, f in enumerate(feats) if squad.examples[f.example_index].qid == qid]

    # the long paragraph is cut into several overlapping windows of at most 24 tokens
    assert len(by_q("q3")) > 2 and all(len(feats[i].token_ids) <= 24 for i in range(len(feats)))
    # q3's answer "Paris" is in exactly the windows that hold it; others point at [CLS]
    hits = [i for i in by_q("q3") if feats[i].start_position > 0]
    assert hits and all(_answer_tokens(None, squad, preprocessor, i) == ["paris"] for i in hits)
    assert all(
        feats[i].start_position == feats[i].end_position == 0 for i in by_q("q4")
    )  # unanswerable
    q2 = [i for i in by_q("q2") if feats[i].start_position > 0]
    assert _answer_tokens(None, squad, preprocessor, q2[0]) == ["acme", "corp"]
    # the tensors agree with the metadata
    for features, labels, index in ds:
        for row, fi in enumerate(index.numpy()):
            f = feats[fi]
            assert features["token_ids"].numpy()[row][: len(f.token_ids)].tolist() == f.token_ids
            assert features["padding_mask"].numpy()[row].sum() == len(f.token_ids)
            assert labels["start_logits"].numpy()[row] == f.start_position
            assert labels["end_logits"].numpy()[row] == f.end_position
            assert f.segment_ids.index(1) == f.token_ids.index(preprocessor.tokenizer.sep_id) + 1


@pytest.mark.parametrize("version_2", [False, True])
def test_round_trip_predicted_positions_to_answer_text(tmp_path, preprocessor, version_2):
    ds, squad = squad_dataset(
        write(tmp_path / "d.json", squad_json(version_2)),
        preprocessor,
        batch_size=3,
        max_query_length=8,
        doc_stride=6,
        shuffle=True,
        seed=0,
        return_feature_index=True,
    )
    indices, starts, ends = [], [], []
    for features, labels, index in ds:  # "perfect" logits: the labelled positions win
        t = features["token_ids"].shape[1]
        for row, fi in enumerate(index.numpy()):
            s, e = np.full(t, -5.0), np.full(t, -5.0)
            s[labels["start_logits"].numpy()[row]] += 10
            e[labels["end_logits"].numpy()[row]] += 10
            indices.append(fi), starts.append(s), ends.append(e)
    answers = postprocess_predictions(squad, indices, starts, ends)
    expected = {"q1": "Paris", "q2": "Acme Corp", "q3": "Paris"}
    if version_2:
        expected["q4"] = ""
    assert answers == expected
    # answer text is cut from the original context (accents and case kept): logits pointing at the
    # piece(s) of "Zoë" (the model sees "zoe") answer "Zoë"
    (q1,) = [i for i, e in enumerate(squad.examples) if e.qid == "q1"]
    features = [(fi, f) for fi, f in enumerate(squad.features) if f.example_index == q1]
    fi, f = next(
        (fi, f) for fi, f in features if any(span[0] == 0 for span in f.token_to_char.values())
    )
    first = min(p for p, span in f.token_to_char.items() if span[0] == 0)
    last = max(p for p, span in f.token_to_char.items() if span[1] <= 3)
    s, e = np.full(len(f.token_ids), -5.0), np.full(len(f.token_ids), -5.0)
    s[first], e[last] = 10.0, 10.0
    assert postprocess_predictions(squad, [fi], [s], [e])["q1"] == "Zo\u00eb"


def test_answer_after_multibyte_characters_and_max_answer_length(tmp_path, preprocessor):
    context = "Caf\u00e9 \u00e9t\u00e9 Zo\u00eb: the city is New York."
    start = context.index("New York")
    data = {
        "data": [
            {
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": "x",
                                "question": "Which city?",
                                "answers": [{"text": "New York", "answer_start": start}],
                            }
                        ],
                    }
                ]
            }
        ]
    }
    _, squad = squad_dataset(
        write(tmp_path / "m.json", json.dumps(data)), preprocessor, batch_size=2, max_seq_length=48
    )
    (f,) = squad.features
    assert _answer_tokens(None, squad, preprocessor, 0) == ["new", "york"]
    assert (
        context[f.token_to_char[f.start_position][0] : f.token_to_char[f.end_position][1]]
        == "New York"
    )
    s, e = np.zeros(len(f.token_ids)), np.zeros(len(f.token_ids))
    s[f.start_position] = e[f.end_position] = 10.0
    assert postprocess_predictions(squad, [0], [s], [e]) == {"x": "New York"}
    assert postprocess_predictions(squad, [0], [s], [e], max_answer_length=1) != {"x": "New York"}


@pytest.mark.integration
def test_fits_a_span_labeler_and_predicts_answer_text(tmp_path, preprocessor):
    import keras

    from bert_tf import BertConfig, BertEncoder, BertSpanLabeler
    from bert_tf.data import predict_answers

    ds, squad = squad_dataset(
        write(tmp_path / "v2.json", squad_json(True)),
        preprocessor,
        batch_size=4,
        max_query_length=8,
        doc_stride=6,
    )
    config = BertConfig(
        vocab_size=preprocessor.tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=24,
    )
    keras.utils.set_random_seed(0)
    model = BertSpanLabeler(BertEncoder(config))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss={"start_logits": loss, "end_logits": loss})
    history = model.fit(ds, epochs=40, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]
    # Trained on these four questions, it answers them (chance: one span out of dozens per window).
    answers = predict_answers(model, squad, batch_size=3)
    assert answers == {"q1": "Paris", "q2": "Acme Corp", "q3": "Paris", "q4": ""}
