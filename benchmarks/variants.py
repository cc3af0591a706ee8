"""A/B of attention-block formulations, one process, interleaved: what the block's choices rest on.

    .venv/bin/python -m benchmarks.variants [--model minilm] [--xla 1|0] [--reps 7]

Each variant replaces TransformerBlock.call on the blocks of its own encoder
copy (same weights, same inputs, [32,128], 28 of 128 tokens padded), so the
only difference is the formulation. Printed: the largest output difference to
the current block and the speed ratio (> 1: faster than the current block).

- current: fused qkv matmul, reshape + transpose to [3,B,N,T,D], matmul/softmax.
- einsum: the same without transposes, einsum on [B,T,N,D].
- dot_product_attention: keras.ops.dot_product_attention (on TensorFlow it is
  einsum + softmax too; there is no fused kernel for CPU).
- gelu_tanh / no_gelu / no_layer_norm / no_attention / no_softmax: cost probes
  only (not exact, not used).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import types

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _tail(self, x, context, training):
    attn = self.dropout_layer(self.attention_output_dense(context), training=training)
    x = self.attention_layer_norm(x + attn)
    ffn = self.dropout_layer(
        self.output_dense(self._act(self.intermediate_dense(x))), training=training
    )
    return self.output_layer_norm(x + ffn)


def v_einsum(self, x, padding_mask, training=None):
    from keras import ops

    bias = (1.0 - ops.cast(padding_mask, "float32"))[:, None, None, :] * -1e9
    b, t = ops.shape(x)[0], ops.shape(x)[1]
    qkv = ops.reshape(self.qkv_dense(x), (b, t, 3, self.num_heads, self.head_size))
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # [B, T, N, D]
    q = q * ops.cast(1.0 / math.sqrt(self.head_size), q.dtype)
    probs = ops.softmax(ops.cast(ops.einsum("btnd,bsnd->bnts", q, k), "float32") + bias, axis=-1)
    probs = self.attention_dropout_layer(ops.cast(probs, v.dtype), training=training)
    context = ops.reshape(ops.einsum("bnts,bsnd->btnd", probs, v), (b, t, self.hidden_size))
    return _tail(self, x, context, training)


def v_dot_product_attention(self, x, padding_mask, training=None):
    from keras import ops

    b, t = ops.shape(x)[0], ops.shape(x)[1]
    qkv = ops.reshape(self.qkv_dense(x), (b, t, 3, self.num_heads, self.head_size))
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    mask = ops.cast(padding_mask, "bool")[:, None, None, :]
    context = ops.reshape(ops.dot_product_attention(q, k, v, mask=mask), (b, t, self.hidden_size))
    return _tail(self, x, context, training)


def _with_activation(fn):
    def variant(self, x, padding_mask, training=None):
        from bert_tf.layers.transformer_block import TransformerBlock

        self._act = fn
        return TransformerBlock.call(self, x, padding_mask, training)

    return variant


def v_no_attention(self, x, padding_mask, training=None):
    """Cost probe: context = the value projection (no scores, softmax or context matmul)."""
    context = self.qkv_dense(x)[:, :, 2 * self.hidden_size :]
    return _tail(self, x, context, training)


def v_no_softmax(self, x, padding_mask, training=None):
    """Cost probe: the attention matmuls without scaling, mask and softmax."""
    from keras import ops

    b, t = ops.shape(x)[0], ops.shape(x)[1]
    qkv = ops.transpose(
        ops.reshape(self.qkv_dense(x), (b, t, 3, self.num_heads, self.head_size)), (2, 0, 3, 1, 4)
    )
    context = ops.matmul(ops.matmul(qkv[0], ops.transpose(qkv[1], (0, 1, 3, 2))), qkv[2])
    context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (b, t, self.hidden_size))
    return _tail(self, x, context, training)


def v_no_layer_norm(self, x, padding_mask, training=None):
    from bert_tf.layers.transformer_block import TransformerBlock

    self.attention_layer_norm.call = lambda z: z
    self.output_layer_norm.call = lambda z: z
    return TransformerBlock.call(self, x, padding_mask, training)


def variants():
    import keras

    return {
        "current": None,
        "einsum": v_einsum,
        "dot_product_attention": v_dot_product_attention,
        "gelu_tanh": _with_activation(lambda z: keras.activations.gelu(z, approximate=True)),
        "no_gelu": _with_activation(lambda z: z),
        "no_layer_norm": v_no_layer_norm,
        "no_attention": v_no_attention,
        "no_softmax": v_no_softmax,
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.variants")
    p.add_argument("--model", default="minilm")
    p.add_argument("--xla", type=int, default=1)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=128)
    args = p.parse_args(argv)
    import numpy as np
    import tensorflow as tf

    from benchmarks.common import MODEL_SIZES, interleaved, median
    from bert_tf import BertConfig, BertEncoder

    if args.model not in MODEL_SIZES:
        print(
            f"error: unknown model {args.model!r}; choose from {sorted(MODEL_SIZES)}",
            file=sys.stderr,
        )
        return 2
    config = BertConfig(**MODEL_SIZES[args.model])
    rng = np.random.default_rng(0)
    mask = np.ones((args.batch, args.seq), "int32")
    mask[:, args.seq - args.seq * 28 // 128 :] = 0
    inputs = {
        "token_ids": tf.constant(
            rng.integers(1, config.vocab_size, (args.batch, args.seq)), tf.int32
        ),
        "segment_ids": tf.zeros((args.batch, args.seq), tf.int32),
        "padding_mask": tf.constant(mask),
    }
    weights = BertEncoder(config).get_weights()
    fns, outs = {}, {}
    for name, call in variants().items():
        model = BertEncoder(config)
        model.set_weights(weights)
        if call is not None:
            for block in model.transformer_layers:
                block.call = types.MethodType(call, block)
        fn = tf.function(
            lambda x, m=model: m(x, training=False)["sequence_output"], jit_compile=bool(args.xla)
        )
        outs[name] = fn(inputs).numpy()
        fns[name] = lambda fn=fn: fn(inputs).numpy()
    times = interleaved(fns, args.reps)
    base = median(times["current"])
    print(
        f"{args.model} [{args.batch},{args.seq}] {'XLA' if args.xla else 'no XLA'}, median of "
        f"{args.reps}"
    )
    for name in fns:
        diff = float(np.abs(outs[name] - outs["current"]).max())
        print(
            f"  {name:<22} {median(times[name]):8.4f}s  speed vs current "
            f"{base / median(times[name]):.3f}x"
            f"  max |diff| {diff:.2e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
