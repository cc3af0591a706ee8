"""bert-tf-export: a task-model folder (bert-tf-finetune's OUT/model) -> EXPORT_DIR/NAME/VERSION/ for TF Serving.

An encoder folder (no task.json) is exported as a sentence embedder.

    bert-tf-export --model_dir=OUT/model --export_dir=/srv/models --model_name=sentiment [--version=N]

Writes a SavedModel with raw-text signatures (tokenization in the graph),
checks its ops against stock TF Serving's op list, adds warm-up requests, and
writes EXPORT_DIR/models.config and EXPORT_DIR/batching_parameters.txt.
A failed export leaves nothing behind; an existing version is never replaced.
"""

from __future__ import annotations

from absl import flags

import bert_tf._quiet  # noqa: F401 - first: hides TensorFlow's start-up notices
from bert_tf.cli.common import main_wrapper, run_cli
from export import exporter

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Task-model folder (task.json, config.json, model.weights.h5, vocab.txt).")
flags.DEFINE_string("export_dir", None, "Base folder TF Serving reads; the export goes to EXPORT_DIR/MODEL_NAME/VERSION.")
flags.DEFINE_string("model_name", None, "The model's name in TF Serving.")
flags.DEFINE_integer("version", None, "Version number; default one more than the highest existing one.", lower_bound=1)
flags.DEFINE_string("serving_root", "/models",
                    "EXPORT_DIR as the server sees it, for models.config (/models in the docker image).")
flags.DEFINE_integer("sequence_length", None,
                     "Embedder exports only (an encoder folder): most tokens per text; default the model's own "
                     "(sentence_bert_config.json) or max_position_embeddings. Task models use their training length.")
flags.DEFINE_string("ops_file", None, "Allowed-op list; default the TF Serving 2.20 list shipped with bert_tf.")
flags.mark_flags_as_required(["model_dir", "export_dir", "model_name"])


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")

    path = exporter.export_task_folder(FLAGS.model_dir, FLAGS.export_dir, FLAGS.model_name,
                                       version=FLAGS.version, ops_file=FLAGS.ops_file,
                                       sequence_length=FLAGS.sequence_length,
                                       serving_root=FLAGS.serving_root)
    print(f"exported {FLAGS.model_name} to {path} (ops checked against TF Serving 2.20)")
    for line in exporter.signature_summary(path):
        print("  " + line)
    return 0


def run():
    """Console-script entry point (setup.cfg: bert-tf-export = export.cli:run)."""
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
