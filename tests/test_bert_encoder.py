import keras
import numpy as np
import pytest

from bert_tf import BertConfig, BertEncoder, get_preset, preset_names
from tests.harness import run_saved_model_test, run_serialization_test


def test_output_shapes_and_dtypes(tiny_config, tiny_inputs):
    out = BertEncoder(tiny_config)(tiny_inputs)
    assert out["sequence_output"].shape == (2, 9, 32)
    assert out["pooled_output"].shape == (2, 32)
    assert out["sequence_output"].dtype == "float32"


def test_all_layers_on_request(tiny_config, tiny_inputs):
    out = BertEncoder(tiny_config, output_all_layers=True)(tiny_inputs)
    assert len(out["encoder_outputs"]) == 2
    np.testing.assert_array_equal(out["encoder_outputs"][-1], out["sequence_output"])


def test_padding_does_not_change_real_positions(tiny_config, tiny_inputs):
    enc = BertEncoder(tiny_config)
    short = {k: v[1:, :6] for k, v in tiny_inputs.items()}
    long_out = enc(tiny_inputs)["sequence_output"][1, :6]
    short_out = enc(short)["sequence_output"][0]
    np.testing.assert_allclose(long_out, short_out, atol=1e-5)
    # ...and what sits in the padded slots does not matter either.
    poked = {k: v.copy() for k, v in tiny_inputs.items()}
    poked["token_ids"][1, 6:] = 7
    np.testing.assert_allclose(enc(poked)["sequence_output"][1, :6], long_out, atol=1e-5)


def test_bool_padding_mask(tiny_config, tiny_inputs):
    enc = BertEncoder(tiny_config)
    as_bool = dict(tiny_inputs, padding_mask=tiny_inputs["padding_mask"].astype(bool))
    np.testing.assert_allclose(
        enc(as_bool)["pooled_output"], enc(tiny_inputs)["pooled_output"], atol=1e-6
    )


def test_any_length_up_to_max_positions(tiny_config):
    enc = BertEncoder(tiny_config)
    for length in (2, 24):
        ids = np.ones((1, length), "int32")
        out = enc({"token_ids": ids, "segment_ids": ids * 0, "padding_mask": ids})
        assert out["sequence_output"].shape == (1, length, 32)


def test_segments_matter(tiny_config, tiny_inputs):
    enc = BertEncoder(tiny_config)
    flipped = dict(tiny_inputs, segment_ids=1 - tiny_inputs["segment_ids"])
    assert not np.allclose(enc(flipped)["pooled_output"], enc(tiny_inputs)["pooled_output"])


def test_serialization(tiny_config, tiny_inputs):
    run_serialization_test(BertEncoder(tiny_config), tiny_inputs)


def test_saved_model(tiny_config, tiny_inputs):
    run_saved_model_test(BertEncoder(tiny_config), tiny_inputs)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(tiny_config, tiny_inputs, policy):
    full = BertEncoder(tiny_config)
    mixed = BertEncoder(tiny_config, dtype=policy)
    mixed.set_weights(full.get_weights())
    assert mixed.transformer_layers[0].compute_dtype == policy.split("_")[1]
    assert all(w.dtype == "float32" for w in mixed.weights)
    out, ref = mixed(tiny_inputs), full(tiny_inputs)
    assert out["sequence_output"].dtype == "float32"
    assert np.isfinite(out["sequence_output"]).all()
    tol = 0.05 if policy == "mixed_float16" else 0.3
    np.testing.assert_allclose(out["sequence_output"], ref["sequence_output"], atol=tol)


def test_presets():
    names = preset_names()
    assert len([n for n in names if n.startswith("bert_L")]) == 24
    tiny = get_preset("bert_tiny")
    assert (tiny.num_hidden_layers, tiny.hidden_size, tiny.num_attention_heads) == (2, 128, 2)
    assert get_preset("bert_base").intermediate_size == 3072
    assert get_preset("bert_large").num_hidden_layers == 24
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("bert_huge")


def test_config_reads_google_and_hf(tmp_path):
    google = {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 128,
        "initializer_range": 0.02,
        "intermediate_size": 512,
        "max_position_embeddings": 512,
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
        "type_vocab_size": 2,
        "vocab_size": 30522,
    }
    hf = dict(
        google,
        model_type="bert",
        layer_norm_eps=1e-12,
        architectures=["BertModel"],
        pad_token_id=0,
        position_embedding_type="absolute",
        transformers_version="4.0",
    )
    for name, data in (("bert_config.json", google), ("config.json", hf)):
        path = tmp_path / name
        path.write_text(__import__("json").dumps(data))
        cfg = BertConfig.from_json_file(path)
        assert cfg.hidden_size == 128 and cfg.intermediate_size == 512


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="not divisible"):
        BertConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ValueError, match="model_type"):
        BertConfig.from_dict(
            {
                "model_type": "gpt2",
                "vocab_size": 1,
                "hidden_size": 8,
                "num_hidden_layers": 1,
                "num_attention_heads": 1,
            }
        )
    with pytest.raises(FileNotFoundError, match="not found"):
        BertConfig.from_json_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ValueError, match="not valid JSON"):
        BertConfig.from_json_file(bad)


def test_trains(tiny_config, tiny_inputs):
    enc = BertEncoder(tiny_config)
    model = keras.Model(enc.input, enc.output["pooled_output"])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    target = np.ones((2, 32), "float32") * 0.5
    first = model.train_on_batch(tiny_inputs, target)
    for _ in range(20):
        last = model.train_on_batch(tiny_inputs, target)
    assert last < first
