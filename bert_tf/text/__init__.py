"""Everything between raw text and the encoder, in-graph: tokenizer, packer, MLM masking, vocabulary."""

from bert_tf.text.bert_preprocessor import BertPreprocessor
from bert_tf.text.bert_tokenizer import BertTokenizer
