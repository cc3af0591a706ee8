"""Training: optimizers, schedules, strategy and precision setup, metrics, the loop, task recipes.

The recipes that share a name with their module are imported from the module, so that
``bert_tf.training.finetune`` and ``bert_tf.training.pretrain`` stay the modules:

    from bert_tf.training.finetune import finetune      # any task, by name
    from bert_tf.training.pretrain import pretrain
    from bert_tf.training import finetune_classifier    # the per-task recipes are here too
"""

from bert_tf.training.distill import distill_classifier
from bert_tf.training.distribution import get_strategy, set_precision
from bert_tf.training.finetune import (
    TrainingOptions,
    finetune_classifier,
    finetune_multi_label_classifier,
    finetune_question_answering,
    finetune_regressor,
    finetune_sequence_task,
    finetune_token_classifier,
)
from bert_tf.training.linear_warmup_decay import LinearWarmupDecay
from bert_tf.training.metrics import (
    classification_metrics,
    classification_report,
    conll_f1,
    masked_lm_metrics,
    multi_label_metrics,
    regression_metrics,
    squad_metrics,
)
from bert_tf.training.optimization import create_optimizer
from bert_tf.training.trainer import Trainer
