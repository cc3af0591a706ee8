"""Chinese word segmentation for whole-word masking (jieba), and telling a Chinese vocabulary apart.

segmenter = jieba_segmenter()          # text -> list of words
segmenter("使用语言模型来预测下一个词")
# -> ['使用', '语言', '模型', '来', '预测', '下', '一个', '词']
"""

from __future__ import annotations

import logging

# CJK Unified Ideographs (and extension A): the characters BERT tokenizes one by one.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF))
MIN_CJK_TOKENS = 100  # a vocabulary with this many single CJK characters is taken as Chinese


def is_cjk(char: str) -> bool:
    return len(char) == 1 and any(lo <= ord(char) <= hi for lo, hi in _CJK_RANGES)


def is_chinese_vocabulary(vocabulary) -> bool:
    """True when the vocabulary holds at least MIN_CJK_TOKENS single CJK characters."""
    return sum(1 for t in vocabulary if is_cjk(t)) >= MIN_CJK_TOKENS


def jieba_segmenter():
    """jieba's accurate mode as a function text -> words.

    jieba is imported here, not at module top: it is an optional dependency (the ``chinese``
    extra, pure Python) and loading its dictionary takes about a second, which only Chinese
    whole-word masking needs.
    """
    try:
        import jieba
    except ImportError as e:
        raise ImportError(
            "Chinese whole-word masking needs jieba: pip install 'bert_tf[chinese]' "
            "(or pip install jieba==0.42.1)"
        ) from e
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.lcut
