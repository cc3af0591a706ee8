"""Knowledge distillation: a fine-tuned classifier (teacher) trains a smaller one (student).

    from bert_tf.training.distill import distill_classifier
    results = distill_classifier(teacher_dir="OUT/model", student="teacher_layers:2",
                                 train_file="train.csv", eval_file="dev.csv", output_dir="OUT2",
                                 unlabeled_file="more_text.csv", temperature=2.0, alpha=0.5)

Loss per batch (Hinton et al. 2015; hidden-state transfer as in TinyBERT):

    alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))   every row
    + (1 - alpha) * CE(label, student)                                labelled rows only
    + hidden_weight * MSE(W h_student, h_teacher)                     optional, real tokens only

Unlabelled rows (``unlabeled_file``) get only the soft terms. The teacher's
logits are computed once before training (they do not change); the hidden-state
term runs the teacher every step. Students:

- ``teacher_layers:N``: the teacher's embeddings, its first N transformer layers,
  its pooler and classification head, copied exactly. Starting from the teacher's
  own weights is what lets a small student keep the accuracy on little data.
- a preset name (``bert_tiny``, ``bert_mini``, ``bert_L4_H256``, ...): fresh weights
  with the teacher's vocabulary and position table.
- a folder: a pretrained encoder (same vocabulary as the teacher) with a fresh head.

Writes ``output_dir/model`` (a classification task folder, the same saver
bert-tf-finetune uses, so bert-tf-export takes it) and ``output_dir/eval_results.json``
(the student's metrics plus ``teacher_accuracy`` on the same eval file).
"""

from __future__ import annotations

import dataclasses
import os
import re
import time

import keras
import numpy as np
import tensorflow as tf

from bert_tf.data.classification import read_classification_examples
from bert_tf.models import BertClassifier, BertEncoder, load_task_model
from bert_tf.presets import get_preset
from bert_tf.text import BertPreprocessor
from bert_tf.training.finetune import (
    TrainingOptions,
    check_file,
    finish,
    fit_with_options,
    make_trainer,
    setup_run,
)
from bert_tf.training.metrics import classification_metrics

DEFAULT_TEMPERATURE = 2.0
# Distillation's default peak learning rate: above fine-tuning's 5e-5, as the student is
# shallower and its targets are soft.
DISTILL_LEARNING_RATE = 1e-4
DEFAULT_ALPHA = 0.5  # weight of the soft-target term; 1 - alpha goes to the hard labels
TEACHER_LAYERS = re.compile(r"teacher_layers:(\d+)$")
PREDICT_BATCH = 64


# === Students ===


def copy_teacher_layers(teacher, num_layers):
    """A BertClassifier: the teacher's embeddings, first N layers, pooler and head, copied.

    Every copied weight equals the teacher's exactly (same shapes, values assigned).
    """
    config = teacher.encoder.config
    if not 1 <= num_layers <= config.num_hidden_layers:
        raise ValueError(
            f"teacher_layers:{num_layers}: the teacher has {config.num_hidden_layers} layers; "
            f"choose 1..{config.num_hidden_layers}"
        )
    encoder = BertEncoder(dataclasses.replace(config, num_hidden_layers=num_layers))
    student = BertClassifier(encoder, num_classes=teacher.num_classes, dropout=teacher.dropout)
    pairs = [
        (encoder.embeddings, teacher.encoder.embeddings),
        (encoder.pooler, teacher.encoder.pooler),
        (student.classifier, teacher.classifier),
    ]
    pairs += list(zip(encoder.transformer_layers, teacher.encoder.transformer_layers[:num_layers]))
    for target, source in pairs:
        target.set_weights(source.get_weights())
    return student


def build_student(student, teacher, sequence_length):
    """The student BertClassifier for a ``--student`` value (see the module docstring)."""
    match = TEACHER_LAYERS.match(student or "")
    num_classes, dropout = teacher.num_classes, teacher.dropout
    teacher_config = teacher.encoder.config
    if match:
        return copy_teacher_layers(teacher, int(match.group(1)))
    if student and os.path.isdir(student):
        encoder = BertEncoder.from_pretrained(student)
        if encoder.config.vocab_size != teacher_config.vocab_size:
            raise ValueError(
                f"student {student} has a vocabulary of {encoder.config.vocab_size} tokens, the "
                f"teacher {teacher_config.vocab_size}; a student must share the teacher's "
                "vocabulary"
            )
    else:
        config = get_preset(
            student,
            vocab_size=teacher_config.vocab_size,
            type_vocab_size=teacher_config.type_vocab_size,
            max_position_embeddings=teacher_config.max_position_embeddings,
        )
        encoder = BertEncoder(config)
    if sequence_length > encoder.config.max_position_embeddings:
        raise ValueError(
            f"max_seq_length={sequence_length} exceeds the student's max_position_embeddings="
            f"{encoder.config.max_position_embeddings}"
        )
    return BertClassifier(encoder, num_classes=num_classes, dropout=dropout)


def layer_map(student_layers, teacher_layers):
    """Teacher layer of each student layer: evenly spaced, last to last (TinyBERT's uniform map)."""
    return [(i + 1) * teacher_layers // student_layers - 1 for i in range(student_layers)]


def hidden_states(encoder, features, training):
    """The L blocks' outputs [B, T, H] of a BertEncoder, run layer by layer."""
    mask = tf.cast(features["padding_mask"], tf.int32)
    x = encoder.embeddings(features["token_ids"], features["segment_ids"], training=training)
    states = []
    for block in encoder.transformer_layers:
        x = block(x, mask, training=training)
        states.append(tf.cast(x, tf.float32))
    return states


class _StudentWithHidden(keras.Model):
    """Training wrapper: the student's logits and its projected hidden states (the MSE term)."""

    def __init__(self, student, teacher_hidden_size, name="student_with_hidden", **kwargs):
        super().__init__(name=name, **kwargs)
        self.student = student
        self.projection = keras.layers.Dense(teacher_hidden_size, name="hidden_projection")
        self.dropout_layer = student.get_layer("classifier_dropout")

    def call(self, features, training=False):
        states = hidden_states(self.student.encoder, features, training)
        pooled = self.student.encoder.pooler(states[-1][:, 0, :])  # [B, H]
        logits = self.student.classifier(self.dropout_layer(pooled, training=training))  # [B, C]
        return {"logits": logits, "hidden": [self.projection(s) for s in states]}


# === Losses ===


def soft_target_loss(teacher_logits, student_logits, temperature):
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)) per row [B].

    T^2 keeps the gradient scale comparable to the hard-label term's whatever T.
    """
    t = tf.cast(temperature, tf.float32)
    target = tf.nn.softmax(tf.cast(teacher_logits, tf.float32) / t, axis=-1)  # [B, C]
    log_student = tf.nn.log_softmax(tf.cast(student_logits, tf.float32) / t, axis=-1)
    log_target = tf.math.log(tf.maximum(target, 1e-12))
    return t * t * tf.reduce_sum(target * (log_target - log_student), axis=-1)


def make_distillation_loss(temperature, alpha, hidden_weight=0.0, teacher=None, mapping=None):
    """``loss_fn(labels, outputs)`` for bert_tf.training.Trainer (see its loss convention)."""

    def loss_fn(labels, outputs):
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs
        losses = {}
        if alpha > 0:
            soft = soft_target_loss(labels["teacher_logits"], logits, temperature)
            losses["soft_loss"] = (alpha * soft, tf.ones_like(soft))
        if alpha < 1:
            hard = keras.losses.sparse_categorical_crossentropy(
                labels["label"], logits, from_logits=True
            )
            losses["hard_loss"] = (
                (1.0 - alpha) * hard,
                labels["labeled"],
            )  # unlabelled rows weigh 0
        if hidden_weight > 0:
            teacher_states = hidden_states(teacher.encoder, labels["features"], training=False)
            mask = tf.cast(labels["features"]["padding_mask"], tf.float32)  # [B, T]
            for i, j in enumerate(mapping):
                error = tf.reduce_mean(
                    tf.square(outputs["hidden"][i] - tf.stop_gradient(teacher_states[j])), axis=-1
                )  # [B, T]
                losses[f"hidden_loss_{i}"] = (hidden_weight * error, mask)
        return losses

    return loss_fn


# === Data ===


def predict_logits(model, features_dataset):
    """Logits [N, C] of a classifier over a dataset of feature dicts, in order."""
    predict = tf.function(lambda f: model(f, training=False), reduce_retracing=True)
    return np.concatenate([np.asarray(predict(f), np.float32) for f in features_dataset])


def _text_dataset(texts, preprocessor, batch_size=PREDICT_BATCH):
    return (
        tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string))
        .batch(batch_size)
        .map(preprocessor)
    )


def distillation_dataset(
    texts,
    labels,
    labeled,
    teacher_logits,
    preprocessor,
    batch_size,
    seed,
    with_features_in_labels=False,
):
    """Shuffled batches of (features, {"label", "labeled", "teacher_logits"[, "features"]})."""
    ds = tf.data.Dataset.from_tensor_slices(
        {
            "text": tf.constant(texts, tf.string),
            "label": tf.constant(labels, tf.int32),
            "labeled": tf.constant(labeled, tf.float32),
            "teacher_logits": tf.constant(teacher_logits, tf.float32),
        }
    )
    ds = ds.shuffle(len(texts), seed=seed).batch(batch_size)

    def split(batch):
        features = preprocessor(batch["text"])
        targets = {k: batch[k] for k in ("label", "labeled", "teacher_logits")}
        if with_features_in_labels:
            targets["features"] = features
        return features, targets

    return ds.map(split, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# === The recipe ===


def distill_classifier(
    teacher_dir,
    student,
    train_file,
    eval_file,
    output_dir,
    unlabeled_file=None,
    temperature=DEFAULT_TEMPERATURE,
    alpha=DEFAULT_ALPHA,
    hidden_weight=0.0,
    text_column=None,
    label_column=None,
    unlabeled_text_column=None,
    max_seq_length=None,
    encoding="utf-8",
    options: TrainingOptions | None = None,
    **overrides,
):
    """Distils the classifier in ``teacher_dir`` into ``student``; returns the student's metrics.

    Columns default to the ones the teacher was trained with (task.json
    ``text_columns``), max_seq_length to its training length.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if hidden_weight < 0:
        raise ValueError(f"hidden_weight must be >= 0, got {hidden_weight}")
    options = dataclasses.replace(
        options or TrainingOptions(learning_rate=DISTILL_LEARNING_RATE), **overrides
    )
    started = time.time()
    check_file(train_file, "train_file")
    check_file(eval_file, "eval_file")
    if unlabeled_file:
        check_file(unlabeled_file, "unlabeled_file")
    if not os.path.isdir(teacher_dir):
        raise FileNotFoundError(f"teacher_dir not found: {teacher_dir}")
    teacher, teacher_info = load_task_model(teacher_dir)
    if teacher_info.get("task") != "classification":
        raise ValueError(
            f"{teacher_dir} is a {teacher_info.get('task')!r} model; distillation takes a "
            "classifier"
        )
    columns = teacher_info.get("text_columns") or {}
    if columns.get("text_pair"):
        raise ValueError("distillation of text-pair classifiers is not supported yet")
    text_column = text_column or columns.get("text") or "text"
    label_column = label_column or columns.get("label") or "label"
    labels = list(teacher_info["labels"])
    max_seq_length = int(max_seq_length or teacher_info["preprocessor"]["sequence_length"])
    strategy = setup_run(options)
    preprocessor = BertPreprocessor.from_pretrained(teacher_dir, sequence_length=max_seq_length)

    read = dict(text_column=text_column, encoding=encoding)
    train = read_classification_examples(
        train_file, label_column=label_column, label_map=labels, **read
    )
    evaluation = read_classification_examples(
        eval_file, label_column=label_column, label_map=labels, **read
    )
    texts, hard, labeled = list(train.texts), list(train.labels), [1.0] * len(train)
    if unlabeled_file:
        extra = read_classification_examples(
            unlabeled_file,
            unlabeled_text_column or text_column,
            label_column=None,
            encoding=encoding,
        )
        texts += list(extra.texts)
        hard += [0] * len(extra)
        labeled += [0.0] * len(extra)

    teacher_logits = predict_logits(teacher, _text_dataset(texts, preprocessor))  # [N, C], once
    with strategy.scope():
        student_model = build_student(student, teacher, max_seq_length)
        mapping = layer_map(
            student_model.encoder.config.num_hidden_layers, teacher.encoder.config.num_hidden_layers
        )
        trained = (
            _StudentWithHidden(student_model, teacher.encoder.config.hidden_size)
            if hidden_weight > 0
            else student_model
        )
        if hidden_weight > 0:
            trained(next(iter(_text_dataset(texts[:2], preprocessor))))  # builds the projection

    def train_dataset(epoch):
        return distillation_dataset(
            texts,
            hard,
            labeled,
            teacher_logits,
            preprocessor,
            options.batch_size,
            seed=options.seed + epoch,
            with_features_in_labels=hidden_weight > 0,
        )

    steps_per_epoch = -(-len(texts) // options.batch_size)
    loss_fn = make_distillation_loss(
        temperature, alpha, hidden_weight, teacher=teacher, mapping=mapping
    )
    trainer = make_trainer(
        trained, loss_fn, options.epochs * steps_per_epoch, strategy, output_dir, options
    )
    eval_features = _text_dataset(list(evaluation.texts), preprocessor)
    y_true = np.asarray(evaluation.labels)

    last = {}  # the student's eval predictions from the latest evaluate(), for the agreement

    def evaluate():
        logits = predict_logits(student_model, eval_features)
        last["predicted"] = logits.argmax(-1)
        result = classification_metrics(y_true, logits.argmax(-1), num_classes=len(labels))
        result["eval_loss"] = float(
            np.mean(
                keras.ops.convert_to_numpy(
                    keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
                )
            )
        )
        return result

    fit_with_options(trainer, train_dataset, steps_per_epoch, options, evaluate, "accuracy")
    results = evaluate()
    teacher_pred = predict_logits(teacher, eval_features).argmax(-1)
    results["teacher_accuracy"] = float(np.mean(teacher_pred == y_true))
    results["student_teacher_agreement"] = float(np.mean(last["predicted"] == teacher_pred))
    results["num_train_labeled"] = len(train)
    results["num_train_unlabeled"] = len(texts) - len(train)
    task_info = {
        "task": "classification",
        "labels": labels,
        "preprocessor": {"sequence_length": max_seq_length, "text_pair": False},
        "text_columns": {"text": text_column, "text_pair": None, "label": label_column},
        "data": {
            "train_file": os.path.abspath(train_file),
            "eval_file": os.path.abspath(eval_file),
        },
        "distillation": {
            "teacher_dir": os.path.abspath(teacher_dir),
            "student": student,
            "temperature": temperature,
            "alpha": alpha,
            "hidden_weight": hidden_weight,
            "unlabeled_file": os.path.abspath(unlabeled_file) if unlabeled_file else None,
        },
    }
    return finish(
        trainer,
        student_model,
        output_dir,
        results,
        task_info,
        os.path.join(teacher_dir, "vocab.txt"),
        preprocessor.tokenizer.lowercase,
        started,
    )
