"""Tiny helpers shared by the CLIs: one-line errors instead of tracebacks."""

from __future__ import annotations

import functools
import sys

from bert_tf import _quiet
from bert_tf.errors import cause_line
from bert_tf.training.distribution import PRECISIONS, STRATEGIES
from bert_tf.training.finetune import TrainingOptions
from bert_tf.training.optimization import OPTIMIZERS


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


def define_training_flags(
    learning_rate: float = 5e-5, epochs: int = 3, batch_size: int = 32
) -> None:
    """Defines the flags of bert_tf.training.TrainingOptions (call once, at import of a CLI
    module)."""
    from absl import flags

    define_once(flags.DEFINE_integer, "epochs", epochs, "Passes over the training data.")
    define_once(
        flags.DEFINE_integer,
        "batch_size",
        batch_size,
        "Global batch size (split evenly across replicas).",
    )
    define_once(
        flags.DEFINE_float,
        "learning_rate",
        learning_rate,
        "Peak learning rate, reached after warmup.",
    )
    define_once(
        flags.DEFINE_float,
        "warmup_ratio",
        0.1,
        "Fraction of optimizer updates spent in linear warmup.",
    )
    define_once(
        flags.DEFINE_float,
        "weight_decay",
        0.01,
        "Decoupled weight decay (not on LayerNorm or bias).",
    )
    define_once(
        flags.DEFINE_float,
        "max_grad_norm",
        1.0,
        "Clip the gradient to this global norm (0: no clipping).",
    )
    define_once(
        flags.DEFINE_integer,
        "gradient_accumulation_steps",
        1,
        "Batches whose gradients are averaged per update.",
    )
    define_once(
        flags.DEFINE_enum,
        "optimizer",
        "adamw",
        list(OPTIMIZERS),
        "adamw (fine-tuning) or lamb (large-batch pretraining).",
    )
    define_once(
        flags.DEFINE_integer, "seed", 42, "Seed of weights init, dropout, shuffling and masking."
    )
    define_once(
        flags.DEFINE_boolean,
        "resume",
        True,
        "Continue the run in OUTPUT_DIR (a different run there, per OUTPUT_DIR/run.json, is an "
        "error); --noresume sets the old run aside in OUTPUT_DIR/old-<time> and starts over.",
    )
    define_once(
        flags.DEFINE_enum,
        "mixed_precision",
        "float32",
        list(PRECISIONS),
        "Compute dtype policy; mixed_float16 adds dynamic loss scaling.",
    )
    define_once(
        flags.DEFINE_boolean, "jit_compile", False, "XLA-compile the forward and backward pass."
    )
    define_once(
        flags.DEFINE_enum,
        "strategy",
        "default",
        list(STRATEGIES),
        "default (one device), mirrored (local GPUs), multi_worker (TF_CONFIG), tpu.",
    )
    define_once(
        flags.DEFINE_string,
        "tpu",
        None,
        "TPU address for --strategy=tpu (empty or 'local' on a TPU VM).",
    )
    define_once(
        flags.DEFINE_integer,
        "checkpoint_every_n_steps",
        None,
        "Also checkpoint every N steps (always at the end of each epoch and of training).",
    )
    define_once(
        flags.DEFINE_integer,
        "early_stopping_patience",
        None,
        "Stop after N evaluations without improvement "
        "(evaluates every epoch; keeps the best weights).",
    )
    define_once(
        flags.DEFINE_boolean, "tensorboard", True, "Write TensorBoard scalars to OUTPUT_DIR/logs."
    )
    define_once(
        flags.DEFINE_boolean,
        "eval_every_epoch",
        False,
        "Evaluate after every epoch, not only at the end.",
    )


def training_options_from_flags(**overrides):
    """A bert_tf.training.TrainingOptions from the flags of define_training_flags."""
    from absl import flags

    f = flags.FLAGS
    options = TrainingOptions(
        epochs=f.epochs,
        batch_size=f.batch_size,
        learning_rate=f.learning_rate,
        warmup_ratio=f.warmup_ratio,
        weight_decay=f.weight_decay,
        max_grad_norm=f.max_grad_norm,
        gradient_accumulation_steps=f.gradient_accumulation_steps,
        optimizer=f.optimizer,
        seed=f.seed,
        resume=f.resume,
        mixed_precision=f.mixed_precision,
        jit_compile=f.jit_compile,
        strategy=f.strategy,
        tpu_address=f.tpu,
        checkpoint_every_n_steps=f.checkpoint_every_n_steps,
        early_stopping_patience=f.early_stopping_patience,
        tensorboard=f.tensorboard,
        eval_every_epoch=f.eval_every_epoch,
    )
    for key, value in overrides.items():
        setattr(options, key, value)
    return options
