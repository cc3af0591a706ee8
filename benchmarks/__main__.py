"""`python -m benchmarks [--quick] [--json OUT]`: bert_tf side by side with its peers.

Runs the sections in one process, prints one table and writes the raw numbers
(every repetition) as JSON. Ratios are peer / bert_tf for times and
bert_tf / peer for throughputs, so a ratio > 1 always means bert_tf wins.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Run order. tokenization and serving_latency are owned by other modules and
# optional: a section whose module is missing is reported as skipped.
SECTIONS = ("matmul", "encoder", "embedding", "padding", "tokenization", "serving_latency")
# Accepted by --sections but not run by default: trains a teacher and a student (tens of minutes).
OPTIONAL_SECTIONS = ("serving_cost",)


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny shapes and 2 repetitions: a smoke run, not figures",
    )
    p.add_argument(
        "--json", metavar="OUT", help="write all results (with every repetition) to this JSON file"
    )
    p.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma list out of {','.join(SECTIONS)}"
    )
    p.add_argument(
        "--models",
        default=None,
        help="encoder section: comma list out of bert_tiny,minilm,bert_base",
    )
    p.add_argument(
        "--modes", default="forward,train", help="encoder section: comma list out of forward,train"
    )
    p.add_argument(
        "--intra_op_threads",
        type=int,
        default=0,
        help="tf.config.threading intra-op threads (0 = TF default)",
    )
    p.add_argument(
        "--inter_op_threads",
        type=int,
        default=0,
        help="tf.config.threading inter-op threads (0 = TF default)",
    )
    return p.parse_args(argv)


def _call_section(module, quick, context, args):
    """Calls module.run with the keyword arguments it accepts; returns a list of row dicts."""
    params = inspect.signature(module.run).parameters
    kwargs = {}
    if "quick" in params:
        kwargs["quick"] = quick
    if "context" in params:
        kwargs["context"] = context
    if "models" in params and args.models:
        kwargs["models"] = args.models.split(",")
    if "modes" in params and args.modes:
        kwargs["modes"] = tuple(args.modes.split(","))
    result = module.run(**kwargs)
    if isinstance(result, dict):  # a section may return {"rows": [...]} or one row
        result = result.get("rows", [result])
    return [
        dict(r, section=r.get("section", module.__name__.rsplit(".", 1)[-1])) for r in result or []
    ]


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return f"{value:.3g}"
    return str(value)


def format_table(rows):
    header = ("section", "benchmark", "bert_tf", "peer", "unit", "ratio")
    lines = [header]
    for r in rows:
        ratio = r.get("ratio")
        lines.append(
            (
                r.get("section", ""),
                r.get("name", ""),
                _fmt(r.get("ours")),
                _fmt(r.get("theirs")),
                r.get("unit", ""),
                f"{ratio:.2f}x" if isinstance(ratio, (int, float)) else "-",
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append(
            "  ".join(
                str(c).ljust(w) if i < 2 or i == 4 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(line, widths))
            )
        )
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _write_json(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".partial")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, default=float)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    args = _parse(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = [s for s in sections if s not in SECTIONS + OPTIONAL_SECTIONS]
    if unknown:
        print(
            f"error: unknown section(s) {unknown}; choose from "
            f"{list(SECTIONS + OPTIONAL_SECTIONS)}",
            file=sys.stderr,
        )
        return 2
    import tensorflow as tf

    if args.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    if args.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)

    from benchmarks.common import machine_info

    info = machine_info()
    print(
        f"machine: {info['cpu']}, {info['cpu_count']} cores; "
        f"TF {info['tensorflow']}, Keras {info['keras']}, "
        f"keras-hub {info['keras_hub']}; load average {info['load_average_at_start']}",
        flush=True,
    )
    context, rows, skipped, started = {}, [], {}, time.time()
    for name in sections:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"benchmarks.{name}":
                raise
            skipped[name] = "module not present"
            print(f"[{name}] skipped: module not present", flush=True)
            continue
        t0 = time.time()
        try:
            section_rows = _call_section(module, args.quick, context, args)
        except FileNotFoundError as e:  # real data or model not fetched
            skipped[name] = str(e)
            print(f"[{name}] skipped: {e}", flush=True)
            continue
        rows.extend(section_rows)
        print(format_table(section_rows) if section_rows else f"[{name}] no rows", flush=True)
        print(f"[{name}] {time.time() - t0:.0f}s\n", flush=True)
    if "matmul" in sections and "encoder" in sections:
        from benchmarks import encoder, matmul

        matmul.run(
            quick=args.quick, context=context
        )  # re-measure: the peak is the best of both runs
        flop_rows = encoder.flop_rows(
            [r for r in rows if r["section"] == "encoder"], context.get("matmul_peak")
        )
        # The acceptance figure: XLA forward at [32,128] against a matmul timed right beside it.
        if args.quick:
            plans = [("bert_tiny", 2, 16, 2, 256)]
        else:
            wanted = args.models.split(",") if args.models else ["minilm", "bert_base"]
            plans = [(m, 32, 128, 5, 2048) for m in ("minilm", "bert_base") if m in wanted]
        for size, batch, seq, reps, n in plans:
            flop_rows.append(encoder.flop_fraction(size, batch, seq, reps, n))
        print(format_table(flop_rows), flush=True)
        rows.extend(flop_rows)
    print("\n== all results ==")
    print(format_table(rows))
    if context.get("matmul_peak"):
        print(
            f"\nmatmul peak (best tf.function float32 matmul, with or without XLA): "
            f"{context['matmul_peak'] / 1e9:.1f} GFLOP/s"
        )
    print(f"total {time.time() - started:.0f}s")
    if args.json:
        _write_json(
            args.json,
            {
                "command": "python -m benchmarks "
                + " ".join(argv if argv is not None else sys.argv[1:]),
                "quick": args.quick,
                "machine": info,
                "matmul_peak_flops": context.get("matmul_peak"),
                "results": rows,
                "skipped": skipped,
            },
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
