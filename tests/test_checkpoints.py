"""Checkpoint import/export on tiny random weights: every format, the name map, clear errors."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import BertClassifier, BertEncoder, BertPretrainer
from bert_tf.checkpoints import (
    CheckpointError,
    detect_checkpoint_format,
    name_map,
    save_encoder,
    save_task_model,
)
from bert_tf.checkpoints import google as google_io
from bert_tf.model_dir import read_lowercase, resolve_model_dir
from bert_tf.models import convert, load_pretrainer, load_task_model
from tests.checkpoint_fixtures import (
    hf_state_dict,
    numpy_bert,
    random_google_tensors,
    write_hf_folder,
    write_vocab,
)


def _outputs(model, inputs):
    out = model(inputs)
    return out["sequence_output"].numpy(), out["pooled_output"].numpy()


def _assert_same_outputs(a, b, inputs, atol=1e-6):
    for x, y in zip(_outputs(a, inputs), _outputs(b, inputs)):
        np.testing.assert_allclose(x, y, atol=atol)


def _google_folder(folder, config, tensors, vocab=True):
    os.makedirs(folder, exist_ok=True)
    google_io.write_google_checkpoint(str(folder), config, tensors)
    if vocab:
        write_vocab(os.path.join(folder, "vocab.txt"), config.vocab_size)
    return str(folder)


# === Hugging Face ===


def test_hf_safetensors_each_variable_equals_its_source(tmp_path, tiny_config):
    state = hf_state_dict(tiny_config)
    folder = write_hf_folder(str(tmp_path / "hf"), tiny_config, state)
    encoder = BertEncoder.from_pretrained(folder)
    emb = encoder.embeddings
    np.testing.assert_array_equal(
        emb.word_embeddings.embeddings.numpy(), state["embeddings.word_embeddings.weight"]
    )
    np.testing.assert_array_equal(
        emb.position_embeddings.numpy(), state["embeddings.position_embeddings.weight"]
    )
    np.testing.assert_array_equal(
        emb.layer_norm.gamma.numpy(), state["embeddings.LayerNorm.weight"]
    )
    for i, block in enumerate(encoder.transformer_layers):
        p = f"encoder.layer.{i}.attention.self"
        qkv = np.concatenate(
            [state[f"{p}.{n}.weight"].T for n in ("query", "key", "value")], axis=1
        )
        np.testing.assert_array_equal(block.qkv_dense.kernel.numpy(), qkv)
        np.testing.assert_array_equal(
            block.qkv_dense.bias.numpy(),
            np.concatenate([state[f"{p}.{n}.bias"] for n in ("query", "key", "value")]),
        )
        np.testing.assert_array_equal(
            block.intermediate_dense.kernel.numpy(),
            state[f"encoder.layer.{i}.intermediate.dense.weight"].T,
        )
        np.testing.assert_array_equal(
            block.output_layer_norm.beta.numpy(), state[f"encoder.layer.{i}.output.LayerNorm.bias"]
        )
    np.testing.assert_array_equal(encoder.pooler.kernel.numpy(), state["pooler.dense.weight"].T)


def test_hf_load_matches_numpy_reference_forward(tmp_path, tiny_config, tiny_inputs):
    # Square [H, H] kernels make a wrong transpose invisible to shape checks; the forward pass is
    # not.
    state = hf_state_dict(tiny_config, seed=1)
    encoder = BertEncoder.from_pretrained(write_hf_folder(str(tmp_path / "hf"), tiny_config, state))
    seq, pooled = _outputs(encoder, tiny_inputs)
    ref_seq, ref_pooled = numpy_bert(
        state,
        tiny_config,
        tiny_inputs["token_ids"],
        tiny_inputs["segment_ids"],
        tiny_inputs["padding_mask"].astype(np.float64),
    )
    real = tiny_inputs["padding_mask"].astype(bool)
    # Measured max |diff| 1.0e-6 (sequence), 6e-7 (pooled); a LayerNorm epsilon of 1e-5 instead of
    # 1e-12 moves them by 9e-5 / 7e-5 (tools/measure_tolerances.py).
    np.testing.assert_allclose(seq[real], ref_seq[real], atol=1e-5, rtol=0)
    np.testing.assert_allclose(pooled, ref_pooled, atol=1e-5, rtol=0)


def test_hf_prefixed_names_old_layernorm_names_and_buffers_load_the_same(
    tmp_path, tiny_config, tiny_inputs
):
    state = hf_state_dict(tiny_config, heads=True)
    plain = BertEncoder.from_pretrained(
        write_hf_folder(str(tmp_path / "plain"), tiny_config, state)
    )
    prefixed = {}
    for k, v in state.items():
        k = k if k.startswith("cls.") else f"bert.{k}"
        prefixed[
            k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
                "LayerNorm.bias", "LayerNorm.beta"
            )
        ] = v
    prefixed["bert.embeddings.position_ids"] = np.arange(tiny_config.max_position_embeddings)[None]
    prefixed["cls.predictions.decoder.weight"] = state["embeddings.word_embeddings.weight"]
    other = BertEncoder.from_pretrained(
        write_hf_folder(str(tmp_path / "prefixed"), tiny_config, prefixed)
    )
    _assert_same_outputs(plain, other, tiny_inputs, atol=0)


def test_hf_fine_tuned_classifier_folder_loads_its_encoder(tmp_path, tiny_config, tiny_inputs):
    state = hf_state_dict(tiny_config)
    plain = BertEncoder.from_pretrained(
        write_hf_folder(str(tmp_path / "plain"), tiny_config, state)
    )
    tuned = {f"bert.{k}": v for k, v in state.items()}
    tuned["classifier.weight"] = np.zeros(
        (3, tiny_config.hidden_size), np.float32
    )  # BertForSequenceClassification
    tuned["classifier.bias"] = np.zeros((3,), np.float32)
    _assert_same_outputs(
        plain,
        BertEncoder.from_pretrained(write_hf_folder(str(tmp_path / "tuned"), tiny_config, tuned)),
        tiny_inputs,
        atol=0,
    )


def test_hf_pretrainer_loads_mlm_and_nsp(tmp_path, tiny_config):
    state = hf_state_dict(tiny_config, heads=True)
    model = load_pretrainer(write_hf_folder(str(tmp_path / "hf"), tiny_config, state))
    assert model.use_nsp
    np.testing.assert_array_equal(
        model.nsp_head.kernel.numpy(), state["cls.seq_relationship.weight"].T
    )
    np.testing.assert_array_equal(model.mlm_head.output_bias.numpy(), state["cls.predictions.bias"])
    np.testing.assert_array_equal(
        model.mlm_head.dense.kernel.numpy(), state["cls.predictions.transform.dense.weight"].T
    )


def test_hf_bfloat16_safetensors_load_as_float32(tmp_path, tiny_config):
    import ml_dtypes

    state = hf_state_dict(tiny_config)
    half = {k: v.astype(ml_dtypes.bfloat16) for k, v in state.items()}
    encoder = BertEncoder.from_pretrained(write_hf_folder(str(tmp_path / "hf"), tiny_config, half))
    np.testing.assert_array_equal(
        encoder.pooler.kernel.numpy(), half["pooler.dense.weight"].astype(np.float32).T
    )


def test_hf_untied_decoder_is_an_error(tmp_path, tiny_config):
    state = hf_state_dict(tiny_config, heads=True)
    state["cls.predictions.decoder.weight"] = state["embeddings.word_embeddings.weight"] + 1.0
    with pytest.raises(CheckpointError, match="untied"):
        BertEncoder.from_pretrained(write_hf_folder(str(tmp_path / "hf"), tiny_config, state))


def test_pytorch_bin_without_torch_says_torch_is_needed(tmp_path, tiny_config):
    try:
        import torch  # noqa: F401

        pytest.skip("torch is installed here")
    except ImportError:
        pass
    folder = tmp_path / "pt"
    folder.mkdir()
    (folder / "pytorch_model.bin").write_bytes(b"not really a pickle")
    tiny_config.to_json_file(folder / "config.json")
    with pytest.raises(CheckpointError, match="needs torch"):
        BertEncoder.from_pretrained(str(folder))


# === Google TF1 ===


def test_google_checkpoint_has_standard_names_and_layouts(tmp_path, tiny_config):
    tensors = random_google_tensors(tiny_config, heads=True)
    folder = _google_folder(tmp_path / "g", tiny_config, tensors)
    shapes = dict(tf.train.list_variables(os.path.join(folder, "bert_model.ckpt")))
    h = tiny_config.hidden_size
    assert shapes["bert/encoder/layer_0/attention/self/query/kernel"] == [h, h]
    assert shapes["bert/encoder/layer_1/intermediate/dense/kernel"] == [
        h,
        tiny_config.intermediate_size,
    ]
    assert shapes["cls/seq_relationship/output_weights"] == [2, h]
    assert set(shapes) == set(tensors)
    with open(os.path.join(folder, "bert_config.json")) as f:
        assert "layer_norm_eps" not in json.load(f)  # Google's file has none; 1e-12 is the default


def test_google_round_trip_ignores_optimizer_slots_and_heads(tmp_path, tiny_config, tiny_inputs):
    source = BertEncoder(tiny_config)
    tensors = name_map.export_google(name_map.encoder_slots(source))
    for name in list(tensors)[:4]:
        tensors[name + "/adam_m"] = np.zeros_like(tensors[name])
        tensors[name + "/adam_v"] = np.zeros_like(tensors[name])
        tensors[name + "/Adam"] = np.zeros_like(tensors[name])
    tensors["beta1_power"] = np.float32(0.9)
    tensors.update(
        {
            k: v
            for k, v in random_google_tensors(tiny_config, heads=True).items()
            if k.startswith("cls/")
        }
    )
    tensors["output_weights"] = np.zeros(
        (3, tiny_config.hidden_size), np.float32
    )  # a run_classifier head
    tensors["output_bias"] = np.zeros((3,), np.float32)
    folder = _google_folder(tmp_path / "g", tiny_config, tensors)
    loaded = BertEncoder.from_pretrained(folder)
    _assert_same_outputs(source, loaded, tiny_inputs, atol=0)
    pretrainer = load_pretrainer(folder)
    assert pretrainer.use_nsp
    np.testing.assert_array_equal(
        pretrainer.nsp_head.kernel.numpy(), tensors["cls/seq_relationship/output_weights"].T
    )


def test_google_global_step_is_ignored(tmp_path, tiny_config, tiny_inputs):
    source = BertEncoder(tiny_config)
    tensors = name_map.export_google(name_map.encoder_slots(source))
    prefix = str(tmp_path / "bert_model.ckpt")
    names = sorted(tensors) + ["global_step"]
    values = [tf.constant(tensors[n]) for n in sorted(tensors)] + [tf.constant(3, tf.int64)]
    tf.raw_ops.SaveV2(
        prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names), tensors=values
    )
    google_io.write_google_config(str(tmp_path / "bert_config.json"), tiny_config)
    _assert_same_outputs(source, BertEncoder.from_pretrained(str(tmp_path)), tiny_inputs, atol=0)


def test_tf2_object_checkpoint_with_google_names_loads(tmp_path, tiny_config, tiny_inputs):
    source = BertEncoder(tiny_config)
    tensors = name_map.export_google(name_map.encoder_slots(source))
    ckpt = tf.train.Checkpoint(**{k: tf.Variable(v) for k, v in tensors.items()})
    ckpt.write(str(tmp_path / "bert_model.ckpt"))
    google_io.write_google_config(str(tmp_path / "bert_config.json"), tiny_config)
    _assert_same_outputs(source, BertEncoder.from_pretrained(str(tmp_path)), tiny_inputs, atol=0)


def test_pretrainer_without_heads_in_checkpoint_starts_them_fresh(tmp_path, tiny_config):
    folder = _google_folder(tmp_path / "g", tiny_config, random_google_tensors(tiny_config))
    model = load_pretrainer(folder)
    assert not model.use_nsp
    assert isinstance(model, BertPretrainer)
    assert isinstance(load_pretrainer(folder, use_nsp=True).nsp_head.kernel.numpy(), np.ndarray)


def test_pretrainer_with_partial_mlm_head_is_an_error(tmp_path, tiny_config):
    tensors = random_google_tensors(tiny_config, heads=True)
    del tensors["cls/predictions/transform/LayerNorm/beta"]
    folder = _google_folder(tmp_path / "g", tiny_config, tensors)
    with pytest.raises(CheckpointError, match="cls/predictions/transform/LayerNorm/beta"):
        load_pretrainer(folder)


# === Our format and task folders ===


def test_bert_tf_format_round_trip(tmp_path, tiny_config, tiny_inputs):
    encoder = BertEncoder(tiny_config)
    vocab = tmp_path / "v.txt"
    write_vocab(vocab, tiny_config.vocab_size)
    path = str(tmp_path / "ours")
    encoder.save_pretrained(path, vocab_file=str(vocab), lowercase=False)
    assert sorted(os.listdir(path)) == [
        ".bert_tf_manifest.json",
        "config.json",
        "model.weights.h5",
        "tokenizer_config.json",
        "vocab.txt",
    ]
    with open(os.path.join(path, "config.json")) as f:
        assert json.load(f)["bert_tf_format"] == 1
    assert detect_checkpoint_format(path) == "bert_tf"
    assert read_lowercase(path) is False
    loaded = BertEncoder.from_pretrained(path)
    _assert_same_outputs(encoder, loaded, tiny_inputs, atol=0)
    assert (
        len(
            BertEncoder.from_pretrained(path, output_all_layers=True)(tiny_inputs)[
                "encoder_outputs"
            ]
        )
        == 2
    )
    # Saving a loaded encoder carries its vocab and casing along.
    again = str(tmp_path / "again")
    loaded.save_pretrained(again)
    assert os.path.exists(os.path.join(again, "vocab.txt")) and read_lowercase(again) is False


def test_task_folder_round_trip(tmp_path, tiny_config, tiny_inputs):
    model = BertClassifier(BertEncoder(tiny_config), num_classes=3, dropout=0.2)
    info = {
        "task": "classification",
        "labels": ["neg", "neu", "pos"],
        "preprocessor": {"sequence_length": 16, "text_pair": False},
    }
    path = str(tmp_path / "task")
    save_task_model(model, path, info, vocab_file=None, lowercase=True)
    restored, restored_info = load_task_model(path)
    assert restored_info["task_config"] == {"num_classes": 3, "dropout": 0.2}
    assert restored_info["labels"] == ["neg", "neu", "pos"]
    np.testing.assert_array_equal(model(tiny_inputs).numpy(), restored(tiny_inputs).numpy())
    _assert_same_outputs(
        model.encoder, BertEncoder.from_pretrained(path), tiny_inputs, atol=0
    )  # encoder of a task folder
    all_layers = BertEncoder.from_pretrained(path, output_all_layers=True)(tiny_inputs)[
        "encoder_outputs"
    ]
    assert len(all_layers) == tiny_config.num_hidden_layers
    google = str(tmp_path / "g")
    convert(path, google, format="google")  # the encoder part of a task folder converts too
    _assert_same_outputs(model.encoder, BertEncoder.from_pretrained(google), tiny_inputs, atol=0)


def test_pretraining_task_folder_round_trip(tmp_path, tiny_config):
    model = BertPretrainer(BertEncoder(tiny_config), use_nsp=True)
    path = str(tmp_path / "pre")
    save_task_model(model, path, {"task": "pretraining"})
    restored = load_pretrainer(path)
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    hf = str(tmp_path / "hf")
    convert(path, hf, format="huggingface")  # heads go along, under BertForPreTraining names
    from safetensors.numpy import load_file

    names = set(load_file(os.path.join(hf, "model.safetensors")))
    assert "bert.encoder.layer.0.attention.self.query.weight" in names
    assert "cls.seq_relationship.weight" in names
    np.testing.assert_array_equal(
        load_pretrainer(hf).nsp_head.kernel.numpy(), model.nsp_head.kernel.numpy()
    )


def test_task_model_save_and_from_pretrained(tmp_path, tiny_config, tiny_inputs):
    from bert_tf import BertSpanLabeler, BertTokenClassifier

    model = BertTokenClassifier(BertEncoder(tiny_config), num_classes=5)
    path = str(tmp_path / "tagger")
    model.save_pretrained(path, task_info={"labels": list("ABCDE")})
    restored = BertTokenClassifier.from_pretrained(path)
    assert restored.task_info["task"] == "token_classification" and restored.task_info[
        "labels"
    ] == list("ABCDE")
    np.testing.assert_array_equal(model(tiny_inputs).numpy(), restored(tiny_inputs).numpy())
    with pytest.raises(CheckpointError, match="not a BertSpanLabeler"):
        BertSpanLabeler.from_pretrained(path)


def test_load_with_mixed_precision_policy(tmp_path, tiny_config, tiny_inputs):
    folder = write_hf_folder(str(tmp_path / "hf"), tiny_config, hf_state_dict(tiny_config))
    full = BertEncoder.from_pretrained(folder)
    mixed = BertEncoder.from_pretrained(folder, dtype="mixed_float16")
    assert mixed.embeddings.word_embeddings.embeddings.dtype == "float32"  # variables stay float32
    out = mixed(tiny_inputs)
    assert out["sequence_output"].dtype == "float32"
    _assert_same_outputs(full, mixed, tiny_inputs, atol=5e-2)


def test_save_task_model_checks_the_task(tmp_path, tiny_config):
    model = BertClassifier(BertEncoder(tiny_config), num_classes=2)
    with pytest.raises(CheckpointError, match="task"):
        save_task_model(model, str(tmp_path / "t"), {"task": "pretraining"})


def test_failed_save_keeps_the_old_folder(tmp_path, tiny_config, tiny_inputs, monkeypatch):
    path = str(tmp_path / "ours")
    good = BertEncoder(tiny_config)
    save_encoder(good, path)
    other = BertEncoder(tiny_config)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(other, "save_weights", boom)
    with pytest.raises(OSError, match="disk full"):
        save_encoder(other, path)
    _assert_same_outputs(good, BertEncoder.from_pretrained(path), tiny_inputs, atol=0)
    assert sorted(os.listdir(tmp_path)) == ["ours"]  # no partial folder left behind


def test_save_refuses_to_replace_a_non_model_folder(tmp_path, tiny_config):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="refusing"):
        save_encoder(BertEncoder(tiny_config), str(tmp_path))
    assert (tmp_path / "notes.txt").read_text() == "mine"


# === Corrupt or mismatched checkpoints give one clear line ===


def _one_line(excinfo):
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_truncated_safetensors(tmp_path, tiny_config):
    folder = write_hf_folder(str(tmp_path / "hf"), tiny_config, hf_state_dict(tiny_config))
    path = os.path.join(folder, "model.safetensors")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as e:
        BertEncoder.from_pretrained(folder)
    assert "cannot read" in _one_line(e) and "model.safetensors" in str(e.value)


def test_missing_tensor_is_named(tmp_path, tiny_config):
    state = hf_state_dict(tiny_config)
    del state["encoder.layer.1.attention.self.key.weight"]
    with pytest.raises(CheckpointError) as e:
        BertEncoder.from_pretrained(write_hf_folder(str(tmp_path / "hf"), tiny_config, state))
    assert "missing" in _one_line(e) and "encoder.layer.1.attention.self.key.weight" in str(e.value)


def test_extra_tensor_is_named(tmp_path, tiny_config):
    state = hf_state_dict(tiny_config)
    state["encoder.layer.2.output.dense.bias"] = np.zeros(tiny_config.hidden_size, np.float32)
    with pytest.raises(CheckpointError) as e:
        BertEncoder.from_pretrained(write_hf_folder(str(tmp_path / "hf"), tiny_config, state))
    assert "unexpected" in _one_line(e) and "encoder.layer.2.output.dense.bias" in str(e.value)


def test_extra_google_tensor_is_named(tmp_path, tiny_config):
    tensors = random_google_tensors(tiny_config)
    tensors["bert/encoder/layer_0/attention/self/extra"] = np.zeros(3, np.float32)
    with pytest.raises(
        CheckpointError, match="unexpected tensor.*bert/encoder/layer_0/attention/self/extra"
    ):
        BertEncoder.from_pretrained(_google_folder(tmp_path / "g", tiny_config, tensors))


def test_wrong_shape_names_tensor_and_both_shapes(tmp_path, tiny_config):
    state = hf_state_dict(tiny_config)
    state["encoder.layer.0.intermediate.dense.weight"] = np.zeros((48, 32), np.float32)
    with pytest.raises(CheckpointError) as e:
        BertEncoder.from_pretrained(write_hf_folder(str(tmp_path / "hf"), tiny_config, state))
    assert (
        "encoder.layer.0.intermediate.dense.weight has shape (48, 32) "
        "but the model expects (64, 32)" in _one_line(e)
    )


def test_config_of_wrong_size(tmp_path, tiny_config):
    tensors = random_google_tensors(tiny_config)
    folder = _google_folder(tmp_path / "g", tiny_config, tensors)
    bigger = dict(tiny_config.to_dict(), hidden_size=64)
    with open(os.path.join(folder, "bert_config.json"), "w") as f:
        json.dump(bigger, f)
    with pytest.raises(
        CheckpointError,
        match=r"bert/embeddings/word_embeddings has shape \(64, 32\) "
        r"but the model expects \(64, 64\)",
    ):
        BertEncoder.from_pretrained(folder)


def test_bert_tf_weights_that_do_not_fit_the_config(tmp_path, tiny_config):
    path = str(tmp_path / "ours")
    save_encoder(BertEncoder(tiny_config), path)
    with open(os.path.join(path, "config.json")) as f:
        data = json.load(f)
    data["intermediate_size"] = 48
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(data, f)
    with pytest.raises(CheckpointError) as e:
        BertEncoder.from_pretrained(path)
    assert "does not fit the model" in _one_line(e)


def test_corrupt_google_index(tmp_path, tiny_config):
    folder = _google_folder(tmp_path / "g", tiny_config, random_google_tensors(tiny_config))
    with open(os.path.join(folder, "bert_model.ckpt.index"), "wb") as f:
        f.write(b"garbage")
    with pytest.raises(CheckpointError) as e:
        BertEncoder.from_pretrained(folder)
    assert "cannot read TF checkpoint" in _one_line(e)


def test_not_a_model_folder(tmp_path):
    (tmp_path / "readme.md").write_text("hi")
    with pytest.raises(CheckpointError, match="not a BERT model folder"):
        BertEncoder.from_pretrained(str(tmp_path))


# === Paths, hub ids, casing ===


def test_resolve_local_paths(tmp_path, tiny_config):
    folder = _google_folder(tmp_path / "g", tiny_config, random_google_tensors(tiny_config))
    assert resolve_model_dir(folder) == folder
    assert resolve_model_dir(os.path.join(folder, "bert_model.ckpt")) == os.path.abspath(folder)
    with pytest.raises(CheckpointError, match="does not exist"):
        resolve_model_dir(str(tmp_path / "nothing" / "here"))


def _offline_hub(monkeypatch, cache):
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))


def test_hub_id_offline_is_a_clear_error(tmp_path, monkeypatch):
    _offline_hub(monkeypatch, tmp_path / "cache")
    with pytest.raises(CheckpointError) as e:
        BertEncoder.from_pretrained("some-org/some-bert")
    assert "cannot fetch 'some-org/some-bert'" in _one_line(e) and "offline" in str(e.value)


def test_hub_id_offline_uses_the_local_cache(tmp_path, monkeypatch, tiny_config, tiny_inputs):
    cache = tmp_path / "cache"
    _offline_hub(monkeypatch, cache)
    repo = cache / "models--some-org--tiny-bert"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    state = hf_state_dict(tiny_config, seed=3)
    write_hf_folder(str(repo / "snapshots" / commit), tiny_config, state)
    from_hub = BertEncoder.from_pretrained("some-org/tiny-bert")
    local = BertEncoder.from_pretrained(str(repo / "snapshots" / commit))
    _assert_same_outputs(local, from_hub, tiny_inputs, atol=0)


def test_read_lowercase(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    (a / "tokenizer_config.json").write_text('{"do_lower_case": false}')
    assert read_lowercase(str(a)) is False
    cased = tmp_path / "cased_L-2_H-128"
    cased.mkdir()
    assert read_lowercase(str(cased)) is False
    assert read_lowercase(str(tmp_path / "uncased_L-2_H-128")) is True
    v = tmp_path / "v"
    v.mkdir()
    (v / "vocab.txt").write_text("[PAD]\n[CLS]\nThe\nthe\n")
    assert read_lowercase(str(v)) is False


# === keras-hub ===


def test_keras_hub_backbone_and_preset_match_keras_hub_outputs(tmp_path, tiny_config, tiny_inputs):
    keras_hub = pytest.importorskip("keras_hub")
    from bert_tf.models import encoder_from_keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=tiny_config.vocab_size,
        num_layers=2,
        num_heads=4,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=tiny_config.max_position_embeddings,
    )
    rng = np.random.default_rng(5)
    for v in backbone.weights:  # LayerNorm betas/biases start at 0: randomise everything
        v.assign(
            rng.normal(0, 0.2, size=v.shape).astype("float32")
            + (1.0 if v.path.endswith("gamma") else 0.0)
        )
    expected = backbone(tiny_inputs)
    real = tiny_inputs["padding_mask"].astype(bool)
    preset = str(tmp_path / "preset")
    backbone.save_to_preset(preset)
    for encoder in (encoder_from_keras_hub(backbone), BertEncoder.from_pretrained(preset)):
        out = encoder(tiny_inputs)
        np.testing.assert_allclose(
            out["sequence_output"].numpy()[real],
            expected["sequence_output"].numpy()[real],
            atol=1e-5,
        )
        np.testing.assert_allclose(
            out["pooled_output"].numpy(), expected["pooled_output"].numpy(), atol=1e-5
        )
