"""Training: optimizers and schedules, strategy and precision setup, metrics, the loop, task recipes."""

from bert_tf.training.distribution import get_strategy, set_precision
from bert_tf.training.linear_warmup_decay import LinearWarmupDecay
from bert_tf.training.metrics import (
    classification_metrics,
    conll_f1,
    masked_lm_metrics,
    squad_metrics,
)
from bert_tf.training.optimization import create_optimizer
from bert_tf.training.trainer import Trainer
from bert_tf.training.finetune import (  # noqa: E402
    TrainingOptions,
    finetune,
    finetune_classifier,
    finetune_question_answering,
    finetune_token_classifier,
)
from bert_tf.training.pretrain import pretrain  # noqa: E402
from bert_tf.training.distill import distill_classifier  # noqa: E402
