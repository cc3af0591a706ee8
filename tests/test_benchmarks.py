"""The benchmark entry point stays runnable: a smoke run on tiny shapes, plus its helpers."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks.__main__ import format_table
from benchmarks.common import encoder_flops, interleaved, row

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_encoder_flops_formula():
    # One layer, B=1, T=2, H=4, I=8: 2*2*(4*16 + 2*32) + 2*2*1*4*4 = 512 + 64.
    assert encoder_flops(1, 2, 1, 4, 8) == 576
    assert encoder_flops(3, 2, 5, 4, 8) == 5 * (2 * 3 * 2 * (64 + 64) + 4 * 3 * 2 * 2 * 4)


def test_ratio_means_bert_tf_wins_when_above_one():
    assert row("s", "time", ours=1.0, theirs=2.0)["ratio"] == 2.0
    assert row("s", "throughput", ours=4.0, theirs=2.0, higher_is_better=True)["ratio"] == 2.0
    assert row("s", "alone", ours=1.0)["ratio"] is None


def test_interleaved_alternates_and_counts():
    calls = []
    times = interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, reps=3, warmup=1
    )
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert [len(v) for v in times.values()] == [3, 3]


def test_table_lists_every_row():
    text = format_table(
        [row("encoder", "x [2,16] XLA", ours=0.5, theirs=1.0), row("matmul", "mm", ours=123.4)]
    )
    assert "x [2,16] XLA" in text and "2.00x" in text and "123" in text


def test_unknown_section_is_a_one_line_error():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--sections", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown section")
    assert "Traceback" not in proc.stderr


@pytest.mark.integration
def test_quick_run_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--sections",
            "matmul,encoder,padding",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["quick"] is True and data["matmul_peak_flops"] > 0
    encoder_rows = [r for r in data["results"] if r["section"] == "encoder"]
    assert {(r["mode"], r["xla"]) for r in encoder_rows} == {
        ("forward", True),
        ("forward", False),
        ("train", True),
        ("train", False),
    }
    assert all(r["ours"] > 0 and r["theirs"] > 0 and r["ratio"] > 0 for r in encoder_rows)
    flops = [r for r in data["results"] if r["section"] == "flops"]
    assert flops and all(0 < r["ours"] for r in flops)
    assert "== all results ==" in proc.stdout


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")


def test_kept_benchmark_json_renders_and_backs_the_readme():
    """Every kept run renders with benchmarks.report; README padding figures = padding.json's."""
    import contextlib
    import io
    import json
    import re

    from benchmarks import report

    paths = sorted(os.path.join(RESULTS, f) for f in os.listdir(RESULTS) if f.endswith(".json"))
    assert any(p.endswith("padding.json") for p in paths)
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if "results" not in data:
            continue  # a tool's own report (e.g. tokenizer_real_text_parity.json)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert report.main([path]) == 0
        assert out.getvalue().count("\n| ") >= len(data["results"])
    with open(os.path.join(RESULTS, "padding.json"), encoding="utf-8") as f:
        rows = {r["name"]: r for r in json.load(f)["results"]}
    prefix = "tweets n=512 B=32 cap=128: "
    expected = [
        rows[prefix + "per-batch padding, input order"]["theirs"],
        rows[prefix + "per-batch padding, input order"]["ours"],
        rows[prefix + "classification_dataset (length buckets)"]["ours"],
        rows[prefix + "length-sorted batches (embedder)"]["ours"],
    ]
    with open(os.path.join(os.path.dirname(RESULTS), "..", "README.md"), encoding="utf-8") as f:
        readme = f.read()
    paragraph = readme.split("**Padding efficiency**", 1)[1].split("\n\n", 1)[0]
    figures = [float(x) for x in re.findall(r"\b0\.\d{3}\b", paragraph)]
    assert figures == [round(x, 3) for x in expected], (figures, expected)


def test_readme_performance_tables_are_the_kept_full_run():
    """Every figure in the README's embedding, encoder, matmul, tokenization and serving-latency
    text is a value of benchmarks/results/full.json (as benchmarks.report prints it, or the
    exact count), so a table cannot drift from the run behind it."""
    import re

    from benchmarks.__main__ import _fmt

    with open(os.path.join(RESULTS, "full.json"), encoding="utf-8") as f:
        data = json.load(f)
    allowed = set()
    for r in data["results"]:
        for key in ("ours", "theirs"):
            if isinstance(r.get(key), (int, float)):
                allowed.update({_fmt(r[key]), f"{r[key]:,.0f}"})
        if isinstance(r.get("ratio"), (int, float)):
            allowed.add(f"{r['ratio']:.2f}x")
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme.split("## Performance", 1)[1].split("## Serving with TF Serving", 1)[0]
    section = (
        section.split("**Padding efficiency**", 1)[0] + section.split("**Serving latency**")[1]
    )
    tables, in_table = [], False  # body rows: those after a |---| line, not the headers
    for line in section.splitlines():
        if line.startswith("|---"):
            in_table = True
        elif in_table and line.startswith("| "):
            tables.append(line)
        else:
            in_table = False
    figures = [
        x
        for line in tables
        for cell in line.split("|")[2:]  # the first column names the row
        for x in re.findall(r"\d[\d,]*(?:\.\d+)?x?", cell)
    ]
    assert len(figures) >= 57, figures  # 3 x 3 embedding, 6 x 6 encoder, 2 x 6 serving
    stray = [x for x in figures if x not in allowed and x.rstrip("x") not in allowed]
    assert not stray, stray
    prose = section.split("**Share of the machine's matmul peak.**", 1)[1]
    for figure in re.findall(r"\b0\.\d{3}\b|\b\d{3} GFLOP/s|\b\d{1,3}(?:,\d{3})+ tokens/s", prose):
        assert figure.split()[0] in allowed, figure
