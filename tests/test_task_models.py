import numpy as np
import pytest

from bert_tf import (
    BertClassifier,
    BertEncoder,
    BertPretrainer,
    BertSpanLabeler,
    BertTokenClassifier,
)
from tests.harness import run_saved_model_test, run_serialization_test


@pytest.fixture
def encoder(tiny_config):
    return BertEncoder(tiny_config)


def test_classifier(encoder, tiny_inputs):
    model = BertClassifier(encoder, num_classes=3)
    assert model(tiny_inputs).shape == (2, 3)
    assert BertClassifier(encoder, num_classes=1)(tiny_inputs).shape == (2, 1)
    run_serialization_test(model, tiny_inputs)
    run_saved_model_test(model, tiny_inputs)


def test_token_classifier(encoder, tiny_inputs):
    model = BertTokenClassifier(encoder, num_classes=5)
    assert model(tiny_inputs).shape == (2, 9, 5)
    run_saved_model_test(model, tiny_inputs)


def test_span_labeler_masks_padding(encoder, tiny_inputs):
    model = BertSpanLabeler(encoder)
    out = model(tiny_inputs)
    assert out["start_logits"].shape == (2, 9)
    assert np.all(np.asarray(out["end_logits"])[1, 6:] < -1e8)
    run_saved_model_test(model, tiny_inputs)


@pytest.mark.parametrize("use_nsp", [True, False])
def test_pretrainer(encoder, tiny_inputs, use_nsp):
    inputs = dict(tiny_inputs, mask_positions=np.array([[1, 3], [2, 0]], "int32"))
    model = BertPretrainer(encoder, use_nsp=use_nsp)
    out = model(inputs)
    assert out["mlm_logits"].shape == (2, 2, 64)
    assert ("nsp_logits" in out) == use_nsp
    # The MLM output is tied to the word embeddings: no second [V, H] table.
    assert model.mlm_head.token_embedding is encoder.token_embedding
    head_weights = len(model.weights) - len(encoder.weights)
    assert head_weights == (7 if use_nsp else 5)  # dense (2) + LayerNorm (2) + bias (1) [+ NSP (2)]
    run_serialization_test(model, inputs)
    run_saved_model_test(model, inputs)


def _mlm_embedding_gradient(model, encoder, inputs):
    """Gradient of the masked-LM loss with respect to the input word-embedding table [V, H]."""
    import tensorflow as tf

    labels = np.array([[7, 9], [11, 7]], "int32")
    with tf.GradientTape() as tape:
        logits = model(inputs)["mlm_logits"]  # [B, P, V]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    grad = tape.gradient(loss, encoder.token_embedding.embeddings)
    return np.asarray(tf.convert_to_tensor(grad))


@pytest.mark.parametrize("tie", [False, True])
def test_pretrainer_untied_mlm_head(encoder, tiny_inputs, tie):
    """Untied, the head scores against its own [V, H] matrix, so the input embedding rows of
    tokens absent from the batch get no gradient from the MLM loss (tied, every row does)."""
    inputs = dict(tiny_inputs, mask_positions=np.array([[1, 3], [2, 0]], "int32"))
    model = BertPretrainer(encoder, use_nsp=False, tie_mlm_embeddings=tie)
    head_weights = len(model.weights) - len(encoder.weights)
    assert head_weights == (5 if tie else 6)  # untied: + output_embeddings [V, H]
    assert model.get_config()["tie_mlm_embeddings"] is tie
    assert model.mlm_head.get_config()["tie_embeddings"] is tie
    grad = _mlm_embedding_gradient(model, encoder, inputs)
    absent = np.setdiff1d(np.arange(64), inputs["token_ids"])
    assert len(absent) > 20
    absent_norm = np.abs(grad[absent]).max()
    if tie:
        assert absent_norm > 0
        return
    assert model.mlm_head.output_embeddings.shape == (64, 32)
    assert model.mlm_head.output_table is not encoder.token_embedding.embeddings
    assert absent_norm == 0
    assert np.abs(grad[np.unique(inputs["token_ids"])]).max() > 0  # seen tokens still learn
    run_serialization_test(model, inputs)
