"""Markdown table from one or more `python -m benchmarks --json` files (for the README).

.venv/bin/python -m benchmarks.report bench.json [more.json ...]
"""

from __future__ import annotations

import json
import sys

from benchmarks.__main__ import _fmt


def markdown(results):
    lines = [
        "| section | benchmark | bert_tf | peer | unit | ratio (>1: bert_tf better) |",
        "|---|---|---:|---:|---|---:|",
    ]
    for r in results:
        ratio = r.get("ratio")
        lines.append(
            f"| {r.get('section', '')} | {r.get('name', '')} | {_fmt(r.get('ours'))} | "
            f"{_fmt(r.get('theirs'))} | {r.get('unit', '')} | "
            f"{f'{ratio:.2f}x' if isinstance(ratio, (int, float)) else '-'} |"
        )
    return "\n".join(lines)


def main(argv=None):
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("error: usage: python -m benchmarks.report BENCH.json [...]", file=sys.stderr)
        return 2
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            print(f"error: cannot read {path}: {e}", file=sys.stderr)
            return 1
        machine = data.get("machine", {})
        print(
            f"`{data.get('command', '')}` on {machine.get('cpu')} "
            f"({machine.get('cpu_count')} cores), "
            f"TF {machine.get('tensorflow')}, keras-hub {machine.get('keras_hub')}, "
            f"{machine.get('utc')}, "
            f"load average at start {machine.get('load_average_at_start')}\n"
        )
        print(markdown(data.get("results", [])))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
