"""Everything between raw text and the encoder, in-graph: tokenizer, packer, MLM masking, NSP pairs,
vocabulary."""

from bert_tf.text.bert_masked_lm_masker import BertMaskedLMMasker
from bert_tf.text.bert_preprocessor import BertPreprocessor
from bert_tf.text.bert_tokenizer import BertTokenizer
from bert_tf.text.next_sentence import next_sentence_dataset, next_sentence_pairs
from bert_tf.text.vocabulary import build_vocabulary, vocabulary_from_files, write_vocabulary
