"""Names that do not shadow: no package attribute hides a submodule of the same name."""

import importlib
import inspect
import pkgutil

import pytest

import bert_tf
import export

PACKAGES = ["bert_tf"] + [
    f"bert_tf.{m.name}" for m in pkgutil.iter_modules(bert_tf.__path__) if m.ispkg
]


@pytest.mark.parametrize("package_name", PACKAGES + ["export"])
def test_no_package_attribute_shadows_a_submodule(package_name):
    package = importlib.import_module(package_name)
    shadowed = [
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if hasattr(package, m.name) and not inspect.ismodule(getattr(package, m.name))
    ]
    assert shadowed == [], f"{package_name} attributes shadow submodules: {shadowed}"


def test_training_recipes_import_from_their_modules():
    from bert_tf.training.finetune import finetune
    from bert_tf.training.pretrain import pretrain

    assert callable(finetune) and callable(pretrain)
    assert inspect.ismodule(importlib.import_module("bert_tf.training").finetune)
    assert export.__name__ == "export"
