"""SpanDecoder (the in-graph QA windows + decoding) against the Python path training and the
reference postprocessing use: bert_tf.data.squad.build_features and postprocess_predictions."""

import numpy as np
import pytest
import tensorflow as tf

from bert_tf.data.span_decoder import SpanDecoder
from bert_tf.data.squad import SquadExample, SquadFeatures, build_features, postprocess_predictions
from bert_tf.text import BertTokenizer

WORDS = [
    "the",
    "a",
    "film",
    "movie",
    "zo\u00eb",
    "caf\u00e9",
    "is",
    "was",
    "good",
    "bad",
    "paris",
    "new",
    "york",
    "play",
    "##ing",
    "##s",
    "中",
    "文",
    ".",
    ",",
    "?",
    "!",
]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
SURFACE = [
    "the",
    "A",
    "film",
    "movies",
    "Zo\u00eb",
    "Caf\u00e9",
    "is",
    "was",
    "good",
    "bad",
    "Paris",
    "playing",
    "中文",
    ".",
    ",",
    "?",
    "!",
    "xyz",
    "New",
    "York",
    "\U0001f600",
]
SEQ = 20


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return BertTokenizer(str(path), lowercase=True)


def _random_examples(seed, n=14):
    rng = np.random.default_rng(seed)
    examples = []
    for i in range(n):
        words = rng.choice(SURFACE, size=int(rng.integers(0, 45)))
        context = " ".join(words) if i % 5 else "".join(words)  # some glued, some spaced
        if not context.strip():
            context = "x"
        question = " ".join(rng.choice(SURFACE, size=int(rng.integers(1, 10))))
        examples.append(SquadExample(f"q{i}", question, context, []))
    return examples


def _decoder_and_reference(tokenizer, examples, seed, version_2, **options):
    decoder = SpanDecoder(
        tokenizer, sequence_length=SEQ, version_2_with_negative=version_2, **options
    )
    windows = decoder.windows(
        tf.constant([e.question for e in examples]), tf.constant([e.context for e in examples])
    )
    features = build_features(
        examples, tokenizer, SEQ, decoder.max_query_length, decoder.doc_stride
    )
    ids = windows["features"]["token_ids"].numpy()
    mask = windows["features"]["padding_mask"].numpy()
    segments = windows["features"]["segment_ids"].numpy()
    # Same windows, in the same order, as training builds them.
    assert len(ids) == len(features)
    for row, feature in enumerate(features):
        n = len(feature.token_ids)
        assert ids[row, :n].tolist() == feature.token_ids and mask[row].sum() == n
        assert segments[row, :n].tolist() == feature.segment_ids and not ids[row, n:].any()
        assert windows["example"][row] == feature.example_index
    rng = np.random.default_rng(seed)
    start = rng.normal(0, 2, ids.shape).astype("float32") - 1e9 * (1 - mask)
    end = rng.normal(0, 2, ids.shape).astype("float32") - 1e9 * (1 - mask)
    start[:, 0] += rng.uniform(0, 4, len(ids)).astype("float32")  # null scores that sometimes win
    end[:, 0] += rng.uniform(0, 4, len(ids)).astype("float32")
    out = decoder.decode(windows, start, end)
    squad = SquadFeatures("", examples, features, version_2, max_seq_length=SEQ)
    reference = postprocess_predictions(
        squad,
        list(range(len(features))),
        start,
        end,
        n_best_size=decoder.n_best_size,
        max_answer_length=decoder.max_answer_length,
        null_score_diff_threshold=decoder.null_score_diff_threshold,
        version_2_with_negative=version_2,
    )
    return out, reference, features


@pytest.mark.parametrize(
    "seed,version_2,options",
    [
        (0, False, dict(doc_stride=4, max_query_length=6)),
        (1, False, dict(doc_stride=3, max_query_length=5, max_answer_length=3, n_best_size=5)),
        (2, True, dict(doc_stride=5, max_query_length=4, null_score_diff_threshold=0.0)),
        (
            3,
            True,
            dict(doc_stride=20, max_query_length=8, null_score_diff_threshold=-1.5, n_best_size=3),
        ),
    ],
)
def test_in_graph_decoding_equals_postprocess_predictions(tokenizer, seed, version_2, options):
    examples = _random_examples(seed)
    out, reference, features = _decoder_and_reference(
        tokenizer, examples, seed, version_2, **options
    )
    windows_per_example = np.bincount([f.example_index for f in features], minlength=len(examples))
    assert windows_per_example.max() >= 4  # contexts span several windows
    assert out["num_windows"].numpy().tolist() == windows_per_example.tolist()
    texts = [t.decode("utf-8") for t in out["answer_text"].numpy()]
    assert texts == [reference[e.qid] for e in examples]
    for i, example in enumerate(examples):
        s, e = int(out["answer_start"][i]), int(out["answer_end"][i])
        if texts[i]:
            assert example.context[s:e] == texts[i]  # character offsets, also past 😀 and 中文
        else:
            assert (s, e) == (-1, -1) and bool(out["no_answer"][i])
    if version_2:
        assert 0 < sum(t == "" for t in texts) < len(texts)  # both decisions taken


def test_empty_batch_and_long_question(tokenizer):
    decoder = SpanDecoder(tokenizer, sequence_length=SEQ, doc_stride=4, max_query_length=64)

    def model_fn(features):
        x = tf.cast(features["token_ids"], tf.float32)
        return {"start_logits": x, "end_logits": -x}

    empty = decoder(model_fn, tf.constant([], tf.string), tf.constant([], tf.string))
    assert empty["answer_text"].shape == (0,)
    out = decoder(
        model_fn,
        tf.constant([" ".join(["film"] * 40), "", "good"]),
        tf.constant([b"the film is good", b" \t ", b"\xff\xfe good"]),
    )
    # A question that fills the window leaves no room for the context, an empty context holds
    # no span: no answer, no error. Invalid UTF-8 is repaired, not fatal.
    assert out["no_answer"].numpy().tolist() == [True, True, False]
    assert out["answer_start"].numpy().tolist()[:2] == [-1, -1]


def test_bad_options_are_clear_errors(tokenizer):
    with pytest.raises(ValueError, match="doc_stride must be at least 1"):
        SpanDecoder(tokenizer, doc_stride=0)
