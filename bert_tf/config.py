"""BertConfig: the architecture of a BERT encoder, as one plain dataclass.

Field names follow google-research/bert's ``bert_config.json`` (the lingua
franca); Hugging Face ``config.json`` files use the same names plus a few
extras, which are accepted and ignored (or mapped, see ``_HF_ALIASES``).
"""

from __future__ import annotations

import dataclasses
import json
import os

# Activations BERT checkpoints name, mapped to what Keras calls them.
# "gelu" in google-research/bert and in HF is the exact erf form.
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_exact": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_approximate": "gelu_approximate",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
}

# Extra HF keys with a different name for one of ours.
_HF_ALIASES = {"hidden_dropout": "hidden_dropout_prob"}


@dataclasses.dataclass
class BertConfig:
    # Size of the WordPiece vocabulary; 30522 for Google's English uncased vocab.
    vocab_size: int = 30522
    # Width H of every token vector; heads split it into H / num_attention_heads.
    hidden_size: int = 768
    # Number of transformer blocks L.
    num_hidden_layers: int = 12
    # Number of attention heads A; Google's small BERTs use A = H / 64.
    num_attention_heads: int = 12
    # Width of the feed-forward inner layer; 4 * H in every Google model.
    intermediate_size: int = 3072
    # Feed-forward activation; "gelu" is the exact erf form BERT was trained with.
    hidden_act: str = "gelu"
    # Dropout after embeddings, attention output and feed-forward output.
    hidden_dropout_prob: float = 0.1
    # Dropout on attention probabilities.
    attention_probs_dropout_prob: float = 0.1
    # Longest sequence the learned position table covers.
    max_position_embeddings: int = 512
    # Number of segment (token type) ids: 2 for sentence A / sentence B.
    type_vocab_size: int = 2
    # Std of the truncated normal used for every fresh weight.
    initializer_range: float = 0.02
    # LayerNorm epsilon; google-research/bert hard-codes 1e-12, HF stores it.
    layer_norm_eps: float = 1e-12

    def __post_init__(self):
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(
                f"hidden_act={self.hidden_act!r} is not supported; use one of {sorted(ACTIVATIONS)}"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by "
                f"num_attention_heads={self.num_attention_heads}"
            )
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def keras_activation(self) -> str:
        return ACTIVATIONS[self.hidden_act]

    # --- conversion -------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> BertConfig:
        """Builds a config from Google or HF field names; unknown keys are ignored."""
        if not isinstance(data, dict):
            raise TypeError(f"BertConfig.from_dict expects a dict, got {type(data).__name__}")
        data = {_HF_ALIASES.get(k, k): v for k, v in data.items()}
        model_type = data.get("model_type")
        if model_type not in (None, "bert"):
            raise ValueError(
                f"config has model_type={model_type!r}; only BERT ('bert') is supported"
            )
        pet = data.get("position_embedding_type", "absolute")
        if pet not in (None, "absolute"):
            raise ValueError(f"position_embedding_type={pet!r} is not supported; only 'absolute'")
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = [
            k
            for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads")
            if k not in data
        ]
        if missing:
            raise ValueError(f"BERT config lacks required field(s) {missing}")
        kwargs = {k: v for k, v in data.items() if k in fields}
        if "intermediate_size" not in kwargs:
            kwargs["intermediate_size"] = 4 * int(kwargs["hidden_size"])
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> BertConfig:
        """Reads a Google ``bert_config.json`` or an HF ``config.json``."""
        path = os.fspath(path)
        if os.path.isdir(path):
            for name in ("config.json", "bert_config.json"):
                if os.path.exists(os.path.join(path, name)):
                    path = os.path.join(path, name)
                    break
            else:
                raise FileNotFoundError(f"no config.json or bert_config.json in {path}")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"BERT config file not found: {path}") from e
        except json.JSONDecodeError as e:
            raise ValueError(f"BERT config {path} is not valid JSON: {e}") from e
        return cls.from_dict(data)

    def to_json_file(self, path: str | os.PathLike, **extra) -> None:
        data = self.to_dict()
        data.update(extra)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
