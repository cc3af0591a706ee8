"""The explicit name map between checkpoint formats and our Keras variables.

Every format is first translated to one canonical form: google-research/bert's
TF1 variable names with their layouts (Dense kernels [in, out], embeddings
[V, H], ``cls/seq_relationship/output_weights`` [2, H]). Hugging Face names map
onto those one to one (Linear weights [out, in] are transposed); our Keras
variables map onto them with one fused exception, the attention ``qkv`` kernel
[H, 3H] = concat(query, key, value) along the output axis.

Nothing here guesses: a name is either in a table below, in an explicit list of
things to ignore (optimizer slots, buffers, other tasks' heads), or an error.
"""

from __future__ import annotations

import re

import numpy as np
from keras import ops

from bert_tf.errors import CheckpointError

# === Google TF1 names =======================================================


def google_encoder_names(num_layers: int) -> list[str]:
    """Every tensor a Google BERT encoder checkpoint holds under ``bert/``."""
    names = [
        "bert/embeddings/word_embeddings",
        "bert/embeddings/position_embeddings",
        "bert/embeddings/token_type_embeddings",
        "bert/embeddings/LayerNorm/gamma",
        "bert/embeddings/LayerNorm/beta",
    ]
    for i in range(num_layers):
        p = f"bert/encoder/layer_{i}"
        for part in ("query", "key", "value"):
            names += [f"{p}/attention/self/{part}/kernel", f"{p}/attention/self/{part}/bias"]
        names += [
            f"{p}/attention/output/dense/kernel",
            f"{p}/attention/output/dense/bias",
            f"{p}/attention/output/LayerNorm/gamma",
            f"{p}/attention/output/LayerNorm/beta",
            f"{p}/intermediate/dense/kernel",
            f"{p}/intermediate/dense/bias",
            f"{p}/output/dense/kernel",
            f"{p}/output/dense/bias",
            f"{p}/output/LayerNorm/gamma",
            f"{p}/output/LayerNorm/beta",
        ]
    names += ["bert/pooler/dense/kernel", "bert/pooler/dense/bias"]
    return names


GOOGLE_MLM_NAMES = [
    "cls/predictions/transform/dense/kernel",
    "cls/predictions/transform/dense/bias",
    "cls/predictions/transform/LayerNorm/gamma",
    "cls/predictions/transform/LayerNorm/beta",
    "cls/predictions/output_bias",
]
GOOGLE_NSP_NAMES = ["cls/seq_relationship/output_weights", "cls/seq_relationship/output_bias"]

# Google checkpoint contents that are not model weights, ignored on purpose.
_GOOGLE_IGNORED_NAMES = {
    "global_step",
    "_CHECKPOINTABLE_OBJECT_GRAPH",
    "beta1_power",
    "beta2_power",  # tf.compat.v1.train.AdamOptimizer accumulators
    "loss_scale",
    "good_steps",  # TF1 dynamic loss scaling (mixed-precision BERT recipes)
}
_GOOGLE_IGNORED_SUFFIXES = (
    "/adam_m",
    "/adam_v",  # google-research/bert AdamWeightDecayOptimizer slots
    "/Adam",
    "/Adam_1",
    "/Momentum",
    "/lamb_m",
    "/lamb_v",  # other TF1 optimizers' slots
)
# Heads of other google-research/bert tasks (run_classifier, run_squad): not encoder weights.
_GOOGLE_OTHER_HEADS = {
    "output_weights",
    "output_bias",
    "cls/squad/output_weights",
    "cls/squad/output_bias",
}


def google_is_ignored(name: str) -> bool:
    """Optimizer state and bookkeeping that a Google checkpoint may carry."""
    return name in _GOOGLE_IGNORED_NAMES or name.endswith(_GOOGLE_IGNORED_SUFFIXES)


def google_is_other_head(name: str) -> bool:
    """A tensor of a known google-research/bert head that our model does not load."""
    return name in _GOOGLE_OTHER_HEADS


# === Hugging Face names =====================================================


def hf_google_table(num_layers: int) -> list[tuple[str, str, bool]]:
    """(HF name without ``bert.``, Google name, transpose?) for the encoder and the pretraining
    heads."""
    t = [
        ("embeddings.word_embeddings.weight", "bert/embeddings/word_embeddings", False),
        ("embeddings.position_embeddings.weight", "bert/embeddings/position_embeddings", False),
        ("embeddings.token_type_embeddings.weight", "bert/embeddings/token_type_embeddings", False),
        ("embeddings.LayerNorm.weight", "bert/embeddings/LayerNorm/gamma", False),
        ("embeddings.LayerNorm.bias", "bert/embeddings/LayerNorm/beta", False),
    ]
    for i in range(num_layers):
        h, g = f"encoder.layer.{i}", f"bert/encoder/layer_{i}"
        for part in ("query", "key", "value"):
            t += [
                (f"{h}.attention.self.{part}.weight", f"{g}/attention/self/{part}/kernel", True),
                (f"{h}.attention.self.{part}.bias", f"{g}/attention/self/{part}/bias", False),
            ]
        t += [
            (f"{h}.attention.output.dense.weight", f"{g}/attention/output/dense/kernel", True),
            (f"{h}.attention.output.dense.bias", f"{g}/attention/output/dense/bias", False),
            (
                f"{h}.attention.output.LayerNorm.weight",
                f"{g}/attention/output/LayerNorm/gamma",
                False,
            ),
            (f"{h}.attention.output.LayerNorm.bias", f"{g}/attention/output/LayerNorm/beta", False),
            (f"{h}.intermediate.dense.weight", f"{g}/intermediate/dense/kernel", True),
            (f"{h}.intermediate.dense.bias", f"{g}/intermediate/dense/bias", False),
            (f"{h}.output.dense.weight", f"{g}/output/dense/kernel", True),
            (f"{h}.output.dense.bias", f"{g}/output/dense/bias", False),
            (f"{h}.output.LayerNorm.weight", f"{g}/output/LayerNorm/gamma", False),
            (f"{h}.output.LayerNorm.bias", f"{g}/output/LayerNorm/beta", False),
        ]
    t += [
        ("pooler.dense.weight", "bert/pooler/dense/kernel", True),
        ("pooler.dense.bias", "bert/pooler/dense/bias", False),
        # MLM head; its decoder weight is tied to the word embeddings (checked, not loaded).
        ("cls.predictions.transform.dense.weight", "cls/predictions/transform/dense/kernel", True),
        ("cls.predictions.transform.dense.bias", "cls/predictions/transform/dense/bias", False),
        (
            "cls.predictions.transform.LayerNorm.weight",
            "cls/predictions/transform/LayerNorm/gamma",
            False,
        ),
        (
            "cls.predictions.transform.LayerNorm.bias",
            "cls/predictions/transform/LayerNorm/beta",
            False,
        ),
        ("cls.predictions.bias", "cls/predictions/output_bias", False),
        # NSP: torch Linear [2, H] is already Google's output_weights layout.
        ("cls.seq_relationship.weight", "cls/seq_relationship/output_weights", False),
        ("cls.seq_relationship.bias", "cls/seq_relationship/output_bias", False),
    ]
    return t


# Buffers, not weights.
_HF_IGNORED = {"embeddings.position_ids"}
# Heads of other HF task classes (BertForSequenceClassification, ...): not encoder weights.
_HF_OTHER_HEAD_PREFIXES = ("classifier.", "qa_outputs.")
_HF_ENCODER_PREFIXES = ("embeddings.", "encoder.", "pooler.", "cls.")


def hf_canonical_name(name: str) -> str:
    """Strips the ``bert.`` prefix and renames old-style LayerNorm ``gamma``/``beta`` to
    ``weight``/``bias``."""
    if name.startswith("bert."):
        name = name[len("bert.") :]
    name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
    return re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)


def hf_to_google(tensors: dict, num_layers: int, source: str) -> tuple[dict, dict]:
    """HF state dict (numpy) -> (Google-named tensors, origin); unknown names are an error.

    ``origin`` maps each Google name to (the HF name it has or would have in
    this file, transposed?), so errors can speak the file's own names.
    """
    table = {hf: (g, tr) for hf, g, tr in hf_google_table(num_layers)}
    prefixed = any(n.startswith("bert.") for n in tensors)
    origin = {
        g: (f"bert.{hf}" if prefixed and not hf.startswith("cls.") else hf, tr)
        for hf, (g, tr) in table.items()
    }
    out, unexpected = {}, []
    decoder_weight = decoder_bias = None
    for raw_name, value in tensors.items():
        name = hf_canonical_name(raw_name)
        if name in _HF_IGNORED:
            continue
        if name == "cls.predictions.decoder.weight":
            decoder_weight = value
            continue
        if name == "cls.predictions.decoder.bias":
            decoder_bias = value
            continue
        if name in table:
            google, transpose = table[name]
            value = np.asarray(value)
            if not np.issubdtype(
                value.dtype, np.integer
            ):  # float16 / bfloat16 files compute in float32
                value = value.astype(np.float32)
            if transpose:
                if value.ndim != 2:
                    raise CheckpointError(
                        f"{source}: tensor {raw_name} should be a 2-D Linear weight "
                        f"but has shape {tuple(value.shape)}"
                    )
                value = value.T
            out[google] = np.ascontiguousarray(value)
            origin[google] = (raw_name, transpose)
        elif name.startswith(_HF_OTHER_HEAD_PREFIXES):
            continue
        else:
            unexpected.append(raw_name)
    if unexpected:
        raise CheckpointError(
            f"{source}: unexpected tensor(s) {_short_list(unexpected)} (not part of a BERT model "
            f"with num_hidden_layers={num_layers})"
        )
    if decoder_weight is not None and "bert/embeddings/word_embeddings" in out:
        if not np.array_equal(np.asarray(decoder_weight), out["bert/embeddings/word_embeddings"]):
            raise CheckpointError(
                f"{source}: cls.predictions.decoder.weight differs from the word embeddings; "
                "untied MLM output weights are not supported"
            )
    if decoder_bias is not None:
        if "cls/predictions/output_bias" not in out:
            out["cls/predictions/output_bias"] = np.asarray(decoder_bias)
        elif not np.array_equal(np.asarray(decoder_bias), out["cls/predictions/output_bias"]):
            raise CheckpointError(
                f"{source}: cls.predictions.decoder.bias differs from cls.predictions.bias"
            )
    return out, origin


def google_to_hf(tensors: dict, prefix: bool) -> dict:
    """Google-named tensors -> HF state dict; ``prefix`` puts ``bert.`` before encoder names."""
    num_layers = count_google_layers(tensors)
    out = {}
    for hf, google, transpose in hf_google_table(num_layers):
        if google not in tensors:
            continue
        value = np.asarray(tensors[google])
        if transpose:
            value = value.T
        name = f"bert.{hf}" if prefix and not hf.startswith("cls.") else hf
        out[name] = np.ascontiguousarray(value, dtype=np.float32)
    if "cls/predictions/output_bias" in tensors:
        # HF keeps a (tied) copy of the bias on the decoder Linear.
        out["cls.predictions.decoder.bias"] = out["cls.predictions.bias"].copy()
    return out


def count_google_layers(tensors) -> int:
    layers = {
        int(m.group(1)) for name in tensors if (m := re.match(r"bert/encoder/layer_(\d+)/", name))
    }
    return max(layers) + 1 if layers else 0


# === Our Keras variables ====================================================


def _encoder_slots(encoder) -> list[tuple[object, list[str], str]]:
    """(Keras variable, Google source names, how) for every encoder variable.

    ``how`` is "copy" (same layout) or "concat1"/"concat0" (query, key, value
    stacked along the output axis into the fused qkv kernel / bias).
    """
    emb = encoder.embeddings
    slots = [
        (emb.word_embeddings.embeddings, ["bert/embeddings/word_embeddings"], "copy"),
        (emb.position_embeddings, ["bert/embeddings/position_embeddings"], "copy"),
        (emb.token_type_embeddings.embeddings, ["bert/embeddings/token_type_embeddings"], "copy"),
        (emb.layer_norm.gamma, ["bert/embeddings/LayerNorm/gamma"], "copy"),
        (emb.layer_norm.beta, ["bert/embeddings/LayerNorm/beta"], "copy"),
    ]
    for i, block in enumerate(encoder.transformer_layers):
        g = f"bert/encoder/layer_{i}"
        qkv = [f"{g}/attention/self/{part}" for part in ("query", "key", "value")]
        slots += [
            (block.qkv_dense.kernel, [f"{n}/kernel" for n in qkv], "concat1"),
            (block.qkv_dense.bias, [f"{n}/bias" for n in qkv], "concat0"),
            (block.attention_output_dense.kernel, [f"{g}/attention/output/dense/kernel"], "copy"),
            (block.attention_output_dense.bias, [f"{g}/attention/output/dense/bias"], "copy"),
            (block.attention_layer_norm.gamma, [f"{g}/attention/output/LayerNorm/gamma"], "copy"),
            (block.attention_layer_norm.beta, [f"{g}/attention/output/LayerNorm/beta"], "copy"),
            (block.intermediate_dense.kernel, [f"{g}/intermediate/dense/kernel"], "copy"),
            (block.intermediate_dense.bias, [f"{g}/intermediate/dense/bias"], "copy"),
            (block.output_dense.kernel, [f"{g}/output/dense/kernel"], "copy"),
            (block.output_dense.bias, [f"{g}/output/dense/bias"], "copy"),
            (block.output_layer_norm.gamma, [f"{g}/output/LayerNorm/gamma"], "copy"),
            (block.output_layer_norm.beta, [f"{g}/output/LayerNorm/beta"], "copy"),
        ]
    slots += [
        (encoder.pooler.kernel, ["bert/pooler/dense/kernel"], "copy"),
        (encoder.pooler.bias, ["bert/pooler/dense/bias"], "copy"),
    ]
    covered = {id(v) for v, _, _ in slots}
    left = [v.path for v in encoder.weights if id(v) not in covered]
    if left:  # the encoder grew a variable this map does not know: fail loudly, never skip
        raise CheckpointError(f"name map does not cover encoder variable(s) {_short_list(left)}")
    return slots


def _mlm_slots(pretrainer):
    head = pretrainer.mlm_head
    if not head.tie_embeddings:  # Google's layout has no name for it: fail, never drop it
        raise CheckpointError(
            "an untied MLM head (tie_mlm_embeddings=False) has no Google/HF "
            "name for its output matrix; convert the encoder folder (model/)"
        )
    return [
        (head.dense.kernel, ["cls/predictions/transform/dense/kernel"], "copy"),
        (head.dense.bias, ["cls/predictions/transform/dense/bias"], "copy"),
        (head.layer_norm.gamma, ["cls/predictions/transform/LayerNorm/gamma"], "copy"),
        (head.layer_norm.beta, ["cls/predictions/transform/LayerNorm/beta"], "copy"),
        (head.output_bias, ["cls/predictions/output_bias"], "copy"),
    ]


def _nsp_slots(pretrainer):
    head = pretrainer.nsp_head
    # Google stores [2, H]; the Keras Dense kernel is [H, 2].
    return [
        (head.kernel, ["cls/seq_relationship/output_weights"], "transpose"),
        (head.bias, ["cls/seq_relationship/output_bias"], "copy"),
    ]


def _gather(value_of, names, how):
    parts = [value_of(n) for n in names]
    if how == "copy":
        return parts[0]
    if how == "transpose":
        return parts[0].T
    if how == "concat1":
        return np.concatenate(parts, axis=1)
    if how == "concat0":
        return np.concatenate(parts, axis=0)
    raise AssertionError(how)


def _check_part_shapes(tensors, names, how, expected, source, origin):
    """Each source tensor's own expected shape, so errors name the tensor actually wrong."""
    for name in names:
        got = tuple(np.shape(tensors[name]))
        if how == "copy":
            want = tuple(expected)
        elif how == "transpose":
            want = tuple(reversed(expected))
        elif how == "concat1":
            want = (expected[0], expected[1] // 3)
        else:
            want = (expected[0] // 3,)
        if got != want:
            shown, transposed = origin.get(name, (name, False))
            if transposed:  # report in the file's own layout
                got, want = tuple(reversed(got)), tuple(reversed(want))
            raise CheckpointError(
                f"{source}: tensor {shown} has shape {got} but the model expects {want} "
                "(does the config match these weights?)"
            )


def _short_list(names, limit=5):
    names = sorted(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def assign_from_google(
    model_slots, tensors: dict, source: str, allowed_extra=(), origin=None
) -> None:
    """Checks every tensor (missing, extra, shape) first, then assigns them all.

    ``model_slots``: from ``encoder_slots``/``pretrainer_slots``. ``tensors``:
    Google-named numpy arrays with optimizer slots already removed.
    ``allowed_extra``: names present in ``tensors`` that are known and
    deliberately not loaded (e.g. heads of another task). ``origin``: Google
    name -> (name in the source file, transposed?) for error messages.
    """
    origin = origin or {}
    shown = lambda names: _short_list([origin.get(n, (n, False))[0] for n in names])  # noqa: E731
    needed = [n for _, names, _ in model_slots for n in names]
    missing = [n for n in needed if n not in tensors]
    if missing:
        raise CheckpointError(f"{source}: missing tensor(s) {shown(missing)}")
    extra = set(tensors) - set(needed) - set(allowed_extra)
    if extra:
        raise CheckpointError(f"{source}: unexpected tensor(s) {shown(extra)} for this model")
    plan = []
    for variable, names, how in model_slots:
        expected = tuple(variable.shape)
        _check_part_shapes(tensors, names, how, expected, source, origin)
        plan.append((variable, _gather(lambda n: np.asarray(tensors[n]), names, how)))
    for variable, value in plan:  # all checked: now assign
        variable.assign(ops.cast(value, variable.dtype))


def encoder_slots(encoder):
    return _encoder_slots(encoder)


def pretrainer_slots(pretrainer, mlm=True, nsp=True):
    slots = _encoder_slots(pretrainer.encoder)
    if mlm:
        slots += _mlm_slots(pretrainer)
    if nsp and pretrainer.nsp_head is not None:
        slots += _nsp_slots(pretrainer)
    return slots


def export_google(model_slots) -> dict:
    """Keras variables -> Google-named float32 numpy tensors (the inverse of assign_from_google)."""
    out = {}
    for variable, names, how in model_slots:
        value = np.asarray(variable.numpy(), dtype=np.float32)
        if how == "copy":
            out[names[0]] = value
        elif how == "transpose":
            out[names[0]] = np.ascontiguousarray(value.T)
        else:
            axis = 1 if how == "concat1" else 0
            for name, part in zip(names, np.split(value, 3, axis=axis)):
                out[name] = np.ascontiguousarray(part)
    return out
