from bert_tf.layers.bert_embeddings import BertEmbeddings
from bert_tf.layers.masked_lm_head import MaskedLMHead
from bert_tf.layers.transformer_block import TransformerBlock
