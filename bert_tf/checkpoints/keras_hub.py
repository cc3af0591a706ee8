"""keras-hub ``BertBackbone`` weights (a live backbone or a saved preset folder) under Google names.

keras-hub splits attention kernels per head (query [H, N, D], output [N, D, H]);
reshaping them gives Google's [H, H] Dense layouts, after which the usual name
map applies.
"""

from __future__ import annotations

import os

import numpy as np

from bert_tf.checkpoints.name_map import CheckpointError
from bert_tf.config import BertConfig
from bert_tf.errors import cause_line
from bert_tf.model_dir import read_json


def is_keras_hub_folder(folder: str) -> bool:
    path = os.path.join(folder, "config.json")
    if not os.path.exists(path):
        return False
    data = read_json(path)
    return "keras_hub" in str(data.get("module", "")) and data.get("class_name") == "BertBackbone"


def backbone_config(backbone) -> BertConfig:
    c = backbone.get_config()
    return BertConfig(
        vocab_size=c["vocabulary_size"],
        hidden_size=c["hidden_dim"],
        num_hidden_layers=c["num_layers"],
        num_attention_heads=c["num_heads"],
        intermediate_size=c["intermediate_dim"],
        hidden_act="gelu_approximate",  # keras-hub's BertBackbone uses the tanh approximation
        hidden_dropout_prob=c["dropout"],
        attention_probs_dropout_prob=c["dropout"],
        max_position_embeddings=c["max_sequence_length"],
        type_vocab_size=c["num_segments"],
        layer_norm_eps=1e-12,
    )


def backbone_to_google(backbone) -> tuple[BertConfig, dict]:
    """(BertConfig, Google-named float32 tensors) of a keras_hub.models.BertBackbone."""
    config = backbone_config(backbone)
    h = config.hidden_size
    weights = {v.path: np.asarray(v.numpy(), dtype=np.float32) for v in backbone.weights}

    def take(path):
        if path not in weights:
            raise CheckpointError(f"keras-hub BertBackbone has no variable {path}")
        return weights.pop(path)

    out = {
        "bert/embeddings/word_embeddings": take("token_embedding/embeddings"),
        "bert/embeddings/position_embeddings": take("position_embedding/embeddings"),
        "bert/embeddings/token_type_embeddings": take("segment_embedding/embeddings"),
        "bert/embeddings/LayerNorm/gamma": take("embeddings_layer_norm/gamma"),
        "bert/embeddings/LayerNorm/beta": take("embeddings_layer_norm/beta"),
        "bert/pooler/dense/kernel": take("pooled_dense/kernel"),
        "bert/pooler/dense/bias": take("pooled_dense/bias"),
    }
    for i in range(config.num_hidden_layers):
        k, g = f"transformer_layer_{i}", f"bert/encoder/layer_{i}"
        for part in ("query", "key", "value"):
            out[f"{g}/attention/self/{part}/kernel"] = take(
                f"{k}/self_attention_layer/{part}/kernel"
            ).reshape(h, h)
            out[f"{g}/attention/self/{part}/bias"] = take(
                f"{k}/self_attention_layer/{part}/bias"
            ).reshape(h)
        out.update(
            {
                f"{g}/attention/output/dense/kernel": take(
                    f"{k}/self_attention_layer/attention_output/kernel"
                ).reshape(h, h),
                f"{g}/attention/output/dense/bias": take(
                    f"{k}/self_attention_layer/attention_output/bias"
                ),
                f"{g}/attention/output/LayerNorm/gamma": take(
                    f"{k}/self_attention_layer_norm/gamma"
                ),
                f"{g}/attention/output/LayerNorm/beta": take(f"{k}/self_attention_layer_norm/beta"),
                f"{g}/intermediate/dense/kernel": take(
                    f"{k}/feedforward_intermediate_dense/kernel"
                ),
                f"{g}/intermediate/dense/bias": take(f"{k}/feedforward_intermediate_dense/bias"),
                f"{g}/output/dense/kernel": take(f"{k}/feedforward_output_dense/kernel"),
                f"{g}/output/dense/bias": take(f"{k}/feedforward_output_dense/bias"),
                f"{g}/output/LayerNorm/gamma": take(f"{k}/feedforward_layer_norm/gamma"),
                f"{g}/output/LayerNorm/beta": take(f"{k}/feedforward_layer_norm/beta"),
            }
        )
    if weights:  # a variable this map does not know: never skip it silently
        raise CheckpointError(
            f"keras-hub BertBackbone has unmapped variable(s) {', '.join(sorted(weights)[:5])}"
        )
    return config, {name: np.ascontiguousarray(v) for name, v in out.items()}


def read_keras_hub_folder(folder: str) -> tuple[BertConfig, dict]:
    """A keras-hub preset folder (config.json naming BertBackbone + model.weights.h5)."""
    try:
        import keras_hub
    except ImportError as e:
        raise CheckpointError(f"{folder} is a keras-hub preset; reading it needs keras-hub") from e
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(folder)
    except Exception as e:
        raise CheckpointError(f"cannot load keras-hub preset {folder}: {cause_line(e)}") from e
    return backbone_to_google(backbone)


def preset_vocab_file(folder: str) -> str | None:
    path = os.path.join(folder, "assets", "tokenizer", "vocabulary.txt")
    return path if os.path.isfile(path) else None
