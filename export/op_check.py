"""Op check: every op a SavedModel uses must be one stock TF Serving has registered.

TF Serving links a fixed TensorFlow + tensorflow-text build; a SavedModel with
any other op fails to load there with "Op type not registered". The allowed
list (``tf_serving_2.20_ops.txt``, TF 2.20 + tensorflow-text 2.20) ships with
this package so the check works in a fresh clone.
"""

from __future__ import annotations

import os

from tensorflow.core.protobuf import saved_model_pb2

DEFAULT_OPS_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "tf_serving_2.20_ops.txt"
)


class DisallowedOpsError(ValueError):
    """A SavedModel uses ops the target TF Serving build does not register."""

    def __init__(self, ops, ops_file):
        self.ops = sorted(ops)
        self.ops_file = ops_file
        super().__init__(
            f"the export uses op(s) stock TF Serving does not register: {', '.join(self.ops)} "
            f"(allowed list: {ops_file})"
        )


def load_allowed_ops(ops_file: str | None = None) -> set[str]:
    """The op names in an allow-list file (one a line; blank lines and # comments skipped)."""
    ops_file = ops_file or DEFAULT_OPS_FILE
    with open(ops_file, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def _read_saved_model(path: str) -> saved_model_pb2.SavedModel:
    pb = os.path.join(path, "saved_model.pb")
    if not os.path.exists(pb):
        raise FileNotFoundError(f"no saved_model.pb in {path}")
    proto = saved_model_pb2.SavedModel()
    with open(pb, "rb") as f:
        proto.ParseFromString(f.read())
    return proto


def collect_ops(saved_model_dir: str) -> set[str]:
    """Every op type in a SavedModel: the graph of each MetaGraph and every library function.

    Nested functions (the bodies of PartitionedCall / While / If and the
    functions they call in turn) are all entries of the graph's function
    library, so one pass over the library covers any depth.
    """
    proto = _read_saved_model(saved_model_dir)
    ops = set()
    for meta_graph in proto.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def check_ops(saved_model_dir: str, ops_file: str | None = None) -> set[str]:
    """Raises DisallowedOpsError naming the ops outside the allowed list; returns the ops used."""
    used = collect_ops(saved_model_dir)
    bad = used - load_allowed_ops(ops_file)
    if bad:
        raise DisallowedOpsError(bad, ops_file or DEFAULT_OPS_FILE)
    return used
