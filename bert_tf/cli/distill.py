"""bert-tf-distill: a fine-tuned classifier (teacher) trains a smaller, faster one (student).

    bert-tf-distill --teacher_dir=OUT/model --student=teacher_layers:2 \
        --train_file=train.csv [--unlabeled_file=more_text.csv] --eval_file=dev.csv \
        --output_dir=OUT2 --temperature=2 --alpha=0.5 [--hidden_weight=1] \
        [--text_column=text --label_column=label --max_seq_length=64] \
        --epochs=3 --batch_size=32 --learning_rate=1e-4
    bert-tf-distill --student=bert_mini ...        # a preset, fresh weights
    bert-tf-distill --student=PRETRAINED_DIR ...   # an encoder folder with the teacher's vocabulary

Loss: alpha * T^2 * KL at temperature T against the teacher's probabilities
(every row) + (1 - alpha) * cross-entropy on the labels (labelled rows; rows of
--unlabeled_file get only the soft term) [+ hidden_weight * MSE between the
student's projected hidden states and the teacher's]. --student=teacher_layers:N
starts from the teacher's embeddings, first N layers, pooler and head.

Writes OUT2/model (a task folder bert-tf-export takes) and OUT2/eval_results.json
(student metrics and teacher_accuracy on --eval_file). Bad input ends with
`error: <reason>` and exit status 1.
"""

from __future__ import annotations

import json

from absl import flags

from bert_tf.cli.common import (
    check_required,
    define_once,
    define_training_flags,
    main_wrapper,
    run_cli,
    training_options_from_flags,
)
from bert_tf.training import distill

FLAGS = flags.FLAGS
define_once(
    flags.DEFINE_string,
    "teacher_dir",
    None,
    "The fine-tuned teacher: a classification task folder (bert-tf-finetune's OUT/model).",
)
define_once(
    flags.DEFINE_string,
    "student",
    "teacher_layers:2",
    "teacher_layers:N (the teacher's first N layers), "
    "a preset (bert_tiny, bert_mini, bert_L4_H256, ...) or a pretrained encoder folder.",
)
define_once(flags.DEFINE_string, "train_file", None, "Labelled training data: CSV/TSV/JSONL.")
define_once(
    flags.DEFINE_string,
    "unlabeled_file",
    None,
    "Unlabelled in-domain text (CSV/TSV/JSONL with the text column): soft targets only.",
)
define_once(
    flags.DEFINE_string,
    "unlabeled_text_column",
    None,
    "Text column of --unlabeled_file (default: --text_column).",
)
define_once(
    flags.DEFINE_string, "eval_file", None, "Labelled evaluation data, same format as --train_file."
)
define_once(
    flags.DEFINE_string,
    "output_dir",
    None,
    "Where eval_results.json, model/, checkpoints/ and logs/ go.",
)
define_once(
    flags.DEFINE_float,
    "temperature",
    distill.DEFAULT_TEMPERATURE,
    "Softmax temperature of the soft targets (the soft loss is scaled by T^2).",
)
define_once(
    flags.DEFINE_float,
    "alpha",
    distill.DEFAULT_ALPHA,
    "Weight of the soft-target loss; 1 - alpha weighs the hard-label loss.",
)
define_once(
    flags.DEFINE_float,
    "hidden_weight",
    0.0,
    "Weight of the hidden-state transfer (MSE between projected "
    "student and teacher layer outputs); 0 turns it off.",
)
define_once(flags.DEFINE_string, "text_column", "text", "Column of the text.")
define_once(flags.DEFINE_string, "label_column", "label", "Column of the label.")
define_once(
    flags.DEFINE_integer,
    "max_seq_length",
    128,
    "Most tokens per example (distill: default the "
    "teacher's training length when the flag is left unset).",
)
define_once(
    flags.DEFINE_string, "encoding", "utf-8", "Text encoding of the data files (e.g. latin-1)."
)
COMMAND_DEFAULTS = {"learning_rate": distill.DISTILL_LEARNING_RATE}
define_training_flags(**COMMAND_DEFAULTS)
REQUIRED = ["teacher_dir", "train_file", "eval_file", "output_dir"]


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")
    check_required(REQUIRED)
    results = distill.distill_classifier(
        teacher_dir=FLAGS.teacher_dir,
        student=FLAGS.student,
        train_file=FLAGS.train_file,
        eval_file=FLAGS.eval_file,
        output_dir=FLAGS.output_dir,
        unlabeled_file=FLAGS.unlabeled_file,
        temperature=FLAGS.temperature,
        alpha=FLAGS.alpha,
        hidden_weight=FLAGS.hidden_weight,
        text_column=FLAGS.text_column,
        label_column=FLAGS.label_column,
        unlabeled_text_column=FLAGS.unlabeled_text_column,
        max_seq_length=FLAGS.max_seq_length if FLAGS["max_seq_length"].present else None,
        encoding=FLAGS.encoding,
        options=training_options_from_flags(**COMMAND_DEFAULTS),
    )
    shown = {
        k: (round(v, 4) if isinstance(v, float) else v)
        for k, v in results.items()
        if not isinstance(v, dict)
    }
    print(f"eval results: {json.dumps(shown)}")
    print(f"model: {FLAGS.output_dir}/model")
    return 0


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
