"""TrainingOptions: how a run trains, declared once.

The dataclass is the single declaration: each field carries its default and its help text,
and bert_tf.cli.common makes the absl flags of every training command from these fields
(``flag_name`` when the flag is spelled differently, ``choices`` for enum flags, ``cli=False``
for fields that are not flags). A command with its own default (pretraining's learning rate)
passes it to ``define_training_flags(learning_rate=...)``; there is no second copy here.

    from bert_tf.training.options import TrainingOptions
    options = TrainingOptions(epochs=2, learning_rate=1e-4)
"""

from __future__ import annotations

import dataclasses

from bert_tf.training.distribution import PRECISIONS, STRATEGIES
from bert_tf.training.optimization import OPTIMIZERS

# The fine-tuning default (BERT paper's range is 2e-5 .. 5e-5 for base models).
FINETUNE_LEARNING_RATE = 5e-5


def option(default, help: str, flag_name: str | None = None, choices=None, cli: bool = True):
    """A TrainingOptions field: its default, the help of its flag, and how the flag is made."""
    metadata = {"help": help, "flag_name": flag_name, "choices": choices, "cli": cli}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class TrainingOptions:
    """How to train; the same for every task (the training flags of every bert-tf command)."""

    epochs: int = option(3, "Passes over the training data.")
    batch_size: int = option(32, "Global batch size (split evenly across replicas).")
    learning_rate: float = option(
        FINETUNE_LEARNING_RATE, "Peak learning rate, reached after warmup."
    )
    warmup_ratio: float = option(0.1, "Fraction of optimizer updates spent in linear warmup.")
    weight_decay: float = option(0.01, "Decoupled weight decay (not on LayerNorm or bias).")
    max_grad_norm: float = option(1.0, "Clip the gradient to this global norm (0: no clipping).")
    gradient_accumulation_steps: int = option(1, "Batches whose gradients are averaged per update.")
    optimizer: str = option(
        "adamw", "adamw (fine-tuning) or lamb (large-batch pretraining).", choices=OPTIMIZERS
    )
    seed: int = option(42, "Seed of weights init, dropout, shuffling and masking.")
    resume: bool = option(
        True,
        "Continue the run in OUTPUT_DIR (a different run there, per OUTPUT_DIR/run.json, is an "
        "error); --noresume sets the old run aside in OUTPUT_DIR/old-<time> and starts over.",
    )
    mixed_precision: str = option(
        "float32",
        "Compute dtype policy; mixed_float16 adds dynamic loss scaling.",
        choices=PRECISIONS,
    )
    jit_compile: bool = option(False, "XLA-compile the forward and backward pass.")
    strategy: str = option(
        "default",
        "default (one device), mirrored (local GPUs), multi_worker (TF_CONFIG), tpu.",
        choices=STRATEGIES,
    )
    tpu_address: str | None = option(
        None, "TPU address for --strategy=tpu (empty or 'local' on a TPU VM).", flag_name="tpu"
    )
    checkpoint_every_n_steps: int | None = option(
        None, "Also checkpoint every N steps (always at the end of each epoch and of training)."
    )
    early_stopping_patience: int | None = option(
        None,
        "Stop after N evaluations without improvement (evaluates every epoch; keeps the best "
        "weights).",
    )
    tensorboard: bool = option(True, "Write TensorBoard scalars to OUTPUT_DIR/logs.")
    eval_every_epoch: bool = option(False, "Evaluate after every epoch, not only at the end.")
    verbose: int = option(1, "Progress bars (1) or none (0).", cli=False)


def flag_name(field: dataclasses.Field) -> str:
    """The absl flag of a TrainingOptions field."""
    return field.metadata.get("flag_name") or field.name


def cli_fields() -> list:
    """The TrainingOptions fields that are command-line flags, in declaration order."""
    return [f for f in dataclasses.fields(TrainingOptions) if f.metadata.get("cli", True)]
