"""bert-tf-finetune: fine-tune BERT for classification, token classification (NER) or SQuAD QA.

    bert-tf-finetune --task=classification --train_file=train.csv --eval_file=dev.csv \
        --text_column=text [--text_pair_column=text_b] --label_column=label \
        --init_checkpoint=MODEL_DIR_OR_HUB_ID --output_dir=OUT \
        --max_seq_length=128 --epochs=3 --batch_size=32 --learning_rate=1e-4
    bert-tf-finetune --task=multi_label_classification --label_column=tags ...   # cells "a|b"
    bert-tf-finetune --task=regression --label_column=score ...                  # float targets
    bert-tf-finetune --task=classification --long_text=windows --window_stride=64 ...
    bert-tf-finetune --task=token_classification --train_file=train.conll --eval_file=dev.conll \
        [--strip_token_prefix=en:] [--window_stride=64] \
        [--word_split=auto|whitespace|characters] ...
    bert-tf-finetune --task=question_answering --train_file=train-v2.0.json \
        --eval_file=dev-v2.0.json --max_seq_length=384 --doc_stride=128 ...
    bert-tf-finetune --flagfile=configs/finetune_classification.cfg --output_dir=OUT

Writes OUT/eval_results.json (classification: accuracy, macro precision/recall/F1,
Matthews correlation, per_class, confusion_matrix; multi-label: micro_/macro_ precision,
recall, f1, per_label; regression: mse, pearson, spearman; NER: entity-level CoNLL
precision/recall/F1; QA: SQuAD exact match and F1) and the trained model to OUT/model,
both only after a successful run.
OUT/checkpoints holds the training state: the same command resumes a killed run.
Bad input (missing or empty file, unknown eval label, too long --max_seq_length,
a checkpoint of another size) ends with `error: <reason>` and exit status 1.
"""

from __future__ import annotations

import importlib
import json

from absl import flags

import bert_tf._quiet  # noqa: F401 - first: hides TensorFlow's start-up notices
from bert_tf.cli.common import (
    check_required,
    define_once,
    define_training_flags,
    main_wrapper,
    run_cli,
    training_options_from_flags,
)

FLAGS = flags.FLAGS
define_once(
    flags.DEFINE_enum,
    "task",
    "classification",
    [
        "classification",
        "multi_label_classification",
        "regression",
        "token_classification",
        "question_answering",
    ],
    "What to fine-tune for.",
)
define_once(
    flags.DEFINE_string,
    "train_file",
    None,
    "Training data: CSV/TSV/JSONL (classification), CoNLL (NER), SQuAD JSON (QA).",
)
define_once(flags.DEFINE_string, "eval_file", None, "Evaluation data, same format as --train_file.")
define_once(
    flags.DEFINE_string,
    "init_checkpoint",
    None,
    "Pretrained model: Google TF1 / Hugging Face / bert_tf folder, or a Hugging Face hub id.",
)
define_once(
    flags.DEFINE_string,
    "output_dir",
    None,
    "Where eval_results.json, model/, checkpoints/ and logs/ go.",
)
define_once(
    flags.DEFINE_integer,
    "max_seq_length",
    128,
    "Most tokens per example, specials included (batches are padded only to their longest row).",
)
define_once(flags.DEFINE_string, "text_column", "text", "Classification: column of the text.")
define_once(
    flags.DEFINE_string,
    "text_pair_column",
    None,
    "Classification: column of the second text, for pairs.",
)
define_once(flags.DEFINE_string, "label_column", "label", "Classification: column of the label.")
define_once(
    flags.DEFINE_string,
    "label_map",
    None,
    "Label names in id order, comma-separated, or a JSON file holding a "
    "list (default: the sorted labels of --train_file).",
)
define_once(flags.DEFINE_float, "dropout", 0.1, "Dropout before the classification head.")
define_once(
    flags.DEFINE_string, "encoding", "utf-8", "Text encoding of the data files (e.g. latin-1)."
)
define_once(
    flags.DEFINE_integer,
    "doc_stride",
    128,
    "QA: tokens between the starts of a long context's windows.",
)
define_once(flags.DEFINE_integer, "max_query_length", 64, "QA: most question tokens.")
define_once(flags.DEFINE_integer, "max_answer_length", 30, "QA: most answer tokens.")
define_once(
    flags.DEFINE_integer, "n_best_size", 20, "QA: top start and end logits searched per window."
)
define_once(
    flags.DEFINE_enum,
    "word_split",
    "auto",
    ["auto", "whitespace", "characters"],
    "NER: the words of served raw text: whitespace-separated tokens (CJK ideographs "
    "alone), "
    "every character (character-level data), or auto (characters when nearly all training "
    "tokens are one character); kept in task.json for the export.",
)
define_once(
    flags.DEFINE_string,
    "strip_token_prefix",
    None,
    "NER: a prefix to remove from every CoNLL token that has it (WikiANN: en:).",
)
define_once(
    flags.DEFINE_float,
    "null_score_diff_threshold",
    0.0,
    "QA v2.0: answer 'no answer' when its score beats the best span by more than this.",
)
define_once(
    flags.DEFINE_enum,
    "long_text",
    "truncate",
    ["truncate", "windows"],
    "Classification, multi-label, regression: texts longer than max_seq_length are cut "
    "(truncate) or split into overlapping windows whose logits are averaged (windows), in "
    "evaluation and in the exported model.",
)
define_once(
    flags.DEFINE_integer,
    "window_stride",
    None,
    "Pieces between the starts of a long text's windows: NER (default max_seq_length // 2) "
    "and --long_text=windows (default (max_seq_length - 2) // 2); kept in task.json for "
    "the export.",
)
define_training_flags()  # TrainingOptions' own defaults
SEQUENCE_TASKS = ("classification", "multi_label_classification", "regression")
REQUIRED = [
    "train_file",
    "eval_file",
    "init_checkpoint",
    "output_dir",
]  # checked in main (validators would clash when both CLIs are imported)


def _label_map(value):
    if not value:
        return None
    if value.endswith(".json"):
        with open(value, encoding="utf-8") as f:
            names = json.load(f)
        if isinstance(names, dict):
            return names
        return [str(n) for n in names]
    return [name.strip() for name in value.split(",") if name.strip()]


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")
    check_required(REQUIRED)
    # The module, not bert_tf.training's re-exported `finetune` function of the same name.
    finetune = importlib.import_module("bert_tf.training.finetune")
    common = dict(
        train_file=FLAGS.train_file,
        eval_file=FLAGS.eval_file,
        init_checkpoint=FLAGS.init_checkpoint,
        output_dir=FLAGS.output_dir,
        max_seq_length=FLAGS.max_seq_length,
        options=training_options_from_flags(),
    )
    if FLAGS.task in SEQUENCE_TASKS:
        results = finetune.finetune_sequence_task(
            FLAGS.task,
            text_column=FLAGS.text_column,
            label_column=FLAGS.label_column,
            text_pair_column=FLAGS.text_pair_column,
            label_map=_label_map(FLAGS.label_map),
            dropout=FLAGS.dropout,
            encoding=FLAGS.encoding,
            long_text=FLAGS.long_text,
            window_stride=FLAGS.window_stride,
            **common,
        )
    elif FLAGS.task == "token_classification":
        results = finetune.finetune_token_classifier(
            label_map=_label_map(FLAGS.label_map),
            dropout=FLAGS.dropout,
            encoding=FLAGS.encoding,
            window_stride=FLAGS.window_stride,
            word_split=FLAGS.word_split,
            token_prefix=FLAGS.strip_token_prefix,
            **common,
        )
    else:
        results = finetune.finetune_question_answering(
            doc_stride=FLAGS.doc_stride,
            max_query_length=FLAGS.max_query_length,
            max_answer_length=FLAGS.max_answer_length,
            null_score_diff_threshold=FLAGS.null_score_diff_threshold,
            n_best_size=FLAGS.n_best_size,
            **common,
        )
    shown = {
        k: (round(v, 4) if isinstance(v, float) else v)
        for k, v in results.items()
        if not isinstance(v, (dict, list))
    }  # per_class, confusion_matrix: eval_results.json
    print(f"eval results: {json.dumps(shown)}")
    print(f"model: {FLAGS.output_dir}/model")
    return 0


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
