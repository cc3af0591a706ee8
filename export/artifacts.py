"""Serving artifacts with a parity report: quantized SavedModels and TFLite models of a classifier.

    path, report = export_artifact("OUT/model", "/srv/models", "sentiment", fmt="tflite",
                                   quantize="dynamic_int8", parity_file="dev.csv")

Every artifact is built in a hidden temp folder, measured against the float
SavedModel of the same model (export.parity: accuracy, drift, label agreement,
size, latency, throughput, side by side) and moved to its place only when its
accuracy is within ``max_accuracy_drop`` points of the float model's; a refused
artifact leaves nothing behind. Places:

- ``--format=saved_model``: EXPORT_DIR/NAME/VERSION/ (what TF Serving loads),
  ``parity.json`` inside it;
- ``--format=tflite``: EXPORT_DIR/NAME/tflite_<float32|float16|dynamic_int8>[_ids]/
  with model.tflite, labels.txt, vocab.txt, tokenizer_config.json, task.json,
  parity.json (a non-integer folder: TF Serving ignores it). Never overwritten.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import tensorflow as tf

from bert_tf.data.classification import read_classification_examples
from export import exporter, parity, tflite
from export import quantize as quantize_lib

TFLITE_NAMES = {"none": "float32", "float16": "float16", "dynamic_int8": "dynamic_int8"}


def tflite_folder_name(quantize, raw_text=True):
    return f"tflite_{TFLITE_NAMES[quantize]}" + ("" if raw_text else "_ids")


def read_parity_data(
    path, task_info, text_column=None, label_column=None, encoding="utf-8", limit=None
):
    """(texts, label ids) of a labelled CSV/TSV/JSONL file; columns default to the training ones."""
    columns = task_info.get("text_columns") or {}
    text_column = text_column or columns.get("text") or "text"
    label_column = label_column or columns.get("label") or "label"
    if columns.get("text_pair"):
        raise ValueError(
            "parity reports cover single-text classifiers; this model was trained on text pairs"
        )
    examples = read_classification_examples(
        path,
        text_column=text_column,
        label_column=label_column,
        label_map=task_info["labels"],
        encoding=encoding,
    )
    texts, labels = list(examples.texts), list(examples.labels)
    if limit:
        texts, labels = texts[:limit], labels[:limit]
    return texts, labels


def export_artifact(
    model_dir,
    export_dir,
    model_name,
    quantize="none",
    fmt="saved_model",
    parity_file=None,
    max_accuracy_drop=parity.DEFAULT_MAX_ACCURACY_DROP,
    raw_text=True,
    version=None,
    ops_file=None,
    serving_root="/models",
    text_column=None,
    label_column=None,
    encoding="utf-8",
    parity_limit=None,
    latency_requests=parity.DEFAULT_LATENCY_REQUESTS,
    throughput_batches=parity.DEFAULT_THROUGHPUT_BATCHES,
    offer_all=False,
):
    """Exports one artifact with its parity report; returns (artifact path, report dict).

    ``parity_file``: labelled held-out text (default: task.json ``data.eval_file``
    when the model folder records one, as bert-tf-distill's do). ``offer_all``:
    also build the SavedModel quantize modes measured not to pay off (benchmarks).
    """
    quantize_lib.check_offered(quantize, fmt, offer_all=offer_all)
    if not os.path.isdir(model_dir):
        raise exporter.ExportError(f"model_dir {model_dir} is not a folder")
    model, preprocessor, task_info = exporter.load_task_folder(model_dir)
    if task_info.get("task") != "classification":
        raise exporter.ExportError(
            f"--quantize / --format=tflite / parity reports cover classifiers; "
            f"{model_dir} is a {task_info.get('task')!r} model"
        )
    parity_file = parity_file or (task_info.get("data") or {}).get("eval_file")
    if not parity_file:
        raise ValueError(
            "--parity_file is required (labelled held-out text, e.g. the eval file): "
            "every artifact is checked against the float model"
        )
    texts, labels = read_parity_data(
        parity_file, task_info, text_column, label_column, encoding, parity_limit
    )
    model_base = os.path.join(export_dir, model_name)
    os.makedirs(model_base, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".tmp-parity-", dir=model_base)
    reference = None
    try:
        reference_dir = os.path.join(work, "float32")
        module = exporter.build_serving_module(model, preprocessor, task_info)
        tf.saved_model.save(module, reference_dir, signatures=module.signatures())
        reference = parity.SessionClassifier(reference_dir)
        settings = dict(
            format=fmt,
            quantize=quantize,
            parity_file=os.path.abspath(parity_file),
            model_dir=os.path.abspath(model_dir),
            max_accuracy_drop=max_accuracy_drop,
            latency_requests=latency_requests,
            throughput_batches=throughput_batches,
            reference_path=reference_dir,
        )

        def measure(candidate, candidate_path, **extra):
            report = parity.measure_parity(
                reference,
                candidate,
                texts,
                labels,
                task_info["labels"],
                candidate_path=candidate_path,
                **settings,
                **extra,
            )
            report["reference_path"] = "float32 SavedModel of model_dir (temporary)"
            parity.write_report(candidate_path, report)
            for line in parity.format_report(report):
                print(line)
            parity.check_report(report, f"{fmt} --quantize={quantize}")
            return report

        result = {}
        if fmt == "saved_model":
            version = int(version or exporter.next_version(model_base))
            candidate_model = (
                model if quantize == "none" else quantize_lib.quantized_model(model_dir, quantize)
            )

            def check(tmp):
                candidate = parity.SessionClassifier(tmp)
                try:
                    result["report"] = measure(
                        candidate,
                        tmp,
                        runtime="TF1 session loader",
                        artifact=f"{model_name}/{version}",
                    )
                finally:
                    candidate.close()

            path = exporter.export_model(
                candidate_model,
                preprocessor,
                task_info,
                export_dir,
                model_name,
                version=version,
                ops_file=ops_file,
                serving_root=serving_root,
                check=check,
            )
            return path, result["report"]
        target = os.path.join(model_base, tflite_folder_name(quantize, raw_text))
        if os.path.exists(target):
            raise exporter.ExportError(f"{target} exists; artifacts are never overwritten")
        artifact = os.path.join(work, "tflite")
        model_path = tflite.write_tflite_artifact(
            model, preprocessor, task_info, artifact, quantize=quantize, raw_text=raw_text
        )
        candidate = tflite.TFLiteClassifier(model_path)
        report = measure(
            candidate,
            artifact,
            artifact=os.path.basename(target),
            runtime=f"TFLite interpreter, {candidate.num_threads} threads",
            raw_text_input=raw_text,
        )
        try:
            os.rename(artifact, target)
        except OSError as e:
            raise exporter.ExportError(f"{target} appeared while exporting; not overwritten") from e
        return target, report
    finally:
        if reference is not None:
            reference.close()
        shutil.rmtree(work, ignore_errors=True)
