"""bert-tf-pretrain: masked-LM (+ next-sentence) pretraining from plain-text files.

    bert-tf-vocab --input_files='book/*.txt' --output=vocab.txt --vocab_size=8000 --lowercase
    bert-tf-pretrain --train_files='book/*.txt' [--eval_files='heldout/*.txt'] \
        --vocab_file=vocab.txt \
        --model=bert_tiny --output_dir=OUT --max_seq_length=128 --train_steps=600 \
        --batch_size=32 --learning_rate=2e-3
    bert-tf-pretrain ... --init_checkpoint=MODEL_DIR      # continue pretraining a checkpoint
    bert-tf-pretrain ... --train_steps=0 --output_dir=RANDOM  # a freshly initialised network of the
        # same config and vocab: fine-tune RANDOM/model for the random-initialisation baseline
    bert-tf-pretrain ... --whole_word_masking             # Chinese vocab: jieba words are the units
    bert-tf-pretrain ... --tie_mlm_embeddings=false       # an untied MLM output layer (default
        # auto: Google's tied one from scratch, the checkpoint's head with --init_checkpoint)
    # From scratch (defaults): the MLM output bias starts at the text's log unigram frequencies
    # (--mlm_bias_init=unigram) and OUT/model is written with its embeddings scaled back to the
    # initializer's norm, the same function (--embedding_scale=auto); README "Chinese BERT".

Text files: one sentence or paragraph per line, a blank line between documents;
they are streamed (read document by document), so a corpus of any size fits.
--model is a preset (bert_tiny, bert_mini, bert_small, bert_medium, bert_base,
bert_L{2..12}_H{128..768}, bert_large) or a BERT config JSON; the vocabulary
size comes from --vocab_file. Writes OUT/model (the encoder with its vocab.txt),
OUT/pretrainer (with the MLM/NSP heads, to continue from) and
OUT/eval_results.json: held-out masked_lm_accuracy, nsp_accuracy and
commonest_token_baseline_accuracy (always predicting the training text's most
frequent token). A killed run resumes from OUT/checkpoints with the same command.
"""

from __future__ import annotations

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
from bert_tf.training.pretrain import PRETRAIN_LEARNING_RATE, pretrain

FLAGS = flags.FLAGS
define_once(
    flags.DEFINE_string, "train_files", None, "Training text: a glob or comma-separated globs."
)
define_once(
    flags.DEFINE_string,
    "eval_files",
    None,
    "Held-out text; default: the last --eval_fraction of the training documents.",
)
define_once(
    flags.DEFINE_float, "eval_fraction", 0.05, "Documents held out when --eval_files is not given."
)
define_once(
    flags.DEFINE_string,
    "vocab_file",
    None,
    "WordPiece vocab.txt (bert-tf-vocab); default: --init_checkpoint's.",
)
define_once(
    flags.DEFINE_string,
    "model",
    "bert_tiny",
    "Architecture preset or BERT config JSON (fresh weights).",
)
define_once(
    flags.DEFINE_string,
    "init_checkpoint",
    None,
    "Continue from this model folder (or hub id) instead of --model.",
)
define_once(
    flags.DEFINE_string,
    "output_dir",
    None,
    "Where eval_results.json, model/, pretrainer/, checkpoints/, logs/ go.",
)
define_once(
    flags.DEFINE_integer,
    "max_seq_length",
    128,
    "Most tokens per packed sequence, specials included.",
)
define_once(
    flags.DEFINE_integer,
    "train_steps",
    10000,
    "Training batches (0: write the freshly initialised "
    "network, the random-initialisation baseline).",
)
define_once(flags.DEFINE_boolean, "use_nsp", True, "Also train the next-sentence-prediction head.")
define_once(
    flags.DEFINE_boolean,
    "whole_word_masking",
    False,
    "Mask whole words rather than single WordPieces.",
)
define_once(
    flags.DEFINE_enum,
    "word_segmenter",
    "auto",
    ["auto", "jieba", "none"],
    "Whole-word masking units: auto = jieba words when the vocab is Chinese, else WordPiece words.",
)
define_once(
    flags.DEFINE_integer,
    "save_encoder_every_n_steps",
    None,
    "Also write the encoder every N steps "
    "to OUTPUT_DIR/model_step{N} (for a curve of pretraining steps against a task).",
)
define_once(
    flags.DEFINE_enum,
    "tie_mlm_embeddings",
    "auto",
    ["auto", "true", "false"],
    "MLM output layer tied to the input embeddings: auto = tied from scratch (Google's "
    "head; untied measured worse on Chinese NER, see README), the checkpoint's head with "
    "--init_checkpoint.",
)
define_once(
    flags.DEFINE_enum,
    "mlm_bias_init",
    "unigram",
    ["unigram", "zeros"],
    "From scratch, the MLM output bias starts at the training text's log unigram frequencies "
    "(unigram) or at zero (zeros, google-research/bert); the checkpoint's with --init_checkpoint.",
)
define_once(
    flags.DEFINE_enum,
    "embedding_scale",
    "auto",
    ["auto", "initial", "trained"],
    "How OUTPUT_DIR/model is written: initial = token, position and segment embeddings scaled "
    "together back to the initializer's norm (the same function; fine-tunes better, see README), "
    "trained = as trained; auto = initial from scratch, trained with --init_checkpoint.",
)
define_once(flags.DEFINE_float, "masked_lm_prob", 0.15, "Fraction of tokens to predict.")
define_once(
    flags.DEFINE_integer, "max_predictions_per_seq", 20, "Most predicted tokens per sequence."
)
define_once(
    flags.DEFINE_boolean,
    "lowercase",
    None,
    "Lower-case text before WordPiece (default: from the checkpoint, else guessed from the vocab).",
)
define_once(flags.DEFINE_string, "encoding", "utf-8", "Text encoding of the input files.")
COMMAND_DEFAULTS = {
    "learning_rate": PRETRAIN_LEARNING_RATE,
    "epochs": 1,
}  # epochs: unused (train_steps)
define_training_flags(**COMMAND_DEFAULTS)
REQUIRED = [
    "train_files",
    "output_dir",
]  # checked in main (validators would clash when both CLIs are imported)


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")
    check_required(REQUIRED)
    if not FLAGS.vocab_file and not FLAGS.init_checkpoint:
        raise ValueError("--vocab_file is required (or --init_checkpoint to take its vocab)")
    results = pretrain(
        train_files=FLAGS.train_files,
        eval_files=FLAGS.eval_files,
        eval_fraction=FLAGS.eval_fraction,
        vocab_file=FLAGS.vocab_file,
        model=FLAGS.model,
        init_checkpoint=FLAGS.init_checkpoint,
        output_dir=FLAGS.output_dir,
        max_seq_length=FLAGS.max_seq_length,
        train_steps=FLAGS.train_steps,
        use_nsp=FLAGS.use_nsp,
        whole_word_masking=FLAGS.whole_word_masking,
        masked_lm_prob=FLAGS.masked_lm_prob,
        max_predictions_per_seq=FLAGS.max_predictions_per_seq,
        lowercase=FLAGS.lowercase,
        encoding=FLAGS.encoding,
        word_segmenter=FLAGS.word_segmenter,
        save_encoder_every_n_steps=FLAGS.save_encoder_every_n_steps,
        tie_mlm_embeddings=FLAGS.tie_mlm_embeddings,
        mlm_bias_init=FLAGS.mlm_bias_init,
        embedding_scale=FLAGS.embedding_scale,
        options=training_options_from_flags(**COMMAND_DEFAULTS),
    )
    shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in results.items()}
    print(f"eval results: {json.dumps(shown)}")
    print(f"encoder: {FLAGS.output_dir}/model")
    return 0


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
