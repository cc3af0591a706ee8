"""Shared test harness (keras-hub style): config and .keras round trips in one call each."""

import os
import tempfile

import keras
import numpy as np


def assert_outputs_close(a, b, atol=1e-6):
    a, b = keras.tree.flatten(a), keras.tree.flatten(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol)


def run_serialization_test(model, inputs):
    """get_config/from_config gives the same architecture; weights copied give the same outputs."""
    clone = model.__class__.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    assert_outputs_close(model(inputs), clone(inputs))


def run_saved_model_test(model, inputs):
    """A .keras file round trip restores architecture and weights exactly."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    assert_outputs_close(model(inputs), restored(inputs))
