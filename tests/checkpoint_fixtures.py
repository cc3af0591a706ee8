"""Tiny checkpoint folders for the checkpoint tests, written with numpy / TF only (no torch)."""

import json
import math
import os

import numpy as np
from safetensors.numpy import save_file

from bert_tf.checkpoints import name_map


def hf_state_dict(config, seed=0, heads=False):
    """Random HF-named BERT weights (no ``bert.`` prefix), Linear weights [out, in]."""
    rng = np.random.default_rng(seed)
    google = random_google_tensors(config, rng, heads=heads)
    return name_map.google_to_hf(google, prefix=False)


def random_google_tensors(config, rng=None, heads=False):
    """Random Google-named weights with Google layouts; LayerNorm gammas near 1."""
    rng = rng if rng is not None else np.random.default_rng(0)
    h, i, v = config.hidden_size, config.intermediate_size, config.vocab_size
    shapes = {
        "bert/embeddings/word_embeddings": (v, h),
        "bert/embeddings/position_embeddings": (config.max_position_embeddings, h),
        "bert/embeddings/token_type_embeddings": (config.type_vocab_size, h),
        "bert/pooler/dense/kernel": (h, h),
        "cls/predictions/transform/dense/kernel": (h, h),
        "cls/predictions/output_bias": (v,),
        "cls/seq_relationship/output_weights": (2, h),
        "cls/seq_relationship/output_bias": (2,),
    }
    out = {}
    names = name_map.google_encoder_names(config.num_hidden_layers)
    if heads:
        names += name_map.GOOGLE_MLM_NAMES + name_map.GOOGLE_NSP_NAMES
    for name in names:
        if name in shapes:
            shape = shapes[name]
        elif name.endswith("intermediate/dense/kernel"):
            shape = (h, i)
        elif name.endswith("intermediate/dense/bias"):
            shape = (i,)
        elif "/output/dense/kernel" in name and "attention" not in name:
            shape = (i, h)
        elif name.endswith("kernel"):
            shape = (h, h)
        else:
            shape = (h,)
        value = rng.normal(0.0, 0.2, size=shape).astype(np.float32)
        if name.endswith("gamma"):
            value = (1.0 + 0.1 * value).astype(np.float32)
        out[name] = value
    return out


def write_hf_folder(folder, config, state, vocab=True):
    os.makedirs(folder, exist_ok=True)
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    data = config.to_dict()
    data.update({"model_type": "bert", "architectures": ["BertModel"]})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(data, f)
    if vocab:
        write_vocab(os.path.join(folder, "vocab.txt"), config.vocab_size)
    return folder


def write_vocab(path, size):
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(size - 5)]
    with open(path, "w") as f:
        f.write("\n".join(tokens) + "\n")


# === A numpy BERT forward pass, written from the HF layout, as an independent reference ===


def _layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


_erf = np.vectorize(math.erf)


def numpy_bert(state, config, token_ids, segment_ids, padding_mask):
    """last_hidden_state [B, T, H], pooler_output [B, H] from an HF state dict (float64 math)."""
    sd = {name_map.hf_canonical_name(k): np.asarray(v, np.float64) for k, v in state.items()}
    eps, n = config.layer_norm_eps, config.num_attention_heads
    b, t = token_ids.shape
    h = config.hidden_size
    d = h // n
    x = (
        sd["embeddings.word_embeddings.weight"][token_ids]
        + sd["embeddings.position_embeddings.weight"][:t][None]
        + sd["embeddings.token_type_embeddings.weight"][segment_ids]
    )
    x = _layer_norm(x, sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"], eps)
    bias = (1.0 - padding_mask[:, None, None, :]) * -1e9  # [B, 1, 1, T]

    def linear(x, name):
        return x @ sd[f"{name}.weight"].T + sd[f"{name}.bias"]

    for i in range(config.num_hidden_layers):
        p = f"encoder.layer.{i}"
        q, k, v = (
            linear(x, f"{p}.attention.self.{part}").reshape(b, t, n, d).transpose(0, 2, 1, 3)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, t, h)
        x = _layer_norm(
            x + linear(ctx, f"{p}.attention.output.dense"),
            sd[f"{p}.attention.output.LayerNorm.weight"],
            sd[f"{p}.attention.output.LayerNorm.bias"],
            eps,
        )
        inner = linear(x, f"{p}.intermediate.dense")
        inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
        x = _layer_norm(
            x + linear(inner, f"{p}.output.dense"),
            sd[f"{p}.output.LayerNorm.weight"],
            sd[f"{p}.output.LayerNorm.bias"],
            eps,
        )
    pooled = np.tanh(linear(x[:, 0], "pooler.dense"))
    return x, pooled
