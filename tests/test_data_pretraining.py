"""Pretraining data: documents from plain text, segment pairs (NSP), dynamic masking in tf.data."""

import random

import numpy as np
import pytest

from bert_tf.data import DataError
from bert_tf.data.pretraining import create_segment_pairs, read_documents
from tests.test_data_readers import write


def _fake_documents(n=30, seed=0):
    """Token id = doc * 1000 + sentence * 10 + position, so a pair's origin can be read off its
    ids."""
    rng = random.Random(seed)
    return [
        [
            [d * 1000 + s * 10 + t for t in range(rng.randint(1, 9))]
            for s in range(rng.randint(1, 12))
        ]
        for d in range(n)
    ]


def test_documents_are_split_on_blank_lines_across_a_glob(tmp_path):
    write(tmp_path / "a.txt", "First line.\nSecond line.\n\n\nNew document.\n")
    write(tmp_path / "b.txt", "  \nOther file.\n")
    assert read_documents(str(tmp_path / "*.txt")) == [
        ["First line.", "Second line."],
        ["New document."],
        ["Other file."],
    ]
    with pytest.raises(DataError, match="no text found"):
        read_documents(write(tmp_path / "empty.txt", "\n\n"))


def test_nsp_pairs_follow_the_rules():
    docs = _fake_documents()
    pairs = create_segment_pairs(docs, max_seq_length=32, use_nsp=True, seed=1)
    assert pairs == create_segment_pairs(docs, max_seq_length=32, use_nsp=True, seed=1)  # seeded
    random_next = [p[2] for p in pairs]
    assert 0.35 < np.mean(random_next) < 0.75
    for a, b, is_random in pairs:
        assert a and b and len(a) + len(b) <= 32 - 3
        same_doc = a[-1] // 1000 == b[0] // 1000
        assert same_doc != bool(is_random)  # "next" pairs continue the document, random ones do not
        if not is_random:  # B comes after A in the document
            assert b[0] % 1000 > a[-1] % 1000


def test_nsp_on_one_line_documents_is_balanced_and_length_blind():
    """A novel with one paragraph per line: documents of one segment still give "is next" pairs,
    and a random B is as long as the true one would have been (length must not reveal the label)."""
    rng = random.Random(0)
    docs = [[[d * 1000 + t for t in range(rng.randint(5, 60))]] for d in range(400)]
    pairs = create_segment_pairs(docs, max_seq_length=64, use_nsp=True, seed=2)
    labels = np.array([p[2] for p in pairs])
    assert 0.4 < labels.mean() < 0.6
    lengths = np.array([len(a) + len(b) for a, b, _ in pairs])
    assert abs(lengths[labels == 1].mean() - lengths[labels == 0].mean()) < 3
    for a, b, is_random in pairs:
        assert (a[-1] // 1000 == b[0] // 1000) != bool(is_random)


def test_without_nsp_every_token_is_used_once_in_order():
    docs = _fake_documents()
    pairs = create_segment_pairs(docs, max_seq_length=16, use_nsp=False, seed=0)
    assert all(b == [] and r == 0 and 1 <= len(a) <= 14 for a, b, r in pairs)
    assert sorted(t for a, _, _ in pairs for t in a) == sorted(
        t for d in docs for s in d for t in s
    )


DOCS = """John lives in New York. He works for Acme Corp.
She was born in Paris.
The film was very good, the plot was not bad.

It is a great movie.
I play it and it is good.
Unbelievable plot, awful film.
The city of Paris is great.

Who did play in it?
Where was he born?
"""


@pytest.fixture(scope="module")
def text_layers(tmp_path_factory):
    from bert_tf.text.bert_masked_lm_masker import BertMaskedLMMasker
    from tests.test_data_readers import make_preprocessor

    preprocessor = make_preprocessor(tmp_path_factory.mktemp("vocab"), sequence_length=24)
    masker = BertMaskedLMMasker.from_tokenizer(preprocessor.tokenizer, max_predictions_per_seq=4)
    return preprocessor, masker


def _unmask(element):
    ids = element["token_ids"].numpy().copy()
    for row, (pos, orig, w) in enumerate(
        zip(
            element["mask_positions"].numpy(),
            element["mask_ids"].numpy(),
            element["mask_weights"].numpy(),
        )
    ):
        ids[row, pos[w > 0]] = orig[w > 0]
    return ids


def test_pretraining_pipeline_packs_pairs_and_masks_anew_each_epoch(tmp_path, text_layers):
    from bert_tf.data import pretraining_dataset
    from bert_tf.data.pretraining import read_documents, tokenize_documents

    preprocessor, masker = text_layers
    tok = preprocessor.tokenizer
    write(tmp_path / "corpus1.txt", DOCS)
    write(tmp_path / "corpus2.txt", "Where was she born? In Paris.\nThe plot was good.\n")
    ds, info = pretraining_dataset(
        str(tmp_path / "corpus*.txt"),
        preprocessor,
        masker,
        batch_size=4,
        short_seq_prob=0.0,
        flat=True,
        seed=0,
    )
    assert info.num_documents == 4 and info.use_nsp
    epoch1, epoch2 = list(ds), list(ds)
    assert sum(e["token_ids"].shape[0] for e in epoch1) == info.num_pairs
    stream = [
        t
        for doc in tokenize_documents(read_documents(str(tmp_path / "corpus*.txt")), tok)
        for s in doc
        for t in s
    ]
    text = " ".join(map(str, stream))
    for e in epoch1:
        assert e["mask_positions"].shape[1] == 4 and e["mask_weights"].dtype.name == "float32"
        assert e["token_ids"].shape[1] <= 24 and set(e["next_sentence_labels"].numpy()) <= {0, 1}
        original = _unmask(e)
        for row, ids in enumerate(original):
            ids = ids[e["padding_mask"].numpy()[row] == 1]
            assert (
                ids[0] == tok.cls_id and ids[-1] == tok.sep_id and list(ids).count(tok.sep_id) == 2
            )
            sep = list(ids).index(tok.sep_id)
            seg = e["segment_ids"].numpy()[row][: len(ids)]
            assert (seg[: sep + 1] == 0).all() and (seg[sep + 1 :] == 1).all()
            # segment A is a run of consecutive corpus tokens (truncation only trims its ends)
            assert " ".join(map(str, ids[1:sep])) in text
        chosen = e["mask_ids"].numpy()[e["mask_weights"].numpy() > 0]
        assert not set(chosen) & {tok.cls_id, tok.sep_id, tok.pad_id}
    masks1 = [e["mask_positions"].numpy().tolist() for e in epoch1]
    masks2 = [e["mask_positions"].numpy().tolist() for e in epoch2]
    assert masks1 != masks2  # dynamic masking: new masks every epoch


def test_pretraining_without_nsp_for_keras_fit(tmp_path, text_layers):
    from bert_tf.data import pretraining_dataset

    preprocessor, masker = text_layers
    ds, info = pretraining_dataset(
        write(tmp_path / "c.txt", DOCS),
        preprocessor,
        masker,
        batch_size=3,
        use_nsp=False,
        drop_remainder=True,
    )
    x, y, w = next(iter(ds))
    assert set(x) == {"token_ids", "segment_ids", "padding_mask", "mask_positions"}
    assert set(y) == {"mlm_logits"} and x["token_ids"].shape[0] == 3
    assert (x["segment_ids"].numpy() == 0).all()
    weights = w["mlm_logits"].numpy()
    np.testing.assert_allclose(
        weights.mean(), 1.0, rtol=1e-6
    )  # scaled so Keras' mean is the masked mean
    assert ((weights > 0) == (x["mask_positions"].numpy() > 0)).all()


def test_seeded_masker_gives_the_same_masks_run_after_run(tmp_path, text_layers):
    from bert_tf.data import pretraining_dataset
    from bert_tf.text.bert_masked_lm_masker import BertMaskedLMMasker

    preprocessor, _ = text_layers
    path = write(tmp_path / "c.txt", DOCS * 3)

    def masks():
        masker = BertMaskedLMMasker.from_tokenizer(
            preprocessor.tokenizer, max_predictions_per_seq=4, seed=7
        )
        ds, _ = pretraining_dataset(path, preprocessor, masker, batch_size=2, seed=3, flat=True)
        return [(e["token_ids"].numpy().tolist(), e["mask_positions"].numpy().tolist()) for e in ds]

    first = masks()
    assert len(first) > 4 and first == masks()


def test_documents_are_streamed_not_loaded(tmp_path):
    """The reader yields the first document before it reads the rest of the file: a file whose
    tail cannot be decoded still gives its first documents (a whole-file read fails at once)."""
    from bert_tf.data.pretraining import iter_documents

    path = tmp_path / "big.txt"
    path.write_bytes("第一篇。\n第二句。\n\n第二篇。\n\n".encode() + b"\xff\xfe broken tail\n")
    documents = iter_documents(str(path))
    assert next(documents) == ["第一篇。", "第二句。"] and next(documents) == ["第二篇。"]
    with pytest.raises(DataError, match="cannot decode"):
        next(documents)


def test_streaming_pretraining_dataset_reads_lazily_and_skips_held_out(tmp_path, text_layers):
    from bert_tf.data.pretraining import streaming_pretraining_dataset

    preprocessor, masker = text_layers
    path = tmp_path / "c.txt"
    path.write_bytes((DOCS * 40).encode("utf-8") + b"\n\n\xff\xfe broken tail\n")
    ds = streaming_pretraining_dataset(
        str(path),
        preprocessor,
        masker,
        batch_size=4,
        chunk_documents=4,
        shuffle_buffer=8,
        flat=True,
        seed=0,
    )
    first = next(iter(ds))  # the undecodable tail is far behind: never read for the first batch
    assert first["token_ids"].shape[0] == 4 and set(first["next_sentence_labels"].numpy()) <= {0, 1}
    # skip() leaves documents out: only the first document's sentences remain ("John ...")
    clean = write(tmp_path / "clean.txt", DOCS)
    only_first = streaming_pretraining_dataset(
        clean,
        preprocessor,
        masker,
        batch_size=64,
        use_nsp=False,
        skip=lambda i: i > 0,
        flat=True,
        seed=0,
    )
    tok = preprocessor.tokenizer
    ids = {t for e in only_first for row in e["token_ids"].numpy() for t in row}
    ids |= {t for e in only_first for row in e["mask_ids"].numpy() for t in row}
    assert tok.token_to_id("john") in ids and tok.token_to_id("who") not in ids


def test_chinese_whole_word_masking_masks_every_character_of_a_jieba_word():
    """With jieba word marks, the masker picks whole words: every character of a segmented word
    is chosen with its word, never alone (each character is its own token, so without the
    marks any character could be chosen on its own)."""
    pytest.importorskip("jieba")
    from bert_tf.data.pretraining import pretraining_dataset, tokenize_documents
    from bert_tf.text import BertMaskedLMMasker, BertPreprocessor, BertTokenizer
    from bert_tf.text.chinese_words import jieba_segmenter

    text = [
        "中华人民共和国成立于一九四九年。",
        "语言模型用来预测下一个词语。",
        "我们在北京大学学习自然语言处理。",
    ]
    chars = sorted({c for line in text for c in line})
    tokenizer = BertTokenizer(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars], lowercase=False
    )
    segmenter = jieba_segmenter()
    words = [w for line in text for w in segmenter(line)]
    assert any(len(w) >= 2 for w in words)
    tokenized = tokenize_documents([text], tokenizer, segmenter=segmenter)
    flat = [t for s in tokenized[0] for t in s]
    assert sum(t < 0 for t in flat) == sum(
        len(w) - 1 for w in words
    )  # 2nd, 3rd ... char of each word

    def chosen_words(word_marks):
        preprocessor = BertPreprocessor(tokenizer, sequence_length=64)
        masker = BertMaskedLMMasker.from_tokenizer(
            tokenizer,
            whole_word_masking=True,
            mask_selection_rate=0.3,
            max_predictions_per_seq=12,
            seed=0,
        )
        ds, _ = pretraining_dataset(
            [text] * 20,
            preprocessor,
            masker,
            batch_size=64,
            use_nsp=False,
            flat=True,
            short_seq_prob=0.0,
            seed=0,
            segmenter=segmenter if word_marks else None,
        )
        split, fragments = 0, 0
        for e in ds:
            ids = e["token_ids"].numpy()
            for row, (pos, w) in enumerate(
                zip(e["mask_positions"].numpy(), e["mask_weights"].numpy())
            ):
                chosen = set(pos[w > 0].tolist())
                # the row's words: position ranges from the jieba words, in order (no truncation)
                start, spans = 1, []
                for word in words * 20:
                    if start >= (ids[row] != 0).sum() - 1:
                        break
                    spans.append(range(start, start + len(word)))
                    start += len(word)
                for span in spans:
                    hit = len(chosen & set(span))
                    split += 0 < hit < len(span)
                    fragments += hit > 0 and len(span) > 1
        return split, fragments

    split, fragments = chosen_words(word_marks=True)
    assert fragments > 5 and split == 0
    split_without, _ = chosen_words(word_marks=False)
    assert split_without > 0  # without jieba's marks words are cut: the test can tell
