"""bert-tf-convert: any supported BERT checkpoint folder in, bert_tf / Hugging Face / Google TF1
out.

    bert-tf-convert --input=PATH --output=DIR [--format=bert_tf|huggingface|google]

PATH may be a Google TF1 folder, an HF folder, a bert_tf encoder or task folder,
or an HF hub id (fetched when online). The output folder is written atomically.
"""

from __future__ import annotations

import sys

from absl import flags

import bert_tf._quiet  # noqa: F401 - first: hides TensorFlow's start-up notices
from bert_tf.cli.common import main_wrapper, run_cli
from bert_tf.models import convert

FLAGS = flags.FLAGS
flags.DEFINE_string("input", None, "Model folder (Google TF1, Hugging Face, bert_tf) or HF hub id.")
flags.DEFINE_string("output", None, "Folder to write; replaced whole only once complete.")
flags.DEFINE_enum("format", "bert_tf", ["bert_tf", "huggingface", "google"], "Output format.")
flags.DEFINE_enum(
    "hf_prefix",
    "auto",
    ["auto", "yes", "no"],
    "Hugging Face output only: put 'bert.' before encoder tensor names "
    "(auto: only when pretraining heads are written, as BertForPreTraining names them).",
)
flags.mark_flags_as_required(["input", "output"])


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")
    prefix = {"auto": None, "yes": True, "no": False}[FLAGS.hf_prefix]
    summary = convert(FLAGS.input, FLAGS.output, format=FLAGS.format, hf_prefix=prefix)
    if summary["dropped"]:
        print(
            f"note: left out {len(summary['dropped'])} head tensor(s) the {FLAGS.format} "
            f"format does not hold: {', '.join(summary['dropped'][:5])}",
            file=sys.stderr,
        )
    print(
        f"wrote {FLAGS.output} ({FLAGS.format}, {summary['tensors']} tensors, "
        f"from {summary['input_format']})"
    )
    return 0


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
