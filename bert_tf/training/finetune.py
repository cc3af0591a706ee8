"""Fine-tuning recipes a notebook (or ``bert-tf-finetune``) calls: data -> model -> Trainer ->
results.

    from bert_tf.training import finetune_classifier
    results = finetune_classifier(train_file="train.csv", eval_file="dev.csv", text_column="text",
                                  label_column="label", init_checkpoint=minilm_path(),
                                  output_dir="out", epochs=3, batch_size=32, learning_rate=1e-4)

Writes ``output_dir/eval_results.json`` and the trained model under ``output_dir/model``
(task-folder format, see bert_tf.checkpoints), both only after training and evaluation
succeeded (each written to a temporary name, then renamed). ``output_dir/checkpoints``
holds the resumable training state, ``output_dir/logs`` the TensorBoard events.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from bert_tf.checkpoints import save_task_model
from bert_tf.config import BertConfig
from bert_tf.data import text_windows
from bert_tf.data.classification import (
    examples_to_dataset,
    label_counts,
    read_classification_examples,
)
from bert_tf.data.conll import (
    IGNORE_LABEL,
    read_token_classification_examples,
    token_classification_dataset,
)
from bert_tf.data.span_decoder import SpanDecoder
from bert_tf.data.squad import read_squad, squad_dataset
from bert_tf.data.text_windows import DEFAULT_LONG_TEXT
from bert_tf.data.token_windows import (
    TokenWindows,
    choose_word_split,
    default_window_stride,
    token_char_spans,
)
from bert_tf.model_dir import resolve_model_dir
from bert_tf.models import BertClassifier, BertEncoder, BertSpanLabeler, BertTokenClassifier
from bert_tf.text import BertPreprocessor
from bert_tf.training.distribution import get_strategy, is_chief, set_precision
from bert_tf.training.metrics import (
    classification_metrics,
    classification_report,
    cmrc_metrics,
    conll_f1,
    mostly_chinese,
    multi_label_metrics,
    regression_metrics,
    squad_metrics,
)
from bert_tf.training.optimization import create_optimizer
from bert_tf.training.options import TrainingOptions
from bert_tf.training.run_lock import holds_output_dir
from bert_tf.training.run_state import begin_run
from bert_tf.training.trainer import Trainer

TASKS = ("classification", "token_classification", "question_answering")
SEQUENCE_TASK_NAMES = ("multi_label_classification", "regression")  # beside classification
RESULTS_NAME = "eval_results.json"
PREDICTIONS_NAME = "predictions.json"  # QA: {question id: answer text} of the evaluation
MODEL_SUBDIR = "model"


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
        raise ValueError(
            f"batch_size={options.batch_size} is global and must divide evenly across "
            f"{strategy.num_replicas_in_sync} replicas"
        )
    return strategy


def resolve_init_checkpoint(init_checkpoint, max_seq_length):
    """(local folder, BertConfig); checks the sequence length fits the position table."""
    if not init_checkpoint:
        raise ValueError("init_checkpoint is required (a model folder or a Hugging Face hub id)")
    folder = resolve_model_dir(init_checkpoint)
    config = BertConfig.from_json_file(folder)
    if max_seq_length > config.max_position_embeddings:
        raise ValueError(
            f"max_seq_length={max_seq_length} exceeds the model's max_position_embeddings="
            f"{config.max_position_embeddings}"
        )
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
            options.learning_rate,
            total_steps,
            warmup_ratio=options.warmup_ratio,
            weight_decay=options.weight_decay,
            max_grad_norm=options.max_grad_norm,
            gradient_accumulation_steps=options.gradient_accumulation_steps,
            optimizer=options.optimizer,
            mixed_precision=options.mixed_precision,
        )
    return Trainer(
        model,
        optimizer,
        loss_fn,
        strategy=strategy,
        model_dir=output_dir,
        checkpoint_every_n_steps=options.checkpoint_every_n_steps,
        jit_compile=options.jit_compile,
        tensorboard=options.tensorboard,
        verbose=options.verbose,
    )


def fit_with_options(
    trainer, train_dataset, steps_per_epoch, options: TrainingOptions, evaluate, metric, mode="max"
):
    """``trainer.fit`` as every recipe runs it: ``evaluate`` each epoch only when early stopping
    or --eval_every_epoch asks for it, early stopping on ``metric`` (``mode``), resume per
    options."""
    evaluate_each_epoch = options.early_stopping_patience or options.eval_every_epoch
    trainer.fit(
        train_dataset,
        epochs=options.epochs,
        steps_per_epoch=steps_per_epoch,
        eval_fn=evaluate if evaluate_each_epoch else None,
        early_stopping_patience=options.early_stopping_patience,
        early_stopping_metric=metric,
        early_stopping_mode=mode,
        resume=options.resume,
    )


def finish(trainer, model, output_dir, results, task_info, vocab_file, lowercase, started):
    """Saves the model folder and eval_results.json (chief only), each atomically."""
    results = dict(results)
    results.update(global_step=trainer.step, train_seconds=round(time.time() - started, 1))
    if trainer.history:
        results["train_loss"] = trainer.history[-1].get("loss")
    if is_chief(trainer.strategy):
        save_task_model(
            model,
            os.path.join(output_dir, MODEL_SUBDIR),
            task_info,
            vocab_file=vocab_file,
            lowercase=lowercase,
        )
        write_json_atomic(os.path.join(output_dir, RESULTS_NAME), results)
    return results


def sparse_ce(labels, logits):
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)


# === Classification ===


def classification_loss(labels, logits):
    values = sparse_ce(labels, logits)
    return {"loss": (values, tf.ones_like(values))}


def multi_label_loss(labels, logits):
    """Sigmoid cross-entropy, the mean over labels per example (keras.losses.BinaryCrossentropy)."""
    labels = tf.cast(labels, tf.float32)
    values = keras.losses.binary_crossentropy(labels, logits, from_logits=True)  # [B]
    return {"loss": (values, tf.ones_like(values))}


def regression_loss(labels, logits):
    """Squared error of the one-output head (keras.losses.MeanSquaredError)."""
    values = tf.square(tf.cast(logits[:, 0], tf.float32) - tf.cast(labels, tf.float32))  # [B]
    return {"loss": (values, tf.ones_like(values))}


# task -> (label_type of the reader, training loss, early-stopping metric and mode)
SEQUENCE_TASKS = {
    "classification": ("class", classification_loss, "accuracy", "max"),
    "multi_label_classification": ("multi_label", multi_label_loss, "micro_f1", "max"),
    "regression": ("regression", regression_loss, "mse", "min"),
}
MULTI_LABEL_THRESHOLD = 0.5  # a label is predicted when its sigmoid score is >= this


def sequence_targets(examples):
    """What the loss compares logits to: class ids [N], float targets [N] or multi-hot [N, L]."""
    if examples.multi_label:
        return examples.multi_hot()
    return np.asarray(examples.labels, np.float32 if examples.is_regression else np.int32)


def sequence_task_metrics(task, logits, targets, label_names) -> dict:
    """eval_results.json figures of a sequence-level task from logits [N, C] and targets."""
    logits = np.asarray(logits, np.float32)
    if task == "classification":
        predicted = logits.argmax(-1)
        result = classification_metrics(targets, predicted, num_classes=len(label_names))
        result.update(classification_report(targets, predicted, label_names))
        result["eval_loss"] = float(np.mean(sparse_ce(targets, logits)))
    elif task == "multi_label_classification":
        scores = 1.0 / (1.0 + np.exp(-logits))
        result = multi_label_metrics(targets, scores >= MULTI_LABEL_THRESHOLD, label_names)
        result["eval_loss"] = float(np.mean(multi_label_loss(targets, logits)["loss"][0]))
    else:
        result = regression_metrics(targets, logits[:, 0])
        result["eval_loss"] = result["mse"]
    return result


@holds_output_dir
def finetune_sequence_task(
    task,
    train_file,
    eval_file,
    init_checkpoint,
    output_dir,
    text_column="text",
    label_column="label",
    text_pair_column=None,
    label_map=None,
    max_seq_length=128,
    dropout=0.1,
    encoding="utf-8",
    long_text=DEFAULT_LONG_TEXT,
    window_stride=None,
    options: TrainingOptions | None = None,
    **overrides,
):
    """Fine-tunes a BertClassifier for ``task`` (see SEQUENCE_TASKS); returns the eval metrics dict.

    classification: softmax over the labels; multi_label_classification: one sigmoid per
    label (the label column holds ``|``-separated names), predicted when >= 0.5;
    regression: one float output, mean squared error. ``long_text="windows"``: texts
    longer than one window are cut into overlapping windows ``window_stride`` pieces
    apart (default half a window); each window trains as an example with its text's
    label, and evaluation (like the export) averages a text's window logits
    (bert_tf.data.text_windows).
    """
    if task not in SEQUENCE_TASKS:
        raise ValueError(f"unknown sequence task {task!r}; choose one of {list(SEQUENCE_TASKS)}")
    label_type, loss_fn, stop_metric, stop_mode = SEQUENCE_TASKS[task]
    stride = text_windows.check_long_text(
        long_text, window_stride, max_seq_length, text_pair=text_pair_column is not None
    )
    options, started, folder, strategy, preprocessor = prepare_run(
        train_file, eval_file, init_checkpoint, max_seq_length, options, overrides
    )
    read = dict(
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        encoding=encoding,
        label_type=label_type,
    )
    train = read_classification_examples(train_file, label_map=label_map, **read)
    labels = train.label_names
    if task == "classification" and len(labels) < 2:
        raise ValueError(f"{train_file}: only one label ({labels[0]!r}) in the training data")
    if task == "multi_label_classification" and not labels:
        raise ValueError(f"{train_file}: no labels at all in column {label_column!r}")
    if labels and label_map is None and options.verbose:
        counts = label_counts(train.labels, labels, train.multi_label)
        print(
            f"labels learned from {train_file} (no --label_map): {json.dumps(counts)}", flush=True
        )
    evaluation = read_classification_examples(eval_file, label_map=labels, **read)
    data_files = {"train_file": train_file, "eval_file": eval_file}
    begin_run(
        output_dir,
        strategy,
        options,
        data_files,
        folder,
        labels,
        task=task,
        max_seq_length=max_seq_length,
        dropout=dropout,
        long_text=long_text,
        window_stride=stride,
        **read,
    )
    train_targets, eval_targets = sequence_targets(train), sequence_targets(evaluation)
    pad = 8 if options.jit_compile else None  # a few shapes for XLA instead of every length

    def train_dataset(epoch):
        if stride:
            return text_windows.window_dataset(
                train,
                preprocessor,
                stride,
                options.batch_size,
                train_targets,
                shuffle=True,
                seed=options.seed + epoch,
            )
        return examples_to_dataset(
            train,
            preprocessor,
            options.batch_size,
            shuffle=True,
            seed=options.seed + epoch,
            pad_to_multiple_of=pad,
        )

    steps_per_epoch = int(train_dataset(0).cardinality())
    with strategy.scope():
        model = BertClassifier(
            BertEncoder.from_pretrained(folder),
            num_classes=len(labels) if labels else 1,
            dropout=dropout,
        )
    trainer = make_trainer(
        model, loss_fn, options.epochs * steps_per_epoch, strategy, output_dir, options
    )
    if not stride:
        eval_dataset = examples_to_dataset(
            evaluation, preprocessor, options.batch_size, pad_to_multiple_of=pad
        )

    def evaluate():
        if stride:  # file order, every window of every text, as the SavedModel does it
            logits = text_windows.predict_windowed_logits(
                model, preprocessor, evaluation.texts, stride, options.batch_size
            )
            targets = eval_targets
        else:  # bucketed batches come in another order: the targets come with them
            pairs = list(trainer.predict(eval_dataset))
            logits = np.concatenate([x for x, _ in pairs])
            targets = np.concatenate([y for _, y in pairs])
        return sequence_task_metrics(task, logits, targets, labels)

    fit_with_options(
        trainer, train_dataset, steps_per_epoch, options, evaluate, stop_metric, stop_mode
    )
    results = evaluate()
    task_info = {
        "task": task,
        "labels": list(labels) if labels else None,
        "preprocessor": {
            "sequence_length": max_seq_length,
            "text_pair": text_pair_column is not None,
        },
        "text_columns": {"text": text_column, "text_pair": text_pair_column, "label": label_column},
        "long_text": {"mode": long_text, "window_stride": stride},
    }
    if task == "multi_label_classification":
        task_info["threshold"] = MULTI_LABEL_THRESHOLD
    return finish(
        trainer,
        model,
        output_dir,
        results,
        task_info,
        os.path.join(folder, "vocab.txt"),
        preprocessor.tokenizer.lowercase,
        started,
    )


def finetune_classifier(
    train_file,
    eval_file,
    init_checkpoint,
    output_dir,
    text_column="text",
    label_column="label",
    text_pair_column=None,
    label_map=None,
    max_seq_length=128,
    dropout=0.1,
    encoding="utf-8",
    options: TrainingOptions | None = None,
    **overrides,
):
    """Fine-tunes a BertClassifier on a CSV / TSV / JSONL file; returns the eval metrics dict.

    Metrics: accuracy, macro precision / recall / F1 (``f1_macro``: classes seen;
    ``macro_f1``: all classes), Matthews correlation, eval loss, ``per_class``
    {label: {precision, recall, f1, support}} and ``confusion_matrix`` (rows true,
    columns predicted, in ``confusion_matrix_labels`` order).
    ``label_map``: label names in id order (default: the sorted labels of the training file);
    an eval label outside it is an error. ``options`` / keyword overrides: see TrainingOptions
    (and ``long_text`` / ``window_stride``: see finetune_sequence_task).
    """
    return finetune_sequence_task(
        "classification",
        train_file,
        eval_file,
        init_checkpoint,
        output_dir,
        text_column=text_column,
        label_column=label_column,
        text_pair_column=text_pair_column,
        label_map=label_map,
        max_seq_length=max_seq_length,
        dropout=dropout,
        encoding=encoding,
        options=options,
        **overrides,
    )


def finetune_multi_label_classifier(train_file, eval_file, init_checkpoint, output_dir, **kwargs):
    """finetune_sequence_task("multi_label_classification", ...): micro/macro precision/recall/F1,
    per-label figures, subset accuracy, Hamming loss."""
    return finetune_sequence_task(
        "multi_label_classification", train_file, eval_file, init_checkpoint, output_dir, **kwargs
    )


def finetune_regressor(train_file, eval_file, init_checkpoint, output_dir, **kwargs):
    """finetune_sequence_task("regression", ...): mse, mae, pearson, spearman."""
    return finetune_sequence_task(
        "regression", train_file, eval_file, init_checkpoint, output_dir, **kwargs
    )


# === Token classification ===


def token_classification_loss(labels, logits):
    weights = tf.cast(tf.not_equal(labels, IGNORE_LABEL), tf.float32)
    values = sparse_ce(tf.maximum(labels, 0), logits)  # [B, T]
    return {"loss": (values, weights)}


def evaluate_token_windows(windows, model, examples, batch_size):
    """conlleval figures of the words the SavedModel labels on each sentence joined as raw text.

    Entities are compared by type and character span (gold: the tokens' spans), so the figures
    are those of the served entities even where a served word is not a whole token (a token with
    CJK ideographs inside, or any multi-character token under word_split=characters).
    ``accuracy``: per gold token, the tag of the served word at the token's first character.
    """
    words = windows.predict_words(model, examples.sentences, batch_size=batch_size)
    gold_spans = [token_char_spans(s, windows.word_split) for s in examples.sentences]
    result = conll_f1(
        examples.tags, [tags for tags, _ in words], gold_spans, [spans for _, spans in words]
    )
    token_tags = windows.token_tags(examples.sentences, words)
    result["accuracy"] = conll_f1(examples.tags, token_tags)["accuracy"]
    return result


@holds_output_dir
def finetune_token_classifier(
    train_file,
    eval_file,
    init_checkpoint,
    output_dir,
    label_map=None,
    max_seq_length=128,
    dropout=0.1,
    encoding="utf-8",
    window_stride=None,
    word_split="auto",
    token_prefix=None,
    options: TrainingOptions | None = None,
    **overrides,
):
    """Fine-tunes a BertTokenClassifier on CoNLL-2003 style files; returns conlleval metrics.

    Sentences longer than one window are split into windows ``window_stride`` pieces apart
    (default max_seq_length // 2) for training; evaluation runs ``TokenWindows.tag_text`` on
    each sentence joined as raw text, the function the exported SavedModel runs, so the reported
    figures are those of the served model. ``word_split``: "whitespace", "characters" (each
    character a word: character-level Chinese files) or "auto" (characters when nearly all
    training tokens are single characters). ``token_prefix``: stripped from every token
    (WikiANN: "en:"). Both settings go to task.json ("token_classification") for the export.
    """

    options, started, folder, strategy, preprocessor = prepare_run(
        train_file, eval_file, init_checkpoint, max_seq_length, options, overrides
    )
    read = dict(encoding=encoding, token_prefix=token_prefix)
    train = read_token_classification_examples(train_file, label_map=label_map, **read)
    labels = train.label_names
    evaluation = read_token_classification_examples(eval_file, label_map=labels, **read)
    word_split = choose_word_split(train.sentences, word_split)
    if window_stride is None:
        window_stride = default_window_stride(max_seq_length)
    window_stride = int(window_stride)
    windows = TokenWindows(
        preprocessor.tokenizer,
        max_seq_length,
        labels,
        window_stride=window_stride,
        word_split=word_split,
    )  # also checks window_stride before training
    data_files = {"train_file": train_file, "eval_file": eval_file}
    begin_run(
        output_dir,
        strategy,
        options,
        data_files,
        folder,
        labels,
        task="token_classification",
        max_seq_length=max_seq_length,
        dropout=dropout,
        encoding=encoding,
        token_prefix=token_prefix,
        word_split=word_split,
        window_stride=window_stride,
    )

    def train_dataset(epoch):
        return token_classification_dataset(
            train,
            preprocessor,
            options.batch_size,
            shuffle=True,
            seed=options.seed + epoch,
            window_stride=window_stride,
            word_split=word_split,
        )[0]

    steps_per_epoch = int(train_dataset(0).cardinality())
    with strategy.scope():
        model = BertTokenClassifier(
            BertEncoder.from_pretrained(folder), num_classes=len(labels), dropout=dropout
        )
    trainer = make_trainer(
        model,
        token_classification_loss,
        options.epochs * steps_per_epoch,
        strategy,
        output_dir,
        options,
    )

    def evaluate():
        return evaluate_token_windows(windows, model, evaluation, options.batch_size)

    fit_with_options(trainer, train_dataset, steps_per_epoch, options, evaluate, "f1")
    results = evaluate()
    results.update(word_split=word_split, window_stride=window_stride)
    task_info = {
        "task": "token_classification",
        "labels": list(labels),
        "preprocessor": {"sequence_length": max_seq_length, "text_pair": False},
        "token_classification": {"window_stride": window_stride, "word_split": word_split},
    }
    return finish(
        trainer,
        model,
        output_dir,
        results,
        task_info,
        os.path.join(folder, "vocab.txt"),
        preprocessor.tokenizer.lowercase,
        started,
    )


# === Question answering ===


def span_loss(labels, outputs):
    start = sparse_ce(labels["start_logits"], outputs["start_logits"])
    end = sparse_ce(labels["end_logits"], outputs["end_logits"])
    ones = tf.ones_like(start)
    return {
        "start_loss": (0.5 * start, ones),
        "end_loss": (0.5 * end, ones),
    }  # BERT: mean of the two


@holds_output_dir
def finetune_question_answering(
    train_file,
    eval_file,
    init_checkpoint,
    output_dir,
    max_seq_length=384,
    doc_stride=128,
    max_query_length=64,
    max_answer_length=30,
    null_score_diff_threshold=0.0,
    n_best_size=20,
    options: TrainingOptions | None = None,
    **overrides,
):
    """Fine-tunes a BertSpanLabeler on SQuAD v1.1 / v2.0 JSON; returns exact match and F1 (percent).

    Evaluation answers each question with bert_tf.data.span_decoder.SpanDecoder, the in-graph
    windows + decoding the SavedModel serves with (task.json ``squad`` records its settings), so
    the exported model gives the answers evaluated here; they are written to
    ``output_dir/predictions.json`` ({question id: answer}). On Chinese contexts the results add
    CMRC 2018-style ``exact_match_cmrc`` / ``f1_cmrc`` (the SQuAD script's whitespace tokens make
    its F1 meaningless there).
    """

    options, started, folder, strategy, preprocessor = prepare_run(
        train_file, eval_file, init_checkpoint, max_seq_length, options, overrides
    )
    squad_args = dict(max_query_length=max_query_length, doc_stride=doc_stride)
    _, train = squad_dataset(train_file, preprocessor, options.batch_size, **squad_args)
    examples, eval_v2 = read_squad(eval_file)  # evaluation windows are built in-graph (SpanDecoder)
    data_files = {"train_file": train_file, "eval_file": eval_file}
    begin_run(
        output_dir,
        strategy,
        options,
        data_files,
        folder,
        task="question_answering",
        max_seq_length=max_seq_length,
        **squad_args,
    )

    def train_dataset(epoch):
        return squad_dataset(
            train, None, options.batch_size, shuffle=True, seed=options.seed + epoch
        )[0]

    steps_per_epoch = int(train_dataset(0).cardinality())
    with strategy.scope():
        model = BertSpanLabeler(BertEncoder.from_pretrained(folder))
    trainer = make_trainer(
        model, span_loss, options.epochs * steps_per_epoch, strategy, output_dir, options
    )
    version = "2.0" if eval_v2 else "1.1"
    squad_info = {
        "doc_stride": doc_stride,
        "max_query_length": max_query_length,
        "max_answer_length": max_answer_length,
        "n_best_size": n_best_size,
        "null_score_diff_threshold": null_score_diff_threshold,
        "version": version,
    }
    decoder = SpanDecoder(
        preprocessor.tokenizer,
        max_seq_length,
        doc_stride=doc_stride,
        max_query_length=max_query_length,
        max_answer_length=max_answer_length,
        n_best_size=n_best_size,
        null_score_diff_threshold=null_score_diff_threshold,
        version_2_with_negative=version == "2.0",
    )
    gold = {e.qid: [a["text"] for a in e.answers] for e in examples}
    chinese = mostly_chinese(sorted({e.context for e in examples}))
    predicted = {}

    def evaluate():
        out = decoder.predict(
            model,
            [e.question for e in examples],
            [e.context for e in examples],
            batch_size=options.batch_size,
        )
        predicted.clear()
        predicted.update({e.qid: text for e, text in zip(examples, out["answer_text"])})
        result = squad_metrics(gold, predicted, version=version)
        if chinese:
            result.update(cmrc_metrics(gold, predicted))
        result["squad_version"] = version
        return result

    fit_with_options(trainer, train_dataset, steps_per_epoch, options, evaluate, "f1")
    results = evaluate()
    task_info = {
        "task": "question_answering",
        "labels": None,
        "preprocessor": {"sequence_length": max_seq_length, "text_pair": True},
        "squad": squad_info,
    }
    results = finish(
        trainer,
        model,
        output_dir,
        results,
        task_info,
        os.path.join(folder, "vocab.txt"),
        preprocessor.tokenizer.lowercase,
        started,
    )
    if is_chief(strategy):
        write_json_atomic(os.path.join(output_dir, PREDICTIONS_NAME), predicted)
    return results


def finetune(task, **kwargs):
    """Dispatches to finetune_classifier / finetune_token_classifier /
    finetune_question_answering."""
    recipes = {
        "classification": finetune_classifier,
        "token_classification": finetune_token_classifier,
        "question_answering": finetune_question_answering,
    }
    recipes.update(
        {name: functools.partial(finetune_sequence_task, name) for name in SEQUENCE_TASK_NAMES}
    )
    if task not in recipes:
        raise ValueError(f"unknown task {task!r}; choose one of {list(recipes)}")
    return recipes[task](**kwargs)
