"""TrainingOptions is declared once: every command's training flags are made from its fields."""

import dataclasses

from absl import flags

import bert_tf.cli.distill as distill_cli
import bert_tf.cli.finetune as finetune_cli
import bert_tf.cli.pretrain as pretrain_cli
from bert_tf.cli.common import training_options_from_flags
from bert_tf.training.distill import DISTILL_LEARNING_RATE
from bert_tf.training.options import TrainingOptions, cli_fields, flag_name
from bert_tf.training.pretrain import PRETRAIN_LEARNING_RATE


def _parsed(*argv):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["prog", *argv])
    return flags.FLAGS


def test_every_option_field_is_a_flag_with_its_help():
    names = {flag_name(f): f for f in cli_fields()}
    assert "tpu" in names and "verbose" not in names  # a renamed flag; a field that is not one
    for name, field in names.items():
        flag = flags.FLAGS[name]
        assert flag.help.endswith(field.metadata["help"]), name  # enums prefix <a|b>:
    every = {f.name for f in dataclasses.fields(TrainingOptions)}
    assert every - {f.name for f in cli_fields()} == {"verbose"}


def test_defaults_come_from_the_fields_and_each_command_keeps_its_own():
    _parsed()
    assert (
        training_options_from_flags() == TrainingOptions()
    )  # bert-tf-finetune: the fields' defaults
    assert finetune_cli.main  # imported above, in one process with the other two CLIs
    pre = training_options_from_flags(**pretrain_cli.COMMAND_DEFAULTS)
    assert pre.learning_rate == PRETRAIN_LEARNING_RATE != TrainingOptions().learning_rate
    assert training_options_from_flags(**distill_cli.COMMAND_DEFAULTS).learning_rate == (
        DISTILL_LEARNING_RATE
    )


def test_given_flags_win_over_every_default():
    _parsed("--learning_rate=0.25", "--epochs=7", "--notensorboard", "--tpu=local", "--seed=3")
    options = training_options_from_flags(**pretrain_cli.COMMAND_DEFAULTS)
    assert (options.learning_rate, options.epochs, options.tensorboard) == (0.25, 7, False)
    assert (options.tpu_address, options.seed) == ("local", 3)
    _parsed()
