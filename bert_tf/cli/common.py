"""Tiny helpers shared by the CLIs: one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
import sys

from bert_tf import _quiet
from bert_tf.errors import cause_line
from bert_tf.training.options import TrainingOptions, cli_fields, flag_name


def main_wrapper(main):
    """Wraps an absl ``main(argv)``: an exception becomes ``error: <one line>`` on stderr, exit 1.

    The line is the cause (bert_tf.errors.cause_line), not TensorFlow's ``Graph execution error:``.
    It also hides TensorFlow's Python INFO logs unless asked for (bert_tf/_quiet.py).
    """

    @functools.wraps(main)
    def wrapped(argv):
        _quiet.quiet_absl_logging()
        try:
            return main(argv)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            sys.exit(130)
        except SystemExit:
            raise
        except Exception as e:  # the CLI contract: one line, no traceback
            print(f"error: {cause_line(e)}", file=sys.stderr)
            sys.exit(1)

    return wrapped


def run_cli(main, module_name: str) -> None:
    """``app.run(main)`` for a console script, with --help showing ``module_name``'s doc and flags.

    absl's --help lists the flags of the ``__main__`` module; under a console
    script that is the generated wrapper, which defines none.
    """
    from absl import app, flags

    module = sys.modules[module_name]
    for flag in flags.FLAGS.get_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    main_module = sys.modules.get("__main__")
    if main_module is not None and main_module is not module and not main_module.__doc__:
        main_module.__doc__ = module.__doc__
    app.run(main)


# === Training flags shared by bert-tf-finetune and bert-tf-pretrain ===


def define_once(define, name, *args, **kwargs):
    """``define(name, ...)`` unless a flag ``name`` exists already (several CLIs imported in one
    process, as in the tests, share their common flags instead of failing as duplicates)."""
    from absl import flags

    if name not in flags.FLAGS:
        define(name, *args, **kwargs)


_DEFINE = {
    "int": "DEFINE_integer",
    "float": "DEFINE_float",
    "bool": "DEFINE_boolean",
    "str": "DEFINE_string",
}


def define_training_flags(**command_defaults) -> None:
    """Defines one flag per TrainingOptions field (call once, at import of a CLI module).

    The fields are the declaration: type, default and help come from
    bert_tf.training.options. ``command_defaults`` (e.g. ``learning_rate=2e-3`` for
    pretraining) replace a field's default for this command; pass the same dict to
    ``training_options_from_flags`` (the flags are shared when several CLIs share a process).
    """
    from absl import flags

    for field in cli_fields():
        name = flag_name(field)
        default = command_defaults.get(field.name, field.default)
        help_text = field.metadata["help"]
        choices = field.metadata.get("choices")
        if choices:
            define_once(flags.DEFINE_enum, name, default, list(choices), help_text)
            continue
        kind = field.type.split("|")[0].strip()  # "int | None" -> "int"
        define_once(getattr(flags, _DEFINE[kind]), name, default, help_text)


def training_options_from_flags(**command_defaults) -> TrainingOptions:
    """A TrainingOptions from the flags of define_training_flags; a flag left at its default
    takes ``command_defaults[field]`` when given, else the field's default."""
    from absl import flags

    values = {}
    for field in cli_fields():
        flag = flags.FLAGS[flag_name(field)]
        if flag.using_default_value:
            values[field.name] = command_defaults.get(field.name, field.default)
        else:
            values[field.name] = flag.value
    return TrainingOptions(**values)


def check_required(names) -> None:
    """Raises one ValueError naming every flag of ``names`` left empty (checked in ``main``:
    absl validators would clash when several CLIs are imported into one process)."""
    from absl import flags

    missing = [f"--{name}" for name in names if not flags.FLAGS[name].value]
    if missing:
        raise ValueError(f"missing required flag(s): {', '.join(missing)}")
