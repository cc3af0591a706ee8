"""bert-tf-export: a task-model folder (bert-tf-finetune's OUT/model) -> EXPORT_DIR/NAME/VERSION/
for TF Serving.

An encoder folder (no task.json) is exported as a sentence embedder.

    bert-tf-export --model_dir=OUT/model --export_dir=/srv/models --model_name=sentiment \
        [--version=N]

Writes a SavedModel with raw-text signatures (tokenization in the graph),
checks its ops against stock TF Serving's op list, adds warm-up requests, and
writes EXPORT_DIR/models.config and EXPORT_DIR/batching_parameters.txt.
A failed export leaves nothing behind; an existing version is never replaced.

    bert-tf-export ... --format=tflite --quantize=dynamic_int8 --parity_file=dev.csv

adds an artifact checked against the float SavedModel (export.artifacts): a
.tflite model taking raw strings (EXPORT_DIR/NAME/tflite_<mode>/), or a
SavedModel version, each with parity.json; one more than --max_accuracy_drop
points below the float model is refused. SavedModel --quantize modes measured
slower on CPU are refused with the figures (export.quantize).
"""

from __future__ import annotations

from absl import flags

import bert_tf._quiet  # noqa: F401 - first: hides TensorFlow's start-up notices
from bert_tf.cli.common import main_wrapper, run_cli
from export import artifacts, exporter

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "model_dir", None, "Task-model folder (task.json, config.json, model.weights.h5, vocab.txt)."
)
flags.DEFINE_string(
    "export_dir",
    None,
    "Base folder TF Serving reads; the export goes to EXPORT_DIR/MODEL_NAME/VERSION.",
)
flags.DEFINE_string("model_name", None, "The model's name in TF Serving.")
flags.DEFINE_integer(
    "version",
    None,
    "Version number; default one more than the highest existing one.",
    lower_bound=1,
)
flags.DEFINE_string(
    "serving_root",
    "/models",
    "EXPORT_DIR as the server sees it, for models.config (/models in the docker image).",
)
flags.DEFINE_integer(
    "sequence_length",
    None,
    "Embedder exports only (an encoder folder): most tokens per text; default the model's own "
    "(sentence_bert_config.json) or max_position_embeddings. Task models use their training "
    "length.",
)
flags.DEFINE_string(
    "ops_file", None, "Allowed-op list; default the TF Serving 2.20 list shipped with bert_tf."
)
flags.DEFINE_enum(
    "quantize",
    "none",
    ["none", "dynamic_int8", "float16"],
    "Weights of the artifact: none (float32), dynamic_int8 (int8 weights, activations quantized "
    "per call) or float16. SavedModel: only modes measured faster on CPU are offered.",
)
flags.DEFINE_enum(
    "format",
    "saved_model",
    ["saved_model", "tflite"],
    "saved_model (TF Serving, EXPORT_DIR/NAME/VERSION) or tflite (EXPORT_DIR/NAME/tflite_<mode>/).",
)
flags.DEFINE_boolean(
    "tflite_raw_text",
    True,
    "TFLite: take raw strings (tokenizer inside the model, "
    "tensorflow-text kernels); --notflite_raw_text takes token ids.",
)
flags.DEFINE_string(
    "parity_file",
    None,
    "Labelled held-out text (CSV/TSV/JSONL, the training columns) the artifact "
    "is checked on against the float SavedModel; writes parity.json beside it. Required with "
    "--quantize or --format=tflite unless task.json records an eval file.",
)
flags.DEFINE_float(
    "max_accuracy_drop",
    1.0,
    "Refuse an artifact whose accuracy is more than this many points "
    "(percent) below the float model's on --parity_file.",
)
flags.mark_flags_as_required(["model_dir", "export_dir", "model_name"])


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")

    if FLAGS.quantize != "none" or FLAGS.format != "saved_model" or FLAGS.parity_file:
        path, report = artifacts.export_artifact(
            FLAGS.model_dir,
            FLAGS.export_dir,
            FLAGS.model_name,
            quantize=FLAGS.quantize,
            fmt=FLAGS.format,
            parity_file=FLAGS.parity_file,
            max_accuracy_drop=FLAGS.max_accuracy_drop,
            raw_text=FLAGS.tflite_raw_text,
            version=FLAGS.version,
            ops_file=FLAGS.ops_file,
            serving_root=FLAGS.serving_root,
        )
        print(
            f"exported {FLAGS.model_name} ({FLAGS.format}, --quantize={FLAGS.quantize}) to {path}; "
            f"parity report: {path}/parity.json"
        )
        return 0
    path = exporter.export_task_folder(
        FLAGS.model_dir,
        FLAGS.export_dir,
        FLAGS.model_name,
        version=FLAGS.version,
        ops_file=FLAGS.ops_file,
        sequence_length=FLAGS.sequence_length,
        serving_root=FLAGS.serving_root,
    )
    print(f"exported {FLAGS.model_name} to {path} (ops checked against TF Serving 2.20)")
    for line in exporter.signature_summary(path):
        print("  " + line)
    return 0


def run():
    """Console-script entry point (setup.cfg: bert-tf-export = export.cli:run)."""
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
