"""Serving cost: teacher vs distilled student vs int8 vs TFLite, accuracy and speed on real tweets.

    python -m benchmarks.serving_cost --root /tmp/serving_cost \
        --json benchmarks/results/serving_cost.json
    python -m benchmarks --sections serving_cost          # the same, in the benchmark runner

Steps (each skipped when its output exists under --root, so a rerun only measures):

1. data: the tweets corpus (bert_tf.public_data, 3-class sentiment), shuffled with
   seed 0: 1,500 labelled training rows, 500 held-out rows (eval and parity),
   4,000 unlabelled rows (text only);
2. teacher: all-MiniLM-L6-v2 fine-tuned with bert-tf-finetune's recipe
   (max_seq_length 64, 2 epochs, batch 32, learning rate 1e-4);
3. student: bert-tf-distill's recipe, --student=teacher_layers:N (default 2) on the
   same 1,500 rows plus the 4,000 unlabelled ones (T=2, alpha=0.5, 3 epochs, lr 1e-4);
4. artifacts, each measured against the teacher's float SavedModel with
   export.parity (accuracy, drift, label agreement, size, batch-1 latency p50/p99,
   batch-32 throughput, interleaved in one process): the student's float
   SavedModel, the teacher's TFLite models (raw-string input; float32, float16,
   dynamic int8), the student's dynamic-int8 TFLite model, and the Keras int8
   and float16 SavedModels (the modes bert-tf-export does not offer; measured here).

The JSON keeps every report, the commands and the machine. Times move with the
load of this shared machine; the ratios (speedups) are the figures to quote.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TRAIN_ROWS, EVAL_ROWS, UNLABELED_ROWS = 1500, 500, 4000
SEQUENCE_LENGTH = 64
STUDENT_LAYERS = 2


def prepare_data(root, seed=0):
    """train.csv / eval.csv (text, sentiment) and unlabeled.csv (text) from the tweets corpus."""
    from bert_tf.public_data import dataset_path

    folder = os.path.join(root, "data")
    paths = {name: os.path.join(folder, f"{name}.csv") for name in ("train", "eval", "unlabeled")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    with open(dataset_path("tweets"), encoding="latin-1", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("text", "").strip()]
    random.Random(seed).shuffle(rows)
    splits = {
        "train": rows[:TRAIN_ROWS],
        "eval": rows[TRAIN_ROWS : TRAIN_ROWS + EVAL_ROWS],
        "unlabeled": rows[TRAIN_ROWS + EVAL_ROWS : TRAIN_ROWS + EVAL_ROWS + UNLABELED_ROWS],
    }
    os.makedirs(folder, exist_ok=True)
    for name, part in splits.items():
        columns = ["text"] if name == "unlabeled" else ["text", "sentiment"]
        with open(paths[name] + ".tmp", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerows([r[c] for c in columns] for r in part)
        os.replace(paths[name] + ".tmp", paths[name])
    return paths


def train_teacher(root, data, epochs=2):
    from bert_tf.public_data import minilm_path
    from bert_tf.training.finetune import finetune_classifier

    out = os.path.join(root, "teacher")
    if not os.path.exists(os.path.join(out, "model", "task.json")):
        finetune_classifier(
            data["train"],
            data["eval"],
            minilm_path(),
            out,
            text_column="text",
            label_column="sentiment",
            max_seq_length=SEQUENCE_LENGTH,
            epochs=epochs,
            batch_size=32,
            learning_rate=1e-4,
            tensorboard=False,
        )
    with open(os.path.join(out, "eval_results.json")) as f:
        return os.path.join(out, "model"), json.load(f)


def train_student(root, data, teacher_dir, layers=STUDENT_LAYERS, epochs=3):
    from bert_tf.training.distill import distill_classifier

    out = os.path.join(root, f"student_L{layers}")
    if not os.path.exists(os.path.join(out, "model", "task.json")):
        distill_classifier(
            teacher_dir,
            f"teacher_layers:{layers}",
            data["train"],
            data["eval"],
            out,
            unlabeled_file=data["unlabeled"],
            temperature=2.0,
            alpha=0.5,
            epochs=epochs,
            batch_size=32,
            learning_rate=1e-4,
            tensorboard=False,
        )
    with open(os.path.join(out, "eval_results.json")) as f:
        return os.path.join(out, "model"), json.load(f)


def student_name(layers):
    """Artifact names: "student" for the default student, "student_L<N>" for others."""
    return "student" if layers == STUDENT_LAYERS else f"student_L{layers}"


def compare_saved_models(
    teacher_dir,
    student_dir,
    parity_file,
    root,
    latency_requests,
    throughput_batches,
    student="student",
):
    """The student's float SavedModel vs the teacher's, both through the TF1 session loader."""
    from export import parity
    from export.artifacts import read_parity_data
    from export.exporter import export_task_folder, load_task_folder

    exports = os.path.join(root, "exports")
    paths = {}
    for name, folder in (("teacher", teacher_dir), (student, student_dir)):
        base = os.path.join(exports, name)
        versions = sorted(os.listdir(base)) if os.path.isdir(base) else []
        versions = [v for v in versions if v.isdigit()]
        paths[name] = (
            os.path.join(base, versions[-1])
            if versions
            else export_task_folder(folder, exports, name)
        )
    _, _, task_info = load_task_folder(teacher_dir)
    texts, labels = read_parity_data(parity_file, task_info)
    teacher = parity.SessionClassifier(paths["teacher"])
    candidate = parity.SessionClassifier(paths[student])
    try:
        report = parity.measure_parity(
            teacher,
            candidate,
            texts,
            labels,
            task_info["labels"],
            reference_path=paths["teacher"],
            candidate_path=paths[student],
            latency_requests=latency_requests,
            throughput_batches=throughput_batches,
            max_accuracy_drop=3.0,
            format="saved_model",
            quantize="none",
            runtime="TF1 session loader (both)",
        )
    finally:
        teacher.close()
        candidate.close()
    report["reference_path"] = "teacher float32 SavedModel"
    for line in parity.format_report(report):
        print(line)
    return report


def artifact_report(
    model_dir, root, name, fmt, quantize, parity_file, latency_requests, throughput_batches
):
    """One export_artifact run (its parity.json), reused when it exists; a refusal is recorded."""
    from export import artifacts, parity

    export_dir = os.path.join(root, "artifacts", name)
    if fmt == "tflite":
        existing = os.path.join(export_dir, name, artifacts.tflite_folder_name(quantize))
    else:
        existing = os.path.join(export_dir, name, "1")
    report_path = os.path.join(existing, parity.PARITY_FILE)
    if os.path.exists(report_path):
        with open(report_path) as f:
            return json.load(f)
    try:
        _, report = artifacts.export_artifact(
            model_dir,
            export_dir,
            name,
            quantize=quantize,
            fmt=fmt,
            parity_file=parity_file,
            latency_requests=latency_requests,
            throughput_batches=throughput_batches,
            offer_all=True,
            max_accuracy_drop=100.0,
        )  # measure everything; the table shows each drop
    except parity.ParityError as e:
        return {"refused": str(e)}
    return report


def run(quick=False, context=None, root=None, student_layers=STUDENT_LAYERS):
    from benchmarks.common import row

    if quick:
        raise FileNotFoundError(
            "serving_cost needs the real MiniLM teacher (tens of minutes); no quick mode"
        )
    root = root or os.path.join(os.environ.get("TMPDIR", "/tmp"), "serving_cost")
    n_lat, n_bat = 200, 10
    started = time.time()
    data = prepare_data(root)
    teacher_dir, teacher_results = train_teacher(root, data)
    student_dir, student_results = train_student(root, data, teacher_dir, layers=student_layers)
    student = student_name(student_layers)
    reports = {
        f"{student}_saved_model": compare_saved_models(
            teacher_dir, student_dir, data["eval"], root, n_lat, n_bat, student=student
        )
    }
    plan = [
        ("teacher_tflite_dynamic_int8", teacher_dir, "tflite", "dynamic_int8"),
        ("teacher_tflite_float32", teacher_dir, "tflite", "none"),
        ("teacher_tflite_float16", teacher_dir, "tflite", "float16"),
        (f"{student}_tflite_dynamic_int8", student_dir, "tflite", "dynamic_int8"),
        ("teacher_saved_model_dynamic_int8", teacher_dir, "saved_model", "dynamic_int8"),
        ("teacher_saved_model_float16", teacher_dir, "saved_model", "float16"),
    ]
    for name, model_dir, fmt, quantize in plan:
        print(f"--- {name}", flush=True)
        reports[name] = artifact_report(
            model_dir, root, name, fmt, quantize, data["eval"], n_lat, n_bat
        )
    rows = []
    for name, report in reports.items():
        if "refused" in report:
            rows.append(row("serving_cost", name, unit="refused", note=report["refused"]))
            continue
        common = dict(
            accuracy=report["accuracy"],
            reference_accuracy=report["reference_accuracy"],
            label_agreement=report["label_agreement"],
            size_bytes=report.get("size_bytes"),
            report=report,
        )
        rows.append(
            row(
                "serving_cost",
                f"{name} batch 1 p50",
                ours=report["latency_b1_p50_ms"],
                theirs=report["reference_latency_b1_p50_ms"],
                unit="ms",
                **common,
            )
        )
        rows.append(
            row(
                "serving_cost",
                f"{name} batch 32 throughput",
                ours=report["throughput_b32"],
                theirs=report["reference_throughput_b32"],
                unit="texts/s",
                higher_is_better=True,
                accuracy=report["accuracy"],
            )
        )
    summary = {
        "teacher_eval": teacher_results,
        "student_eval": student_results,
        "student_layers": student_layers,
        "seconds": round(time.time() - started, 1),
    }
    rows.append(row("serving_cost", "summary", unit="", **summary))
    return rows


def markdown_table(rows):
    """The README table: one line per artifact, against the teacher's float32 SavedModel."""
    lines = [
        "| artifact | against | accuracy (reference) | label agreement | size (reference) | "
        "batch-1 p50 ms (reference) | batch-1 speedup | batch-32 texts/s (reference) | "
        "batch-32 speedup |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        report = r.get("report")
        if not report:
            continue
        lines.append(
            f"| {r['name'].rsplit(' batch', 1)[0]} | "
            f"{'teacher float32' if 'teacher' in report['reference_path'] else 'own float32'} | "
            f"{report['accuracy']:.4f} "
            f"({report['reference_accuracy']:.4f}) | {report['label_agreement']:.3f} | "
            f"{report['size_bytes'] / 1e6:.1f} MB "
            f"({report['reference_size_bytes'] / 1e6:.1f} MB) | "
            f"{report['latency_b1_p50_ms']:.1f} ({report['reference_latency_b1_p50_ms']:.1f}) | "
            f"**{report['latency_b1_speedup']:.2f}x** | {report['throughput_b32']:.1f} "
            f"({report['reference_throughput_b32']:.1f}) | "
            f"**{report['throughput_b32_speedup']:.2f}x** |"
        )
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.serving_cost", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--root",
        default=os.path.join("/tmp", "serving_cost"),
        help="working folder: data splits, teacher, student, artifacts (reused on rerun)",
    )
    p.add_argument(
        "--student_layers", type=int, default=STUDENT_LAYERS, help="teacher_layers:N of the student"
    )
    p.add_argument("--json", metavar="OUT", help="write every report here (atomically)")
    args = p.parse_args(argv)
    from benchmarks.common import machine_info

    rows = run(root=args.root, student_layers=args.student_layers)
    for r in rows:
        if r["name"] == "summary":
            continue
        ratio = f"x{r['ratio']:.2f}" if r.get("ratio") else "-"
        acc = f"acc {r['accuracy']:.4f}" if r.get("accuracy") is not None else ""
        print(
            f"{r['name']:<52} {r.get('ours') or 0:>10.2f} {r['unit']:<8} vs float teacher "
            f"{r.get('theirs') or 0:>10.2f}  {ratio:>7}  {acc}"
        )
    print(markdown_table(rows))
    if args.json:
        out = {
            "command": " ".join(
                ["python -m benchmarks.serving_cost"] + (argv if argv is not None else sys.argv[1:])
            ),
            "machine": machine_info(),
            "rows": rows,
        }
        tmp = args.json + ".tmp"
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(tmp, "w") as f:
            json.dump(out, f, indent=2, default=str)
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
