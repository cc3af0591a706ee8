"""Serving latency of exported classifiers: p50/p99 at batch 1, throughput at batch 32.

    python -m benchmarks.serving_latency [--quick] [--json OUT] [--models bert_tiny,minilm]
    python -m benchmarks --sections serving_latency

For each size (bert_tiny: L2 H128; minilm: L6 H384, the real all-MiniLM-L6-v2
weights with a fresh 3-class head) a task folder is saved with
save_task_model, exported with bert-tf-export's code (sequence_length 128,
tokenization in the graph), and loaded through the TF1 session loader, as
tensorflow_model_server loads it. Requests are real tweets:

- ``session``: ``serving_default`` run in the loaded session (the model server's
  own work per request: tokenization + encoder + head);
- ``grpc``: the same through a loopback gRPC PredictionService
  (export.test_server) and ServingClient, i.e. plus protobuf and gRPC cost.

Latency: one text per request, sequentially; p50 / p99 over N requests.
Throughput: batches of 32 texts, sequentially; texts per second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

SEQUENCE_LENGTH = 128
BATCH = 32
LABELS = ["negative", "neutral", "positive"]
SIZES = ("bert_tiny", "minilm")


def _texts(n):
    try:
        from benchmarks.realtext import load_texts

        return load_texts("tweets", n)
    except (FileNotFoundError, ImportError):
        rng = np.random.default_rng(0)
        words = [
            "the",
            "movie",
            "was",
            "really",
            "good",
            "bad",
            "i",
            "loved",
            "it",
            "not",
            "at",
            "all",
        ]
        return [" ".join(rng.choice(words, size=rng.integers(5, 30))) for _ in range(n)]


def _task_folder(size, root):
    """A classifier task folder of the given size with MiniLM's real vocabulary."""
    import keras

    from benchmarks.common import MODEL_SIZES
    from bert_tf import BertClassifier, BertEncoder
    from bert_tf.checkpoints import save_task_model
    from bert_tf.public_data import minilm_path

    minilm = minilm_path()
    keras.utils.set_random_seed(0)
    if size == "minilm":
        encoder = BertEncoder.from_pretrained(minilm)
    else:
        from bert_tf.config import BertConfig

        encoder = BertEncoder(BertConfig(vocab_size=30522, **MODEL_SIZES[size]))
    model = BertClassifier(encoder, num_classes=len(LABELS))
    folder = os.path.join(root, size)
    save_task_model(
        model,
        folder,
        {
            "task": "classification",
            "task_config": {"num_classes": len(LABELS)},
            "labels": LABELS,
            "preprocessor": {"sequence_length": SEQUENCE_LENGTH, "text_pair": False},
        },
        vocab_file=os.path.join(minilm, "vocab.txt"),
        lowercase=True,
    )
    return folder


def _percentile(times, q):
    return float(np.percentile(np.asarray(times) * 1000.0, q))


def _measure(call, texts, n_latency, n_batches):
    """(per-request seconds at batch 1, per-batch seconds at batch 32)."""
    for text in texts[:5]:
        call([text])
    call(texts[:BATCH])
    single = []
    for i in range(n_latency):
        start = time.perf_counter()
        call([texts[i % len(texts)]])
        single.append(time.perf_counter() - start)
    batched = []
    for i in range(n_batches):
        batch = [texts[(i * BATCH + j) % len(texts)] for j in range(BATCH)]
        start = time.perf_counter()
        call(batch)
        batched.append(time.perf_counter() - start)
    return single, batched


def run(quick=False, context=None, models=None):
    from benchmarks.common import row
    from export.client import ServingClient
    from export.exporter import export_task_folder
    from export.test_server import ModelRegistry, serve_grpc

    sizes = [m for m in (models or SIZES) if m in SIZES] or list(SIZES)
    if quick:
        sizes = ["bert_tiny"]
    n_latency, n_batches = (20, 3) if quick else (300, 20)
    texts = _texts(1024)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for size in sizes:
            # MiniLM is ~20x the work of bert_tiny per text: fewer requests keep the run short.
            n_lat, n_bat = (
                (n_latency, n_batches) if size == "bert_tiny" else (n_latency // 2, n_batches // 2)
            )
            t0 = time.perf_counter()
            path = export_task_folder(_task_folder(size, root), os.path.join(root, "serving"), size)
            export_s = time.perf_counter() - t0
            registry = ModelRegistry()
            registry.add_base(os.path.join(root, "serving"), size)
            _, loaded = registry.get(size)
            server, port = serve_grpc(registry)
            client = ServingClient(f"127.0.0.1:{port}", size, timeout=60)
            paths = {
                "session": lambda batch, loaded=loaded: loaded.run(
                    "serving_default", {"text": np.array(batch, dtype=object)}
                ),
                "grpc": lambda batch, client=client: client.predict(batch),
            }
            try:
                for via, call in paths.items():
                    single, batched = _measure(call, texts, n_lat, n_bat)
                    common = dict(
                        model=size,
                        via=via,
                        sequence_length=SEQUENCE_LENGTH,
                        export_s=export_s,
                        export_path=os.path.basename(path),
                        requests=n_lat,
                        batches=n_bat,
                    )
                    rows.append(
                        row(
                            "serving_latency",
                            f"{size} {via} batch 1 p50",
                            ours=_percentile(single, 50),
                            unit="ms",
                            metric="p50_ms",
                            times_s=single,
                            **common,
                        )
                    )
                    rows.append(
                        row(
                            "serving_latency",
                            f"{size} {via} batch 1 p99",
                            ours=_percentile(single, 99),
                            unit="ms",
                            metric="p99_ms",
                            **common,
                        )
                    )
                    rows.append(
                        row(
                            "serving_latency",
                            f"{size} {via} batch {BATCH} throughput",
                            ours=BATCH * len(batched) / sum(batched),
                            unit="texts/s",
                            higher_is_better=True,
                            metric="throughput_b32",
                            times_s=batched,
                            **common,
                        )
                    )
            finally:
                client.close()
                server.stop(None)
                registry.close()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.serving_latency", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="bert_tiny only, few requests: a smoke run"
    )
    parser.add_argument(
        "--json", metavar="OUT", help="write the rows (with every timing) to this JSON file"
    )
    parser.add_argument(
        "--models", default=",".join(SIZES), help=f"comma list out of {','.join(SIZES)}"
    )
    args = parser.parse_args(argv)
    from benchmarks.__main__ import format_table
    from benchmarks.common import machine_info

    info = machine_info()
    print(
        f"machine: {info['cpu']}, {info['cpu_count']} cores; TF {info['tensorflow']}; "
        f"load average {info['load_average_at_start']}",
        flush=True,
    )
    rows = run(quick=args.quick, models=args.models.split(","))
    print(format_table(rows))
    summary = {}
    for r in rows:
        summary.setdefault(f"{r['model']} {r['via']}", {})[r["metric"]] = round(r["ours"], 3)
    print(json.dumps({"serving_latency": summary, "machine": info}, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "command": "python -m benchmarks.serving_latency "
                    + " ".join(argv or sys.argv[1:]),
                    "machine": info,
                    "results": rows,
                },
                f,
                indent=1,
                default=float,
            )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
