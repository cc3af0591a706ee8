"""Masked-LM (+ next-sentence) pretraining recipe a notebook (or ``bert-tf-pretrain``) calls.

    from bert_tf.training.pretrain import pretrain
    results = pretrain(train_files="book/*.txt", vocab_file="vocab.txt", model="bert_tiny",
                       output_dir="out", train_steps=600, batch_size=32, learning_rate=2e-3)

From a preset or a config JSON (fresh weights), or continuing from ``init_checkpoint``.
Writes ``output_dir/model`` (the encoder folder: config.json, model.weights.h5, vocab.txt),
``output_dir/pretrainer`` (the whole pretrainer with its MLM/NSP heads, a task folder to
continue from) and ``output_dir/eval_results.json``: held-out masked_lm_accuracy,
nsp_accuracy, and the always-predict-the-commonest-(training)-token baseline.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import tensorflow as tf

from bert_tf.checkpoints import save_encoder, save_task_model
from bert_tf.config import BertConfig
from bert_tf.data.pretraining import pretraining_dataset, read_documents, tokenize_documents
from bert_tf.model_dir import read_lowercase, resolve_model_dir
from bert_tf.models import BertEncoder, BertPretrainer, load_pretrainer
from bert_tf.presets import get_preset, preset_names
from bert_tf.text import BertMaskedLMMasker, BertPreprocessor, BertTokenizer
from bert_tf.training.distribution import is_chief
from bert_tf.training.finetune import (
    MODEL_SUBDIR,
    RESULTS_NAME,
    TrainingOptions,
    check_file,
    make_trainer,
    setup_run,
    sparse_ce,
    write_json_atomic,
)
from bert_tf.training.metrics import masked_lm_metrics
from bert_tf.training.run_lock import holds_output_dir
from bert_tf.training.run_state import begin_run, file_sha256

PRETRAINER_SUBDIR = "pretrainer"
# Default peak rate when no options are given: right for bert_tiny from scratch (see
# configs/pretrain_bert_tiny.cfg); use ~1e-4 for BERT-base.
PRETRAIN_LEARNING_RATE = 2e-3
FEATURE_KEYS = ("token_ids", "segment_ids", "padding_mask", "mask_positions")


def pretraining_loss(labels, outputs):
    """MLM: mean cross-entropy over real masked tokens; NSP: mean over the batch (summed, as in BERT)."""
    terms = {"mlm_loss": (sparse_ce(labels["mask_ids"], outputs["mlm_logits"]), labels["mask_weights"])}
    if "nsp_logits" in outputs:
        nsp = sparse_ce(labels["next_sentence_labels"], outputs["nsp_logits"])
        terms["nsp_loss"] = (nsp, tf.ones_like(nsp))
    return terms


def _split_features(batch):
    features = {k: batch[k] for k in FEATURE_KEYS}
    labels = {k: batch[k] for k in ("mask_ids", "mask_weights", "next_sentence_labels") if k in batch}
    return features, labels


def _guess_lowercase(vocabulary) -> bool:
    """An uncased vocab has no upper-case letters outside its [SPECIAL] tokens."""
    return not any(t != t.lower() for t in vocabulary if not (t.startswith("[") and t.endswith("]")))


def _build_config(model, vocab_size, max_seq_length):
    if model in preset_names():
        return get_preset(model, vocab_size=vocab_size, max_position_embeddings=max(512, max_seq_length))
    if not os.path.isfile(model):
        raise ValueError(f"--model={model!r} is neither a preset ({', '.join(preset_names())}) nor a config file")
    config = BertConfig.from_json_file(model)
    if config.vocab_size != vocab_size:
        config = dataclasses.replace(config, vocab_size=vocab_size)
    return config


def _model_identity(model):
    """A preset's name, or a config file's contents (its hash): what --model means for a rerun."""
    return f"config sha256 {file_sha256(model)}" if os.path.isfile(model) else model


@holds_output_dir
def pretrain(train_files, output_dir, vocab_file=None, model="bert_tiny", eval_files=None, init_checkpoint=None,
             max_seq_length=128, train_steps=10000, use_nsp=True, whole_word_masking=False,
             masked_lm_prob=0.15, max_predictions_per_seq=20, lowercase=None, eval_fraction=0.05,
             encoding="utf-8", options: TrainingOptions | None = None, **overrides):
    """Pretrains BERT; returns the held-out metrics dict (see module doc).

    Args:
        train_files, eval_files: text files (glob / comma list); one sentence or paragraph per
            line, blank lines between documents. Without eval_files, the last ``eval_fraction``
            of the training documents is held out.
        vocab_file: WordPiece vocab (bert-tf-vocab); default: init_checkpoint's.
        model: a preset name (see bert_tf.presets) or a config JSON; ignored with init_checkpoint.
        lowercase: lower-case text before WordPiece; default: from init_checkpoint, else guessed
            from the vocab (no upper-case tokens -> uncased).
        options / overrides: TrainingOptions (``epochs`` is unused: ``train_steps`` counts batches).
    """
    options = dataclasses.replace(options or TrainingOptions(learning_rate=PRETRAIN_LEARNING_RATE), **overrides)
    started = time.time()
    if train_steps < 1:
        raise ValueError(f"train_steps must be >= 1, got {train_steps}")
    init_folder = resolve_model_dir(init_checkpoint) if init_checkpoint else None
    if vocab_file is None and init_folder is not None:
        vocab_file = os.path.join(init_folder, "vocab.txt")
    check_file(vocab_file, "vocab_file")
    if lowercase is None and init_folder is not None:
        lowercase = read_lowercase(init_folder)
    tokenizer = BertTokenizer(vocab_file, lowercase=True if lowercase is None else lowercase)
    if lowercase is None:
        lowercase = _guess_lowercase(tokenizer.vocabulary)
        tokenizer = BertTokenizer(vocab_file, lowercase=lowercase)
    if tokenizer.mask_id is None:
        raise ValueError(f"{vocab_file} has no [MASK] token")
    preprocessor = BertPreprocessor(tokenizer, sequence_length=max_seq_length)

    train_documents = read_documents(train_files, encoding)
    if eval_files:
        eval_documents = read_documents(eval_files, encoding)
    else:
        held_out = max(1, int(round(eval_fraction * len(train_documents))))
        if len(train_documents) < 2:
            raise ValueError(f"{train_files}: one document only; pass --eval_files to evaluate")
        train_documents, eval_documents = train_documents[:-held_out], train_documents[-held_out:]

    strategy = setup_run(options)
    begin_run(output_dir, strategy, options,
              {"train_files": train_files, "eval_files": eval_files, "vocab_file": vocab_file},
              init_folder, model=None if init_folder else _model_identity(model),
              max_seq_length=max_seq_length, train_steps=train_steps, use_nsp=use_nsp,
              whole_word_masking=whole_word_masking, masked_lm_prob=masked_lm_prob,
              max_predictions_per_seq=max_predictions_per_seq, lowercase=lowercase,
              eval_fraction=None if eval_files else eval_fraction, encoding=encoding)
    with strategy.scope():
        if init_folder is not None:
            model_obj = load_pretrainer(init_folder, use_nsp=use_nsp)
        else:
            model_obj = BertPretrainer(BertEncoder(_build_config(model, tokenizer.vocab_size, max_seq_length)),
                                       use_nsp=use_nsp)
    config = model_obj.encoder.config
    if config.vocab_size != tokenizer.vocab_size:
        raise ValueError(f"the model's vocab_size={config.vocab_size} differs from {vocab_file} "
                         f"({tokenizer.vocab_size} tokens)")
    if max_seq_length > config.max_position_embeddings:
        raise ValueError(f"max_seq_length={max_seq_length} exceeds the model's max_position_embeddings="
                         f"{config.max_position_embeddings}")

    def masker(seed):
        return BertMaskedLMMasker.from_tokenizer(tokenizer, mask_selection_rate=masked_lm_prob,
                                                 max_predictions_per_seq=max_predictions_per_seq,
                                                 whole_word_masking=whole_word_masking, seed=seed)

    data_args = dict(batch_size=options.batch_size, use_nsp=use_nsp, max_seq_length=max_seq_length, flat=True)
    train_data, info = pretraining_dataset(train_documents, preprocessor, masker(options.seed), repeat=True,
                                           seed=options.seed, **data_args)
    train_data = train_data.map(_split_features)
    eval_data, eval_info = pretraining_dataset(eval_documents, preprocessor, masker(options.seed + 1),
                                               shuffle=False, seed=options.seed + 1, **data_args)
    eval_data = eval_data.map(_split_features)

    trainer = make_trainer(model_obj, pretraining_loss, train_steps, strategy, output_dir, options)
    counts = np.bincount([t for doc in tokenize_documents(train_documents, tokenizer) for s in doc for t in s],
                         minlength=tokenizer.vocab_size)

    def evaluate():
        ids, predicted, weights, nsp_true, nsp_pred = [], [], [], [], []
        for outputs, labels in trainer.predict(eval_data):
            ids.append(labels["mask_ids"].reshape(-1))
            predicted.append(outputs["mlm_logits"].argmax(-1).reshape(-1))
            weights.append(labels["mask_weights"].reshape(-1))
            if use_nsp:
                nsp_true.append(labels["next_sentence_labels"])
                nsp_pred.append(outputs["nsp_logits"].argmax(-1))
        result = masked_lm_metrics(np.concatenate(ids), np.concatenate(predicted), np.concatenate(weights),
                                   train_token_counts=counts)
        result["commonest_token"] = tokenizer.vocabulary[result["commonest_token_id"]]
        if use_nsp:
            result["nsp_accuracy"] = float(np.mean(np.concatenate(nsp_true) == np.concatenate(nsp_pred)))
        result["eval_pairs"] = eval_info.num_pairs
        return result

    trainer.fit(lambda epoch: train_data, epochs=1, steps_per_epoch=train_steps, resume=options.resume)
    results = evaluate()
    results.update(global_step=trainer.step, train_seconds=round(time.time() - started, 1),
                   train_pairs=info.num_pairs, train_loss=trainer.history[-1].get("loss") if trainer.history else None)
    if results["commonest_token_baseline_accuracy"] > 0:
        results["accuracy_over_baseline"] = (results["masked_lm_accuracy"]
                                             / results["commonest_token_baseline_accuracy"])
    if is_chief(strategy):
        save_encoder(model_obj.encoder, os.path.join(output_dir, MODEL_SUBDIR), vocab_file=vocab_file,
                     lowercase=lowercase)
        save_task_model(model_obj, os.path.join(output_dir, PRETRAINER_SUBDIR),
                        {"task": "pretraining", "labels": None,
                         "preprocessor": {"sequence_length": max_seq_length, "text_pair": use_nsp}},
                        vocab_file=vocab_file, lowercase=lowercase)
        write_json_atomic(os.path.join(output_dir, RESULTS_NAME), results)
    return results
