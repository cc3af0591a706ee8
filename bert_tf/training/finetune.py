"""Fine-tuning recipes a notebook (or ``bert-tf-finetune``) calls: data -> model -> Trainer -> results.

    from bert_tf.training import finetune_classifier
    results = finetune_classifier(train_file="train.csv", eval_file="dev.csv", text_column="text",
                                  label_column="label", init_checkpoint=minilm_path(), output_dir="out",
                                  epochs=3, batch_size=32, learning_rate=1e-4)

Writes ``output_dir/eval_results.json`` and the trained model under ``output_dir/model``
(task-folder format, see bert_tf.checkpoints), both only after training and evaluation
succeeded (each written to a temporary name, then renamed). ``output_dir/checkpoints``
holds the resumable training state, ``output_dir/logs`` the TensorBoard events.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from bert_tf.checkpoints import save_task_model
from bert_tf.config import BertConfig
from bert_tf.data.classification import examples_to_dataset, read_classification_examples
from bert_tf.data.conll import (
    IGNORE_LABEL,
    predict_word_labels,
    read_token_classification_examples,
    token_classification_dataset,
)
from bert_tf.data.squad import predict_answers, squad_dataset
from bert_tf.model_dir import resolve_model_dir
from bert_tf.models import BertClassifier, BertEncoder, BertSpanLabeler, BertTokenClassifier
from bert_tf.text import BertPreprocessor
from bert_tf.training.distribution import get_strategy, is_chief, set_precision
from bert_tf.training.metrics import classification_metrics, conll_f1, squad_metrics
from bert_tf.training.optimization import create_optimizer
from bert_tf.training.run_lock import holds_output_dir
from bert_tf.training.run_state import begin_run
from bert_tf.training.trainer import Trainer

TASKS = ("classification", "token_classification", "question_answering")
RESULTS_NAME = "eval_results.json"
MODEL_SUBDIR = "model"


@dataclasses.dataclass
class TrainingOptions:
    """How to train; the same for every task (``bert-tf-finetune`` / ``bert-tf-pretrain`` flags)."""

    epochs: int = 3
    batch_size: int = 32  # global: split across replicas
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    gradient_accumulation_steps: int = 1
    optimizer: str = "adamw"
    seed: int = 42
    resume: bool = True
    mixed_precision: str = "float32"
    jit_compile: bool = False
    strategy: str = "default"
    tpu_address: str | None = None
    checkpoint_every_n_steps: int | None = None
    early_stopping_patience: int | None = None
    tensorboard: bool = True
    eval_every_epoch: bool = False
    verbose: int = 1


# === Shared plumbing ===

def check_file(path, what):
    if not path:
        raise ValueError(f"{what} is required")
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    if not tf.io.gfile.isdir(path) and tf.io.gfile.stat(path).length == 0:
        raise ValueError(f"{what} is empty: {path}")


def setup_run(options: TrainingOptions):
    """Precision, seeds and strategy, in that order (models built afterwards pick them up)."""
    if options.epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {options.epochs}")
    if options.batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {options.batch_size}")
    set_precision(options.mixed_precision)
    keras.utils.set_random_seed(options.seed)
    strategy = get_strategy(options.strategy, options.tpu_address)
    if options.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size={options.batch_size} is global and must divide evenly across "
                         f"{strategy.num_replicas_in_sync} replicas")
    return strategy


def resolve_init_checkpoint(init_checkpoint, max_seq_length):
    """(local folder, BertConfig); checks the sequence length fits the position table."""
    if not init_checkpoint:
        raise ValueError("init_checkpoint is required (a model folder or a Hugging Face hub id)")
    folder = resolve_model_dir(init_checkpoint)
    config = BertConfig.from_json_file(folder)
    if max_seq_length > config.max_position_embeddings:
        raise ValueError(f"max_seq_length={max_seq_length} exceeds the model's max_position_embeddings="
                         f"{config.max_position_embeddings}")
    if max_seq_length < 3:
        raise ValueError(f"max_seq_length must be at least 3, got {max_seq_length}")
    return folder, config


def prepare_run(train_file, eval_file, init_checkpoint, max_seq_length, options, overrides):
    """What every fine-tuning recipe does first: options, start time, input checks, the model
    folder, the distribution strategy and the preprocessor of the checkpoint."""

    options = dataclasses.replace(options or TrainingOptions(), **overrides)
    started = time.time()
    check_file(train_file, "train_file")
    check_file(eval_file, "eval_file")
    folder, _ = resolve_init_checkpoint(init_checkpoint, max_seq_length)
    strategy = setup_run(options)
    preprocessor = BertPreprocessor.from_pretrained(folder, sequence_length=max_seq_length)
    return options, started, folder, strategy, preprocessor


def write_json_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with tf.io.gfile.GFile(tmp, "w") as f:
        f.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tf.io.gfile.rename(tmp, path, overwrite=True)


def make_trainer(model, loss_fn, total_steps, strategy, output_dir, options: TrainingOptions):
    with strategy.scope():
        optimizer = create_optimizer(
            options.learning_rate, total_steps, warmup_ratio=options.warmup_ratio,
            weight_decay=options.weight_decay, max_grad_norm=options.max_grad_norm,
            gradient_accumulation_steps=options.gradient_accumulation_steps, optimizer=options.optimizer,
            mixed_precision=options.mixed_precision)
    return Trainer(model, optimizer, loss_fn, strategy=strategy, model_dir=output_dir,
                   checkpoint_every_n_steps=options.checkpoint_every_n_steps, jit_compile=options.jit_compile,
                   tensorboard=options.tensorboard, verbose=options.verbose)


def finish(trainer, model, output_dir, results, task_info, vocab_file, lowercase, started):
    """Saves the model folder and eval_results.json (chief only), each atomically."""
    results = dict(results)
    results.update(global_step=trainer.step, train_seconds=round(time.time() - started, 1))
    if trainer.history:
        results["train_loss"] = trainer.history[-1].get("loss")
    if is_chief(trainer.strategy):
        save_task_model(model, os.path.join(output_dir, MODEL_SUBDIR), task_info, vocab_file=vocab_file,
                        lowercase=lowercase)
        write_json_atomic(os.path.join(output_dir, RESULTS_NAME), results)
    return results


def sparse_ce(labels, logits):
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


# === Classification ===

def classification_loss(labels, logits):
    values = sparse_ce(labels, logits)
    return {"loss": (values, tf.ones_like(values))}


@holds_output_dir
def finetune_classifier(train_file, eval_file, init_checkpoint, output_dir, text_column="text",
                        label_column="label", text_pair_column=None, label_map=None, max_seq_length=128,
                        dropout=0.1, encoding="utf-8", options: TrainingOptions | None = None, **overrides):
    """Fine-tunes a BertClassifier on a CSV / TSV / JSONL file; returns the eval metrics dict.

    Metrics: accuracy, macro precision / recall / F1, Matthews correlation, eval loss.
    ``label_map``: label names in id order (default: the sorted labels of the training file);
    an eval label outside it is an error. ``options`` / keyword overrides: see TrainingOptions.
    """
    options, started, folder, strategy, preprocessor = prepare_run(
        train_file, eval_file, init_checkpoint, max_seq_length, options, overrides)
    read = dict(text_column=text_column, label_column=label_column, text_pair_column=text_pair_column,
                encoding=encoding)
    train = read_classification_examples(train_file, label_map=label_map, **read)
    labels = train.label_names
    if len(labels) < 2:
        raise ValueError(f"{train_file}: only one label ({labels[0]!r}) in the training data")
    evaluation = read_classification_examples(eval_file, label_map=labels, **read)
    data_files = {"train_file": train_file, "eval_file": eval_file}
    begin_run(output_dir, strategy, options, data_files, folder, labels, task="classification",
              max_seq_length=max_seq_length, dropout=dropout, **read)
    pad = 8 if options.jit_compile else None  # a few shapes for XLA instead of every length

    def train_dataset(epoch):
        return examples_to_dataset(train, preprocessor, options.batch_size, shuffle=True,
                                   seed=options.seed + epoch, pad_to_multiple_of=pad)

    eval_dataset = examples_to_dataset(evaluation, preprocessor, options.batch_size, pad_to_multiple_of=pad)
    steps_per_epoch = int(train_dataset(0).cardinality())
    with strategy.scope():
        encoder = BertEncoder.from_pretrained(folder)
        model = BertClassifier(encoder, num_classes=len(labels), dropout=dropout)
    trainer = make_trainer(model, classification_loss, options.epochs * steps_per_epoch, strategy, output_dir,
                           options)

    def evaluate():
        y_true, y_pred, loss_sum = [], [], 0.0
        for logits, y in trainer.predict(eval_dataset):
            y_true.append(y)
            y_pred.append(logits.argmax(-1))
            loss_sum += float(np.sum(sparse_ce(y, logits)))
        y_true, y_pred = np.concatenate(y_true), np.concatenate(y_pred)
        result = classification_metrics(y_true, y_pred, num_classes=len(labels))
        result["eval_loss"] = loss_sum / len(y_true)
        return result

    trainer.fit(train_dataset, epochs=options.epochs, steps_per_epoch=steps_per_epoch,
                eval_fn=evaluate if (options.early_stopping_patience or options.eval_every_epoch) else None,
                early_stopping_patience=options.early_stopping_patience, early_stopping_metric="accuracy",
                resume=options.resume)
    results = evaluate()
    task_info = {"task": "classification", "labels": list(labels),
                 "preprocessor": {"sequence_length": max_seq_length, "text_pair": text_pair_column is not None},
                 "text_columns": {"text": text_column, "text_pair": text_pair_column, "label": label_column}}
    return finish(trainer, model, output_dir, results, task_info, os.path.join(folder, "vocab.txt"),
                  preprocessor.tokenizer.lowercase, started)


# === Token classification ===

def token_classification_loss(labels, logits):
    weights = tf.cast(tf.not_equal(labels, IGNORE_LABEL), tf.float32)
    values = sparse_ce(tf.maximum(labels, 0), logits)  # [B, T]
    return {"loss": (values, weights)}


@holds_output_dir
def finetune_token_classifier(train_file, eval_file, init_checkpoint, output_dir, label_map=None,
                              max_seq_length=128, dropout=0.1, encoding="utf-8",
                              options: TrainingOptions | None = None, **overrides):
    """Fine-tunes a BertTokenClassifier on CoNLL-2003 style files; returns entity-level (conlleval) metrics."""

    options, started, folder, strategy, preprocessor = prepare_run(
        train_file, eval_file, init_checkpoint, max_seq_length, options, overrides)
    train = read_token_classification_examples(train_file, label_map=label_map, encoding=encoding)
    labels = train.label_names
    evaluation = read_token_classification_examples(eval_file, label_map=labels, encoding=encoding)
    data_files = {"train_file": train_file, "eval_file": eval_file}
    begin_run(output_dir, strategy, options, data_files, folder, labels, task="token_classification",
              max_seq_length=max_seq_length, dropout=dropout, encoding=encoding)

    def train_dataset(epoch):
        return token_classification_dataset(train, preprocessor, options.batch_size, shuffle=True,
                                            seed=options.seed + epoch)[0]

    steps_per_epoch = int(train_dataset(0).cardinality())
    with strategy.scope():
        model = BertTokenClassifier(BertEncoder.from_pretrained(folder), num_classes=len(labels),
                                    dropout=dropout)
    trainer = make_trainer(model, token_classification_loss, options.epochs * steps_per_epoch, strategy,
                           output_dir, options)

    def evaluate():
        predicted = predict_word_labels(model, evaluation, preprocessor, labels, batch_size=options.batch_size)
        return conll_f1(evaluation.tags, predicted)

    trainer.fit(train_dataset, epochs=options.epochs, steps_per_epoch=steps_per_epoch,
                eval_fn=evaluate if (options.early_stopping_patience or options.eval_every_epoch) else None,
                early_stopping_patience=options.early_stopping_patience, early_stopping_metric="f1",
                resume=options.resume)
    results = evaluate()
    task_info = {"task": "token_classification", "labels": list(labels),
                 "preprocessor": {"sequence_length": max_seq_length, "text_pair": False}}
    return finish(trainer, model, output_dir, results, task_info, os.path.join(folder, "vocab.txt"),
                  preprocessor.tokenizer.lowercase, started)


# === Question answering ===

def span_loss(labels, outputs):
    start = sparse_ce(labels["start_logits"], outputs["start_logits"])
    end = sparse_ce(labels["end_logits"], outputs["end_logits"])
    ones = tf.ones_like(start)
    return {"start_loss": (0.5 * start, ones), "end_loss": (0.5 * end, ones)}  # BERT: mean of the two


@holds_output_dir
def finetune_question_answering(train_file, eval_file, init_checkpoint, output_dir, max_seq_length=384,
                                doc_stride=128, max_query_length=64, max_answer_length=30,
                                null_score_diff_threshold=0.0, options: TrainingOptions | None = None,
                                **overrides):
    """Fine-tunes a BertSpanLabeler on SQuAD v1.1 / v2.0 JSON; returns exact match and F1 (percent)."""

    options, started, folder, strategy, preprocessor = prepare_run(
        train_file, eval_file, init_checkpoint, max_seq_length, options, overrides)
    squad_args = dict(max_query_length=max_query_length, doc_stride=doc_stride)
    _, train = squad_dataset(train_file, preprocessor, options.batch_size, **squad_args)
    _, evaluation = squad_dataset(eval_file, preprocessor, options.batch_size, **squad_args)
    data_files = {"train_file": train_file, "eval_file": eval_file}
    begin_run(output_dir, strategy, options, data_files, folder, task="question_answering",
              max_seq_length=max_seq_length, **squad_args)

    def train_dataset(epoch):
        return squad_dataset(train, None, options.batch_size, shuffle=True, seed=options.seed + epoch)[0]

    steps_per_epoch = int(train_dataset(0).cardinality())
    with strategy.scope():
        model = BertSpanLabeler(BertEncoder.from_pretrained(folder))
    trainer = make_trainer(model, span_loss, options.epochs * steps_per_epoch, strategy, output_dir, options)
    version = "2.0" if evaluation.version_2_with_negative else "1.1"

    def evaluate():
        answers = predict_answers(model, evaluation, batch_size=options.batch_size,
                                  max_answer_length=max_answer_length,
                                  null_score_diff_threshold=null_score_diff_threshold)
        gold = {e.qid: [a["text"] for a in e.answers] for e in evaluation.examples}
        result = squad_metrics(gold, answers, version=version)
        result["squad_version"] = version
        return result

    trainer.fit(train_dataset, epochs=options.epochs, steps_per_epoch=steps_per_epoch,
                eval_fn=evaluate if (options.early_stopping_patience or options.eval_every_epoch) else None,
                early_stopping_patience=options.early_stopping_patience, early_stopping_metric="f1",
                resume=options.resume)
    results = evaluate()
    task_info = {"task": "question_answering", "labels": None,
                 "preprocessor": {"sequence_length": max_seq_length, "text_pair": True},
                 "squad": {"doc_stride": doc_stride, "max_query_length": max_query_length,
                           "max_answer_length": max_answer_length, "version": version}}
    return finish(trainer, model, output_dir, results, task_info, os.path.join(folder, "vocab.txt"),
                  preprocessor.tokenizer.lowercase, started)


def finetune(task, **kwargs):
    """Dispatches to finetune_classifier / finetune_token_classifier / finetune_question_answering."""
    recipes = {"classification": finetune_classifier, "token_classification": finetune_token_classifier,
               "question_answering": finetune_question_answering}
    if task not in recipes:
        raise ValueError(f"unknown task {task!r}; choose one of {list(recipes)}")
    return recipes[task](**kwargs)
