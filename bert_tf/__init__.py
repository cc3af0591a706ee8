"""bert_tf: BERT end to end on TensorFlow 2 + Keras 3."""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bert_tf.config import BertConfig  # noqa: E402
from bert_tf.models import (  # noqa: E402
    BertClassifier,
    BertEncoder,
    BertPretrainer,
    BertSpanLabeler,
    BertTextEmbedder,
    BertTokenClassifier,
)
from bert_tf.presets import get_preset, preset_names  # noqa: E402
from bert_tf.text import BertPreprocessor, BertTokenizer  # noqa: E402

__version__ = "0.1.0"
