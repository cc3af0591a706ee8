"""Every public layer (bert_tf/layers) and model (bert_tf/models) through the shared harness."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import bert_tf.layers
import bert_tf.models
from bert_tf.config import BertConfig
from bert_tf.layers import BertEmbeddings, MaskedLMHead, TransformerBlock
from bert_tf.models import (
    BertClassifier,
    BertEncoder,
    BertPretrainer,
    BertSpanLabeler,
    BertTextEmbedder,
    BertTokenClassifier,
)
from bert_tf.text import BertPreprocessor, BertTokenizer
from tests.harness import run_layer_test, run_model_test
from tests.test_text_tokenizer import VOCAB

B, T, H, V = 2, 5, 16, 20
RNG = np.random.default_rng(0)
TOKEN_IDS = RNG.integers(0, V, size=(B, T)).astype("int32")
SEGMENT_IDS = np.array([[0, 0, 0, 1, 1], [0, 0, 1, 1, 0]], "int32")
PADDING_MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], "int32")
HIDDEN = RNG.normal(size=(B, T, H)).astype("float32")
MASK_POSITIONS = np.array([[0, 2, 4], [1, 3, 0]], "int32")

LAYER_CASES = {
    "BertEmbeddings": lambda: dict(
        layer_cls=BertEmbeddings,
        init_kwargs=dict(vocab_size=V, hidden_size=H, max_position_embeddings=8, type_vocab_size=2),
        inputs=(TOKEN_IDS, SEGMENT_IDS),
        expected_output_shape=(B, T, H),
    ),
    "TransformerBlock": lambda: dict(
        layer_cls=TransformerBlock,
        init_kwargs=dict(hidden_size=H, num_heads=2, intermediate_size=32),
        inputs=(HIDDEN, PADDING_MASK),
        expected_output_shape=(B, T, H),
    ),
    "MaskedLMHead": lambda: dict(
        layer_cls=MaskedLMHead,
        init_kwargs=dict(token_embedding=_built_embedding()),
        inputs=(HIDDEN, MASK_POSITIONS),
        expected_output_shape=(B, 3, V),
        mixed_output_dtype="float32",
    ),
}


def _built_embedding():
    embedding = keras.layers.Embedding(V, H, name="word_embeddings")
    embedding.build(None)
    return embedding


def test_every_public_layer_and_model_has_a_case():
    assert {n for n in dir(bert_tf.layers) if n[0].isupper()} == set(LAYER_CASES)
    assert {n for n in dir(bert_tf.models) if n[0].isupper()} == set(MODEL_CASES)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer(name):
    run_layer_test(**LAYER_CASES[name]())


def _config():
    return BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=H,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        type_vocab_size=2,
    )


ENCODER_INPUTS = {"token_ids": TOKEN_IDS, "segment_ids": SEGMENT_IDS, "padding_mask": PADDING_MASK}
TEXTS = tf.constant(["hello world", "the quick brown fox"])


def _task(cls, **kwargs):
    return lambda dtype: cls(BertEncoder(_config(), dtype=dtype), dtype=dtype, **kwargs)


MODEL_CASES = {
    "BertEncoder": (
        lambda dtype: BertEncoder(_config(), output_all_layers=True, dtype=dtype),
        ENCODER_INPUTS,
        {"sequence_output": (B, T, H), "pooled_output": (B, H), "encoder_outputs": [(B, T, H)]},
    ),
    "BertClassifier": (_task(BertClassifier, num_classes=3), ENCODER_INPUTS, (B, 3)),
    "BertTokenClassifier": (_task(BertTokenClassifier, num_classes=4), ENCODER_INPUTS, (B, T, 4)),
    "BertSpanLabeler": (
        _task(BertSpanLabeler),
        ENCODER_INPUTS,
        {"start_logits": (B, T), "end_logits": (B, T)},
    ),
    "BertPretrainer": (
        _task(BertPretrainer, use_nsp=True),
        dict(ENCODER_INPUTS, mask_positions=MASK_POSITIONS),
        {"mlm_logits": (B, 3, len(VOCAB)), "nsp_logits": (B, 2)},
    ),
    "BertTextEmbedder": (
        lambda dtype: BertTextEmbedder(
            BertEncoder(_config(), dtype=dtype),
            BertPreprocessor(BertTokenizer(VOCAB), sequence_length=8),
            dtype=dtype,
        ),
        TEXTS,
        (B, H),
    ),
}


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_model(name):
    make_model, inputs, shapes = MODEL_CASES[name]
    run_model_test(make_model, inputs, expected_output_shape=shapes)


def test_masked_lm_head_rebuilds_from_its_config_alone():
    head = MaskedLMHead(_built_embedding(), activation="relu")
    config = head.get_config()
    assert config["token_embedding"]["config"]["input_dim"] == V
    clone = MaskedLMHead.from_config(config)
    assert clone.token_embedding is not head.token_embedding
    assert clone(HIDDEN, MASK_POSITIONS).shape == (B, 3, V)
