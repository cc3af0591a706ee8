"""Architecture presets: the 24 small BERTs of google-research/bert plus base and large.

Plain data only (no weights). Google's small models all use A = H / 64 heads and
an intermediate size of 4 * H; names follow their release
(``bert_uncased_L-2_H-128_A-2`` becomes ``bert_L2_H128``).
"""

from __future__ import annotations

from bert_tf.config import BertConfig

_LAYERS = (2, 4, 6, 8, 10, 12)
_HIDDEN = (128, 256, 512, 768)


def _make(num_layers: int, hidden: int) -> dict:
    return {
        "num_hidden_layers": num_layers,
        "hidden_size": hidden,
        "num_attention_heads": hidden // 64,
        "intermediate_size": 4 * hidden,
    }


PRESETS: dict[str, dict] = {f"bert_L{n}_H{h}": _make(n, h) for n in _LAYERS for h in _HIDDEN}
PRESETS["bert_large"] = {
    "num_hidden_layers": 24,
    "hidden_size": 1024,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
}

# The names the BERT README gives the best-known sizes.
ALIASES = {
    "bert_tiny": "bert_L2_H128",
    "bert_mini": "bert_L4_H256",
    "bert_small": "bert_L4_H512",
    "bert_medium": "bert_L8_H512",
    "bert_base": "bert_L12_H768",
}


def preset_names() -> list[str]:
    return sorted(PRESETS) + sorted(ALIASES)


def get_preset(name: str, **overrides) -> BertConfig:
    """Returns the BertConfig of a preset; keyword overrides (e.g. vocab_size) win."""
    key = ALIASES.get(name, name)
    if key not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {preset_names()}")
    return BertConfig(**{**PRESETS[key], **overrides})
