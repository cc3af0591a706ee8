"""bert-tf-vocab: learn a BERT WordPiece vocab.txt from plain-text files.

    bert-tf-vocab --input_files=GLOB --output=vocab.txt --vocab_size=N [--lowercase]

One text per line; blank lines are skipped. The output starts with
[PAD] [UNK] [CLS] [SEP] [MASK] and is read by BertTokenizer(vocab_file,
lowercase=<the same --lowercase>). It holds at most N tokens: every character
seen at least --min_char_count times (one token each, so Chinese text has no
[UNK] but for rare characters), then WordPieces, the learner's count threshold
lowered step by step (10, 5, 3, 2) until N is reached. On a small corpus it can
be fewer; the command says how many and why.
"""

from __future__ import annotations

from absl import app, flags

import bert_tf._quiet  # noqa: F401 - first: hides TensorFlow's start-up notices
from bert_tf.cli.common import main_wrapper
from bert_tf.text.vocabulary import text_files, vocabulary_from_files, write_vocabulary

FLAGS = flags.FLAGS
flags.DEFINE_string(
    "input_files", None, "Glob of UTF-8 text files (comma-separated globs allowed)."
)
flags.DEFINE_string("output", None, "vocab.txt to write (written to a temp file, then renamed).")
flags.DEFINE_integer("vocab_size", 30522, "Target vocabulary size, special tokens included.")
flags.DEFINE_boolean("lowercase", False, "Learn an uncased vocabulary (lowercase + strip accents).")
flags.DEFINE_integer(
    "min_char_count", 2, "A character seen at least this often gets its own token."
)
flags.mark_flags_as_required(["input_files", "output"])


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")
    files = text_files(FLAGS.input_files)
    vocab, report = vocabulary_from_files(
        FLAGS.input_files,
        FLAGS.vocab_size,
        lowercase=FLAGS.lowercase,
        min_char_count=FLAGS.min_char_count,
        return_report=True,
    )
    write_vocabulary(vocab, FLAGS.output)
    print(
        f"wrote {FLAGS.output}: {len(vocab)} tokens from {len(files)} file(s) "
        f"({'uncased' if FLAGS.lowercase else 'cased'})"
    )
    print(report.summary())
    return 0


def run():
    app.run(main)


if __name__ == "__main__":
    run()
