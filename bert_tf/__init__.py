"""bert_tf: BERT end to end on TensorFlow 2 + Keras 3."""

# _quiet comes first, before TensorFlow loads: it sets Keras's backend and hides TensorFlow's
# C++ start-up notices (BERT_TF_VERBOSE=1 shows them again).
from bert_tf import _quiet
from bert_tf.config import BertConfig
from bert_tf.models import (
    BertClassifier,
    BertEncoder,
    BertPretrainer,
    BertSpanLabeler,
    BertTextEmbedder,
    BertTokenClassifier,
)
from bert_tf.presets import get_preset, preset_names
from bert_tf.text import BertPreprocessor, BertTokenizer

__version__ = "0.1.0"
