"""The one informative line of an exception, for messages that must stay one line.

TensorFlow's graph errors start with ``Graph execution error:`` and a stack
trace; the cause (``indices[0,1] = 70 is not in [0, 64)``) comes after it.
Library code wraps foreign errors as ``raise OurError(f"...: {cause_line(e)}") from e``
(the full original stays in ``__cause__``); the CLIs print ``cause_line`` of what reaches them.
"""

from __future__ import annotations

import re


class CheckpointError(ValueError):
    """A checkpoint that does not fit the model: missing, extra or misshaped tensors, bad files."""


_BOILERPLATE = (
    "Graph execution error",
    "Detected at node",
    "Detected unsupported operations",
    "Traceback (most recent call last)",
)
_NODE = re.compile(r"\[\[\{\{node ([^}]+)\}\}\]\]")
_FUNCTION_PREFIX = re.compile(r"^\{\{function_node [^}]*\}\}\s*")
_OP_SUFFIX = re.compile(r"\s*\[Op:[^\]]*\](\s*name:.*)?$")


def cause_line(error: BaseException) -> str:
    """The first line of ``error``'s text that says what went wrong (its type name if none)."""
    text = str(getattr(error, "message", None) or error)
    node = _NODE.search(text)
    for raw in text.splitlines():
        if not raw.strip() or raw[:1].isspace():  # stack traces and "[[{{node}}]]" are indented
            continue
        line = _OP_SUFFIX.sub("", _FUNCTION_PREFIX.sub("", raw.strip()))
        line = _NODE.sub("", line).strip()
        if not line or line.startswith(_BOILERPLATE) or line.startswith('File "'):
            continue
        if node and "Graph execution error" in text:
            line += f" (op {node.group(1)})"
        return line
    return type(error).__name__
