"""Parity report: an exported artifact against the float SavedModel, on held-out real text.

    report = measure_parity(reference, candidate, texts, label_ids, label_names)

``reference`` and ``candidate`` are objects with ``predict(list of str) -> [B, C]
probabilities`` (SessionClassifier: a SavedModel through the TF1 session loader,
as TF Serving runs it; export.tflite.TFLiteClassifier: a .tflite model). Both
are measured in one run, interleaved request by request (A B, B A, ...), so
load from other processes hits both alike. The report (``parity.json``):

- ``accuracy`` / ``reference_accuracy`` and ``accuracy_drop_points`` (100 * difference),
- ``max_probability_drift`` / ``mean_probability_drift``: max and mean of
  |p_candidate - p_reference| over all examples and classes,
- ``label_agreement``: fraction of examples with the same predicted label,
- ``size_bytes`` / ``reference_size_bytes``: the artifact folders on disk,
- ``latency_b1_p50_ms`` / ``latency_b1_p99_ms`` (one text per call) and
  ``throughput_b32`` (texts per second in batches of 32), each also for the
  reference, with ``latency_b1_speedup`` / ``throughput_b32_speedup`` (> 1: the
  artifact is faster),
- ``passed``: accuracy_drop_points <= max_accuracy_drop.
"""

from __future__ import annotations

import json
import os
import platform
import time

import numpy as np
import tensorflow as tf

PARITY_FILE = "parity.json"
DEFAULT_MAX_ACCURACY_DROP = 1.0  # points of accuracy (percent)
DEFAULT_LATENCY_REQUESTS = 200
DEFAULT_THROUGHPUT_BATCHES = 12
BATCH_SIZE = 32


class ParityError(ValueError):
    """An artifact refused: its accuracy is more than max_accuracy_drop below the float model's."""


class SessionClassifier:
    """A classifier SavedModel loaded with the TF1 loader (tf.compat.v1 Session + loader.load).

    That is how tensorflow_model_server runs it: one graph, one session, feeds and fetches by name.
    """

    def __init__(self, saved_model_dir, signature="serving_default"):
        self.path = saved_model_dir
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(
                self.session, ["serve"], saved_model_dir
            )
        sig = meta_graph.signature_def[signature]
        if "text" not in sig.inputs or "probabilities" not in sig.outputs:
            raise ValueError(
                f"{saved_model_dir}: {signature} needs input 'text' and output 'probabilities'"
            )
        self._feed = sig.inputs["text"].name
        self._fetch = sig.outputs["probabilities"].name

    def predict(self, texts):
        batch = np.array(
            [t.encode("utf-8") if isinstance(t, str) else t for t in texts], dtype=object
        )
        return np.asarray(self.session.run(self._fetch, {self._feed: batch}), np.float32)

    def close(self):
        self.session.close()


def folder_size(path):
    """Bytes of a file, or of every file under a folder."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files
    )


def predict_all(model, texts, batch_size=BATCH_SIZE):
    return np.concatenate(
        [model.predict(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    )


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_times(calls, inputs):
    """Times calls[name](x) for every x of inputs, alternating the order each round; {name: [s]}."""
    names = list(calls)
    times = {name: [] for name in names}
    for i, x in enumerate(inputs):
        for name in names if i % 2 == 0 else names[::-1]:
            times[name].append(_timed(lambda name=name, x=x: calls[name](x)))
    return times


def measure_speed(
    models,
    texts,
    latency_requests=DEFAULT_LATENCY_REQUESTS,
    throughput_batches=DEFAULT_THROUGHPUT_BATCHES,
    batch_size=BATCH_SIZE,
):
    """{name: {latency_b1_p50_ms, latency_b1_p99_ms, throughput_b32}} of each model, interleaved."""
    calls = {name: model.predict for name, model in models.items()}
    for call in calls.values():  # warm-up: first-call costs, both batch shapes
        for text in texts[:3]:
            call([text])
        call(texts[:batch_size])
    singles = [[texts[i % len(texts)]] for i in range(latency_requests)]
    batches = [
        [texts[(b * batch_size + j) % len(texts)] for j in range(batch_size)]
        for b in range(throughput_batches)
    ]
    single = interleaved_times(calls, singles)
    batched = interleaved_times(calls, batches)
    return {
        name: {
            "latency_b1_p50_ms": float(np.percentile(single[name], 50) * 1000),
            "latency_b1_p99_ms": float(np.percentile(single[name], 99) * 1000),
            "throughput_b32": float(batch_size * len(batched[name]) / sum(batched[name])),
            "latency_requests": latency_requests,
            "throughput_batches": throughput_batches,
        }
        for name in calls
    }


def measure_parity(
    reference,
    candidate,
    texts,
    label_ids,
    label_names=None,
    reference_path=None,
    candidate_path=None,
    max_accuracy_drop=DEFAULT_MAX_ACCURACY_DROP,
    latency_requests=DEFAULT_LATENCY_REQUESTS,
    throughput_batches=DEFAULT_THROUGHPUT_BATCHES,
    **extra,
):
    """The parity report dict (see the module docstring); ``extra`` keys are copied into it."""
    if not texts:
        raise ValueError("the parity data has no examples")
    label_ids = np.asarray(label_ids)
    ref = predict_all(reference, texts)  # [N, C]
    cand = predict_all(candidate, texts)
    if ref.shape != cand.shape:
        raise ValueError(
            f"the artifact returns probabilities {cand.shape}, the float model {ref.shape}"
        )
    drift = np.abs(cand - ref)
    ref_labels, cand_labels = ref.argmax(-1), cand.argmax(-1)
    accuracy = float(np.mean(cand_labels == label_ids))
    reference_accuracy = float(np.mean(ref_labels == label_ids))
    speed = measure_speed(
        {"reference": reference, "candidate": candidate},
        texts,
        latency_requests=latency_requests,
        throughput_batches=throughput_batches,
    )
    report = {
        "num_examples": len(texts),
        "accuracy": accuracy,
        "reference_accuracy": reference_accuracy,
        "accuracy_drop_points": round(100.0 * (reference_accuracy - accuracy), 4),
        "max_probability_drift": float(drift.max()),
        "mean_probability_drift": float(drift.mean()),
        "label_agreement": float(np.mean(cand_labels == ref_labels)),
        "labels": list(label_names) if label_names is not None else None,
        **speed["candidate"],
        **{
            f"reference_{k}": v
            for k, v in speed["reference"].items()
            if not k.endswith(("requests", "batches"))
        },
        "max_accuracy_drop": float(max_accuracy_drop),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
        },
        "measured": "side by side in one process, interleaved request by request",
    }
    report["latency_b1_speedup"] = (
        report["reference_latency_b1_p50_ms"] / report["latency_b1_p50_ms"]
    )
    report["throughput_b32_speedup"] = report["throughput_b32"] / report["reference_throughput_b32"]
    if candidate_path is not None:
        report["artifact"] = os.path.basename(os.path.normpath(candidate_path))
        report["size_bytes"] = folder_size(candidate_path)
    if reference_path is not None:
        report["reference_size_bytes"] = folder_size(reference_path)
    report.update(extra)
    report["passed"] = report["accuracy_drop_points"] <= max_accuracy_drop
    return report


def check_report(report, what="the artifact"):
    """Raises ParityError when the report did not pass."""
    if not report["passed"]:
        raise ParityError(
            f"{what} refused: accuracy {report['accuracy']:.4f} is "
            f"{report['accuracy_drop_points']:.2f} points "
            f"below the float model's {report['reference_accuracy']:.4f} "
            f"(--max_accuracy_drop={report['max_accuracy_drop']:g}); not published"
        )


def write_report(folder, report):
    """Writes FOLDER/parity.json (atomically); returns its path."""
    path = os.path.join(folder, PARITY_FILE)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def format_report(report):
    """The report as printed lines."""
    mb = lambda n: f"{n / 1e6:.1f} MB" if n is not None else "-"  # noqa: E731
    return [
        f"parity of {report.get('artifact', 'the artifact')} vs the float SavedModel on "
        f"{report['num_examples']} held-out examples "
        f"({'passed' if report['passed'] else 'REFUSED'}):",
        f"  accuracy {report['accuracy']:.4f} vs {report['reference_accuracy']:.4f} "
        f"(drop {report['accuracy_drop_points']:.2f} points, "
        f"allowed {report['max_accuracy_drop']:g})",
        f"  label agreement {report['label_agreement']:.4f}; probability drift max "
        f"{report['max_probability_drift']:.4f}, mean {report['mean_probability_drift']:.5f}",
        f"  size {mb(report.get('size_bytes'))} vs {mb(report.get('reference_size_bytes'))}",
        f"  batch 1 latency p50 {report['latency_b1_p50_ms']:.2f} ms vs "
        f"{report['reference_latency_b1_p50_ms']:.2f} ms "
        f"(x{report['latency_b1_speedup']:.2f}), p99 {report['latency_b1_p99_ms']:.2f} ms vs "
        f"{report['reference_latency_b1_p99_ms']:.2f} ms",
        f"  batch 32 throughput {report['throughput_b32']:.1f} vs "
        f"{report['reference_throughput_b32']:.1f} texts/s "
        f"(x{report['throughput_b32_speedup']:.2f})",
    ]
