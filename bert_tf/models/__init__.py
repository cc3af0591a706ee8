from bert_tf.models.bert_classifier import BertClassifier
from bert_tf.models.bert_encoder import BertEncoder
from bert_tf.models.bert_pretrainer import BertPretrainer
from bert_tf.models.bert_span_labeler import BertSpanLabeler
from bert_tf.models.bert_task import load_task_model
from bert_tf.models.bert_text_embedder import BertTextEmbedder
from bert_tf.models.bert_token_classifier import BertTokenClassifier
from bert_tf.models.pretrained import (
    convert,
    encoder_from_keras_hub,
    load_pretrainer,
    read_checkpoint,
)
