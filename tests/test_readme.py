"""The README's Python quickstart runs as written (on a tiny model folder and a tiny CSV)."""

import csv
import os
import re

import numpy as np

from bert_tf.models import BertEncoder
from tests.test_text_tokenizer import VOCAB

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def quickstart_code():
    text = open(README, encoding="utf-8").read()
    section = text.split("## Python quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "README has no python block under '## Python quickstart'"
    return blocks[0]


def test_python_quickstart_runs(tiny_config, tmp_path, monkeypatch):
    code = quickstart_code()
    for placeholder in (
        '"google-bert/bert-base-uncased"',
        '"train.csv"',
        '"path/to/all-MiniLM-L6-v2"',
    ):
        assert placeholder in code, (
            f"README quickstart changed: {placeholder} not found; update this test"
        )
    model_dir = tmp_path / "tiny_model"
    import dataclasses

    config = dataclasses.replace(tiny_config, max_position_embeddings=128)
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    BertEncoder(config).save_pretrained(str(model_dir), vocab_file=str(vocab_file), lowercase=True)
    with open(tmp_path / "train.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(40):
            writer.writerow(
                [
                    "hello world the fox" if i % 2 else "unaffable quick brown",
                    "pos" if i % 2 else "neg",
                ]
            )
    code = code.replace('"google-bert/bert-base-uncased"', repr(str(model_dir))).replace(
        '"path/to/all-MiniLM-L6-v2"', repr(str(model_dir))
    )
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README.md quickstart", "exec"), scope)  # the README's own code
    assert scope["labels"] == ["neg", "pos"]
    assert os.path.isfile(tmp_path / "out" / "model" / "task.json")
    vectors = np.asarray(scope["vectors"])
    assert vectors.shape == (2, config.hidden_size)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
