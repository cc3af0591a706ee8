"""tf.data pipelines per task: classification, token classification (CoNLL), SQuAD, pretraining."""

from bert_tf.data.classification import (
    ClassificationExamples,
    classification_dataset,
    pad_features,
    padding_efficiency,
    read_classification_examples,
)
from bert_tf.data.conll import (
    IGNORE_LABEL,
    TokenClassificationExamples,
    predict_word_labels,
    read_token_classification_examples,
    token_classification_dataset,
    word_labels_from_logits,
)
from bert_tf.data.pretraining import (
    PretrainingInfo,
    create_segment_pairs,
    pretraining_dataset,
    read_documents,
)
from bert_tf.data.readers import DataError, detect_file_format, expand_paths, read_rows
from bert_tf.data.span_decoder import SpanDecoder
from bert_tf.data.squad import (
    SquadFeatures,
    postprocess_predictions,
    predict_answers,
    read_squad,
    split_squad_by_article,
    squad_dataset,
)
