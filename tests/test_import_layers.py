"""The package's import layers (issue 16): every arrow points down, none hides in a function.

Bottom to top: config / presets / errors / model_dir -> layers -> text -> checkpoints -> models
-> data -> training -> cli; export on top. Reads the source with ``ast`` (imports nothing).
"""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("bert_tf", "export")
# (importer, imported) pairs of subpackages that must never happen: the lower one stays lower.
FORBIDDEN = [
    ("bert_tf.checkpoints", "bert_tf.models"),
    ("bert_tf.text", "bert_tf.checkpoints"),
    ("bert_tf.text", "bert_tf.models"),
    ("bert_tf.model_dir", "bert_tf.checkpoints"),
    ("bert_tf.model_dir", "bert_tf.text"),
]
LAZY_MARK = "# lazy:"  # a function-level import of our own modules needs this, with the reason


def _modules(root=ROOT):
    """{dotted module name: file path} of every module under bert_tf/ and export/."""
    found = {}
    for package in PACKAGES:
        for directory, _, files in os.walk(os.path.join(root, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(directory, name)
                    dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                    found[dotted.removesuffix(".__init__")] = path
    return found


def _imported(node, module: str, is_package: bool, modules=()) -> list[str]:
    """The dotted names an import statement imports (relative imports resolved).

    ``from pkg import sub`` (a submodule in ``modules``) counts as importing ``pkg.sub``;
    ``from pkg import name`` as importing ``pkg``.
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        parts = parts if is_package else parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([base] if base else []))
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [n if n in modules else base for n in names]


def _own(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _function_level_imports(tree):
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    yield node


def scan(root=ROOT):
    """(import graph {module: set of own modules}, [unexplained function-level imports])."""
    modules = _modules(root)
    graph, hidden = {}, []
    for module, path in modules.items():
        with open(path, encoding="utf-8") as f:
            source = f.read()
        lines = source.splitlines()
        tree = ast.parse(source, path)
        is_package = path.endswith("__init__.py")
        inner = set()
        for node in _function_level_imports(tree):
            names = [n for n in _imported(node, module, is_package) if _own(n)]
            statement = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            if names and LAZY_MARK not in statement:
                where = f"{os.path.relpath(path, root)}:{node.lineno}"
                hidden.append(f"{where}: {lines[node.lineno - 1].strip()}")
            inner.add(id(node))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in inner:
                edges.update(
                    n for n in _imported(node, module, is_package, modules) if n in modules
                )
        # A module's own packages are initialised before it anyway: not an arrow.
        graph[module] = {e for e in edges if not (module + ".").startswith(e + ".")}
    return graph, hidden


def _layer(module: str) -> str:
    """The subpackage (bert_tf.models) or top-level module (bert_tf.config) a module is in."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bert_tf" else parts[0]


def _cycles(graph: dict) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_graph(graph: dict) -> dict:
    """The module graph collapsed to subpackages (an edge inside one subpackage is dropped)."""
    layers = {}
    for module, targets in graph.items():
        layers.setdefault(_layer(module), set()).update(
            _layer(t) for t in targets if _layer(t) != _layer(module)
        )
    return layers


@pytest.fixture(scope="module")
def scanned():
    return scan()


def test_no_function_level_import_of_our_own_modules(scanned):
    _, hidden = scanned
    assert not hidden, (
        f"import these at module top (or say why on the line with '{LAZY_MARK} "
        "...'):\n" + "\n".join(hidden)
    )


def test_no_import_cycle_between_modules(scanned):
    graph, _ = scanned
    assert not _cycles(graph), f"module import cycles: {_cycles(graph)}"


def test_no_import_cycle_between_subpackages(scanned):
    graph, _ = scanned
    layers = layer_graph(graph)
    assert not _cycles(layers), f"subpackage import cycles: {_cycles(layers)}"


@pytest.mark.parametrize("importer, imported", FORBIDDEN)
def test_lower_layers_do_not_import_higher_ones(scanned, importer, imported):
    graph, _ = scanned
    layers = layer_graph(graph)
    assert imported not in layers.get(importer, set()), (
        f"{importer} imports {imported}: "
        + ", ".join(
            f"{m} -> {t}"
            for m, ts in sorted(graph.items())
            for t in sorted(ts)
            if _layer(m) == importer and _layer(t) == imported
        )
    )


def test_the_checker_sees_a_hidden_import_and_a_cycle(tmp_path):
    """The scan itself: a function-level import, a lazy one with its reason, and a cycle."""
    pkg = tmp_path / "bert_tf"
    for sub in ("models", "checkpoints"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "__init__.py").write_text(
        "def f():\n    from bert_tf import models  # lazy: a reason\n"
    )
    (pkg / "models" / "a.py").write_text("from bert_tf.checkpoints import b\n")
    (pkg / "checkpoints" / "b.py").write_text(
        "def load():\n    from bert_tf.models import a\n    return a\n"
    )
    graph, hidden = scan(str(tmp_path))
    assert hidden == ["bert_tf/checkpoints/b.py:2: from bert_tf.models import a"]
    assert not _cycles(graph)
    (pkg / "checkpoints" / "b.py").write_text("from bert_tf.models import a\n")
    graph, hidden = scan(str(tmp_path))
    assert not hidden
    assert _cycles(graph) == [["bert_tf.checkpoints.b", "bert_tf.models.a"]]
    assert _cycles(layer_graph(graph)) == [["bert_tf.checkpoints", "bert_tf.models"]]
