"""Shared test harness in the spirit of keras-hub's run_layer_test / run_backbone_test.

``run_layer_test`` and ``run_model_test`` put one layer or model through every check
a Keras layer owes its users, each also callable alone:

- output shapes (and dtypes);
- config round trip: ``get_config()`` names every constructor argument, is JSON,
  and ``from_config`` rebuilds the same thing (same config, same outputs with the
  weights copied);
- a ``.keras`` file round trip (architecture and weights, through the registered names);
- mixed precision: built under ``mixed_float16`` and ``mixed_bfloat16`` with the
  float32 weights copied in, variables stay float32, outputs have the expected
  dtype and are close to the float32 outputs.
"""

import inspect
import json
import os
import tempfile

import keras
import numpy as np

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")
# Closeness of mixed-precision outputs to float32 ones (tiny random models, values O(1)):
# float16 keeps 10 mantissa bits, bfloat16 7.
MIXED_TOLERANCE = {"mixed_float16": 2e-2, "mixed_bfloat16": 1e-1}


def assert_outputs_close(a, b, atol=1e-6, rtol=1e-7):
    a, b = keras.tree.flatten(a), keras.tree.flatten(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(
            np.asarray(x, "float32"), np.asarray(y, "float32"), atol=atol, rtol=rtol
        )


def _as_args(inputs):
    """Positional arguments for a call: a tuple stays several arguments, anything else is one."""
    return inputs if isinstance(inputs, tuple) else (inputs,)


def assert_config_complete(obj):
    """get_config() names every constructor argument and survives JSON."""
    config = obj.get_config()
    params = [
        name
        for name, p in inspect.signature(type(obj).__init__).parameters.items()
        if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    missing = [name for name in params if name not in config]
    assert not missing, f"{type(obj).__name__}.get_config() lacks {missing}"
    json.dumps(keras.saving.serialize_keras_object(obj))
    return config


def run_serialization_test(model, inputs):
    """get_config/from_config gives the same architecture; weights copied give the same outputs."""
    config = assert_config_complete(model)
    clone = model.__class__.from_config(config)
    if not clone.built:
        clone(*_as_args(inputs))
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    assert_outputs_close(model(*_as_args(inputs)), clone(*_as_args(inputs)))


def run_saved_model_test(model, inputs):
    """A .keras file round trip restores architecture and weights exactly.

    A layer is saved inside a functional model built on ``inputs``' shapes.
    """
    target = model
    if not isinstance(model, keras.Model):
        symbolic = tuple(
            keras.Input(shape=np.shape(x)[1:], dtype=str(np.asarray(x).dtype))
            for x in _as_args(inputs)
        )
        target = keras.Model(list(symbolic), model(*symbolic))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        target.save(path)
        restored = keras.saving.load_model(path)
    assert type(restored) is type(target)
    args = _as_args(inputs) if target is model else (list(_as_args(inputs)),)
    assert_outputs_close(target(*args), restored(*args))


def _check_shapes(outputs, expected_output_shape):
    """expected_output_shape: the outputs' structure with a shape tuple for each tensor."""
    if expected_output_shape is not None:
        got = keras.tree.map_structure(lambda x: tuple(x.shape), outputs)
        assert got == expected_output_shape, (
            f"output shapes {got}, expected {expected_output_shape}"
        )


def run_mixed_precision_test(make, reference, inputs, output_dtype="float32"):
    """``make(dtype)`` under each mixed policy, float32 weights of ``reference`` copied in.

    output_dtype: "float32" (outputs are cast back) or "compute" (the policy's compute dtype).
    """
    expected = reference(*_as_args(inputs))
    for policy in MIXED_POLICIES:
        mixed = make(policy)
        outputs = mixed(*_as_args(inputs))  # builds it
        mixed.set_weights(reference.get_weights())
        outputs = mixed(*_as_args(inputs))
        assert all(v.dtype == "float32" for v in mixed.weights), f"{policy}: non-float32 variables"
        want = "float32" if output_dtype == "float32" else keras.DTypePolicy(policy).compute_dtype
        for out in keras.tree.flatten(outputs):
            assert keras.backend.standardize_dtype(out.dtype) == want, (
                f"{policy}: output {out.dtype}"
            )
        tol = MIXED_TOLERANCE[policy]
        assert_outputs_close(expected, outputs, atol=tol, rtol=tol)


def run_layer_test(
    layer_cls,
    init_kwargs,
    inputs,
    expected_output_shape=None,
    mixed_output_dtype="compute",
    run_mixed_precision=True,
):
    """Every check on ``layer_cls(**init_kwargs)`` called on ``inputs`` (a tuple = several args)."""
    layer = layer_cls(**init_kwargs)
    _check_shapes(layer(*_as_args(inputs)), expected_output_shape)
    run_serialization_test(layer, inputs)
    run_saved_model_test(layer, inputs)
    if run_mixed_precision:
        run_mixed_precision_test(
            lambda policy: layer_cls(**init_kwargs, dtype=policy),
            layer,
            inputs,
            output_dtype=mixed_output_dtype,
        )
    return layer


def run_model_test(make_model, inputs, expected_output_shape=None, run_mixed_precision=True):
    """Every check on ``make_model(dtype=None)``; ``make_model(policy)`` builds the mixed ones.

    Model outputs are float32 under every policy.
    """
    model = make_model(None)
    _check_shapes(model(*_as_args(inputs)), expected_output_shape)
    config = model.get_config()
    for key in ("name", "trainable", "dtype"):
        assert key in config, f"{type(model).__name__}.get_config() lacks {key!r}"
    run_serialization_test(model, inputs)
    run_saved_model_test(model, inputs)
    if run_mixed_precision:
        run_mixed_precision_test(make_model, model, inputs, output_dtype="float32")
        mixed = make_model("mixed_float16")
        assert type(mixed).from_config(mixed.get_config()).dtype_policy.name == "mixed_float16"
    return model
