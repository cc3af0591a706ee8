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

import keras
import numpy as np
import tensorflow as tf

from bert_tf.checkpoints import save_encoder, save_task_model
from bert_tf.config import BertConfig
from bert_tf.data.pretraining import (
    iter_documents,
    pretraining_dataset,
    read_documents,
    streaming_pretraining_dataset,
    tokenize_documents,
)
from bert_tf.model_dir import read_lowercase, resolve_model_dir
from bert_tf.models import BertEncoder, BertPretrainer, load_pretrainer
from bert_tf.presets import get_preset, preset_names
from bert_tf.text import BertMaskedLMMasker, BertPreprocessor, BertTokenizer
from bert_tf.text.chinese_words import is_chinese_vocabulary, jieba_segmenter
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
    """MLM: mean cross-entropy over real masked tokens; NSP: mean over the batch (summed, as in
    BERT)."""
    terms = {
        "mlm_loss": (sparse_ce(labels["mask_ids"], outputs["mlm_logits"]), labels["mask_weights"])
    }
    if "nsp_logits" in outputs:
        nsp = sparse_ce(labels["next_sentence_labels"], outputs["nsp_logits"])
        terms["nsp_loss"] = (nsp, tf.ones_like(nsp))
    return terms


def _split_features(batch):
    features = {k: batch[k] for k in FEATURE_KEYS}
    labels = {
        k: batch[k] for k in ("mask_ids", "mask_weights", "next_sentence_labels") if k in batch
    }
    return features, labels


def _guess_lowercase(vocabulary) -> bool:
    """An uncased vocab has no upper-case letters outside its [SPECIAL] tokens."""
    return not any(
        t != t.lower() for t in vocabulary if not (t.startswith("[") and t.endswith("]"))
    )


class _EncoderSnapshots(keras.callbacks.Callback):
    """Writes the encoder folder every N training steps (output_dir/model_step{step})."""

    def __init__(self, encoder, output_dir, every, vocab_file, lowercase, prepare=None):
        super().__init__()
        self.encoder, self.output_dir, self.every = encoder, output_dir, every
        self.vocab_file, self.lowercase = vocab_file, lowercase
        self.prepare = prepare or (lambda encoder: encoder)  # what is written (see pretrain)

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        if step % self.every == 0:
            save_encoder(
                self.prepare(self.encoder),
                os.path.join(self.output_dir, f"{MODEL_SUBDIR}_step{step}"),
                vocab_file=self.vocab_file,
                lowercase=self.lowercase,
            )


def _held_out_split(documents, eval_files, eval_fraction, train_files):
    """One pass over the first training documents -> (skip(i) for the training stream, a sample of
    training documents for the baseline, held-out documents or None when eval_files are given).

    Every ``period``-th document is held out; the pass stops once MAX_EVAL_DOCUMENTS are held
    out, so a corpus of any size is never read whole here. A corpus of fewer than ``period``
    documents holds out its last one.
    """
    period = 0 if eval_files else max(2, int(round(1 / eval_fraction)))
    sample, held_out, count = [], [], 0
    for i, doc in enumerate(documents):
        count = i + 1
        if period and i % period == period - 1:
            held_out.append(doc)
            if len(held_out) >= MAX_EVAL_DOCUMENTS:
                break
        elif len(sample) < BASELINE_DOCUMENTS:
            sample.append(doc)
        elif not period:
            break
    if not period:
        return None, sample, None
    if held_out:
        return (lambda i: i % period == period - 1), sample, held_out
    if count < 2:
        raise ValueError(f"{train_files}: one document only; pass --eval_files to evaluate")
    last = count - 1
    return (lambda i: i == last), sample[:last], [sample[last]]


def _build_config(model, vocab_size, max_seq_length):
    if model in preset_names():
        return get_preset(
            model, vocab_size=vocab_size, max_position_embeddings=max(512, max_seq_length)
        )
    if not os.path.isfile(model):
        raise ValueError(
            f"--model={model!r} is neither a preset ({', '.join(preset_names())}) nor a config file"
        )
    config = BertConfig.from_json_file(model)
    if config.vocab_size != vocab_size:
        config = dataclasses.replace(config, vocab_size=vocab_size)
    return config


MAX_EVAL_DOCUMENTS = 1000  # held-out documents taken from the training files (at most)
BASELINE_DOCUMENTS = 2000  # training documents whose tokens give the commonest-token baseline
WORD_SEGMENTERS = ("auto", "jieba", "none")
TIE_MLM_CHOICES = ("auto", "true", "false")
MLM_BIAS_INITS = ("unigram", "zeros")
EMBEDDING_SCALES = ("auto", "initial", "trained")
# Standard deviation of a standard normal truncated at +-2 (keras TruncatedNormal's draws).
TRUNCATED_NORMAL_STD = 0.8796256610342398
UNIGRAM_SMOOTHING = 1.0  # add-one: a token never seen in the sample gets a finite, low prior


def unigram_log_prior(counts, smoothing=UNIGRAM_SMOOTHING):
    """log p(token) from token counts (add-``smoothing``): the MLM output bias from scratch.

    A masked token's distribution, before the model reads any context, is the unigram one. With a
    zero bias the network must first learn it through its hidden states and, tied, through every
    token embedding (250 steps of bert_tiny on Chinese at lr 5e-4 still predicted the commonest
    token for every mask; rare characters' embeddings collapsed to a mean pairwise cosine of
    0.77). With the bias at the log prior the loss starts at the unigram entropy (after 1,000
    steps: masked-LM accuracy 2.8x the commonest-token baseline, that cosine 0.23).
    """
    counts = np.asarray(counts, dtype=np.float64) + smoothing
    return np.log(counts / counts.sum()).astype("float32")


def _resolve_tie(tie_mlm_embeddings, from_scratch):
    """auto: tied from scratch (Google's head), else None (keep the checkpoint's head).

    Measured on Chinese NER (README, "Chinese BERT from scratch"): untying removes the drift of
    rare characters' embeddings but fine-tunes worse at this budget (F1 0.127 vs 0.163 after
    250 steps, 0.103 vs 0.182 after 500), so tied stays the default; false unties on request.
    """
    value = str(tie_mlm_embeddings).lower()
    if value not in TIE_MLM_CHOICES:
        raise ValueError(
            f"tie_mlm_embeddings must be one of {', '.join(TIE_MLM_CHOICES)}, "
            f"got {tie_mlm_embeddings!r}"
        )
    if value == "auto":
        return True if from_scratch else None
    return value == "true"


def _retie(pretrainer, tie):
    """The same pretrainer with its MLM head tied or untied (head weights kept; untying starts
    the output matrix from the embedding table it was tied to)."""
    if tie is None or tie == pretrainer.tie_mlm_embeddings:
        return pretrainer
    if tie:
        raise ValueError(
            "the checkpoint's MLM head is untied; tying it would drop its output "
            "matrix (use tie_mlm_embeddings=auto or false)"
        )
    new = type(pretrainer)(pretrainer.encoder, use_nsp=pretrainer.use_nsp, tie_mlm_embeddings=False)
    old_head, new_head = pretrainer.mlm_head, new.mlm_head
    for old, fresh in (
        (old_head.dense, new_head.dense),
        (old_head.layer_norm, new_head.layer_norm),
    ):
        fresh.set_weights(old.get_weights())
    new_head.output_bias.assign(old_head.output_bias)
    new_head.output_embeddings.assign(old_head.output_table)
    if pretrainer.use_nsp:
        new.nsp_head.set_weights(pretrainer.nsp_head.get_weights())
    return new


def initial_scale_factor(encoder) -> float:
    """c that brings the token-embedding rows' mean norm back to the initializer's
    (``initializer_range * 0.88 * sqrt(H)``, truncated normal)."""
    table = np.asarray(encoder.token_embedding.embeddings.numpy(), dtype=np.float64)
    target = encoder.config.initializer_range * TRUNCATED_NORMAL_STD * np.sqrt(table.shape[1])
    return float(target / np.linalg.norm(table, axis=1).mean())


def rescaled_encoder(encoder, factor: float):
    """A copy of ``encoder`` with its token, position and segment embeddings multiplied by
    ``factor``: the same function, since the embedding LayerNorm divides a common scale of their
    sum out (its epsilon, 1e-12, is far below the sum's variance).

    Why: pretraining from scratch grows the token rows about 3x (tied to the MLM output, every
    row gets the softmax's push each step; measured 0.198 -> 0.566 mean norm in 1,000 steps of
    bert_tiny on Chinese). Adam's fine-tuning steps have a fixed size, so rows 3x larger move 3x
    less relative to their size: on People's Daily NER the same pretrained network fine-tunes to
    entity F1 0.176 as trained and 0.223 rescaled (random initialisation: 0.184).
    """
    copy = type(encoder)(encoder.config)
    copy.set_weights(encoder.get_weights())
    embeddings = copy.embeddings
    for variable in (
        embeddings.word_embeddings.embeddings,
        embeddings.position_embeddings,
        embeddings.token_type_embeddings.embeddings,
    ):
        variable.assign(variable * factor)
    return copy


def _model_identity(model):
    """A preset's name, or a config file's contents (its hash): what --model means for a rerun."""
    return f"config sha256 {file_sha256(model)}" if os.path.isfile(model) else model


@holds_output_dir
def pretrain(
    train_files,
    output_dir,
    vocab_file=None,
    model="bert_tiny",
    eval_files=None,
    init_checkpoint=None,
    max_seq_length=128,
    train_steps=10000,
    use_nsp=True,
    whole_word_masking=False,
    masked_lm_prob=0.15,
    max_predictions_per_seq=20,
    lowercase=None,
    eval_fraction=0.05,
    encoding="utf-8",
    word_segmenter="auto",
    shuffle_buffer=10000,
    save_encoder_every_n_steps=None,
    tie_mlm_embeddings="auto",
    mlm_bias_init="unigram",
    embedding_scale="auto",
    options: TrainingOptions | None = None,
    **overrides,
):
    """Pretrains BERT; returns the held-out metrics dict (see module doc).

    Args:
        train_files, eval_files: text files (glob / comma list); one sentence or paragraph per
            line, blank lines between documents. The training files are streamed (read document
            by document, never whole). Without eval_files, every ``round(1 / eval_fraction)``-th
            training document is held out (the first MAX_EVAL_DOCUMENTS of them are evaluated).
        train_steps: 0 trains nothing and writes the freshly initialised network (the
            random-initialisation baseline of the same config and vocabulary).
        whole_word_masking, word_segmenter: mask whole words; ``auto`` segments the text with
            jieba when the vocabulary is Chinese (so the characters of one word are one unit),
            ``jieba`` always, ``none`` never (words are then WordPiece's ``##`` runs).
        save_encoder_every_n_steps: also write the encoder every N steps to
            ``output_dir/model_step{N}`` (a curve of pretraining steps against a downstream task).
        tie_mlm_embeddings: ``auto`` (default): from scratch the MLM output layer is tied to the
            input embeddings (Google's head); with init_checkpoint the checkpoint's head is kept.
            ``true`` / ``false`` force it (untying a tied checkpoint copies its table).
            The encoder written (``model/``) is the same either way; ``pretrainer/`` records it.
        mlm_bias_init: from scratch, the MLM output bias starts at ``unigram`` (default: the log
            frequency of each token in the first BASELINE_DOCUMENTS training documents, see
            unigram_log_prior) or ``zeros`` (google-research/bert). With init_checkpoint the
            checkpoint's bias is kept either way.
        embedding_scale: how the encoder is written to ``model/`` (and ``model_step{N}``):
            ``initial`` scales its token, position and segment embeddings together so that the
            token rows' mean norm is the initializer's again (the same function: see
            rescaled_encoder); ``trained`` writes them as trained; ``auto`` (default) is
            ``initial`` from scratch and ``trained`` with init_checkpoint. ``pretrainer/`` (the
            state to continue from) is always written as trained.
        vocab_file: WordPiece vocab (bert-tf-vocab); default: init_checkpoint's.
        model: a preset name (see bert_tf.presets) or a config JSON; ignored with init_checkpoint.
        lowercase: lower-case text before WordPiece; default: from init_checkpoint, else guessed
            from the vocab (no upper-case tokens -> uncased).
        options / overrides: TrainingOptions (``epochs`` is unused: ``train_steps`` counts batches).
    """
    options = dataclasses.replace(
        options or TrainingOptions(learning_rate=PRETRAIN_LEARNING_RATE), **overrides
    )
    started = time.time()
    if train_steps < 0:
        raise ValueError(f"train_steps must be >= 0, got {train_steps}")
    if mlm_bias_init not in MLM_BIAS_INITS:
        raise ValueError(
            f"mlm_bias_init must be one of {', '.join(MLM_BIAS_INITS)}, got {mlm_bias_init!r}"
        )
    if embedding_scale not in EMBEDDING_SCALES:
        raise ValueError(
            f"embedding_scale must be one of {', '.join(EMBEDDING_SCALES)}, got {embedding_scale!r}"
        )
    if word_segmenter not in WORD_SEGMENTERS:
        raise ValueError(
            f"word_segmenter must be one of {', '.join(WORD_SEGMENTERS)}, got {word_segmenter!r}"
        )
    init_folder = resolve_model_dir(init_checkpoint) if init_checkpoint else None
    tie = _resolve_tie(tie_mlm_embeddings, from_scratch=init_folder is None)
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

    segmenter = None
    if whole_word_masking and (
        word_segmenter == "jieba"
        or (word_segmenter == "auto" and is_chinese_vocabulary(tokenizer.vocabulary))
    ):
        segmenter = jieba_segmenter()
    skip, train_sample, eval_documents = _held_out_split(
        iter_documents(train_files, encoding), eval_files, eval_fraction, train_files
    )
    if eval_files:
        eval_documents = read_documents(eval_files, encoding)

    strategy = setup_run(options)
    begin_run(
        output_dir,
        strategy,
        options,
        {"train_files": train_files, "eval_files": eval_files, "vocab_file": vocab_file},
        init_folder,
        model=None if init_folder else _model_identity(model),
        max_seq_length=max_seq_length,
        train_steps=train_steps,
        use_nsp=use_nsp,
        whole_word_masking=whole_word_masking,
        masked_lm_prob=masked_lm_prob,
        max_predictions_per_seq=max_predictions_per_seq,
        lowercase=lowercase,
        eval_fraction=None if eval_files else eval_fraction,
        encoding=encoding,
        word_segmenter=word_segmenter if whole_word_masking else None,
        tie_mlm_embeddings=str(tie_mlm_embeddings).lower(),
        mlm_bias_init=None if init_folder else mlm_bias_init,
    )
    with strategy.scope():
        if init_folder is not None:
            model_obj = _retie(load_pretrainer(init_folder, use_nsp=use_nsp), tie)
        else:
            model_obj = BertPretrainer(
                BertEncoder(_build_config(model, tokenizer.vocab_size, max_seq_length)),
                use_nsp=use_nsp,
                tie_mlm_embeddings=tie,
            )
    config = model_obj.encoder.config
    if config.vocab_size != tokenizer.vocab_size:
        raise ValueError(
            f"the model's vocab_size={config.vocab_size} differs from {vocab_file} "
            f"({tokenizer.vocab_size} tokens)"
        )
    if max_seq_length > config.max_position_embeddings:
        raise ValueError(
            f"max_seq_length={max_seq_length} exceeds the model's max_position_embeddings="
            f"{config.max_position_embeddings}"
        )

    def masker(seed):
        return BertMaskedLMMasker.from_tokenizer(
            tokenizer,
            mask_selection_rate=masked_lm_prob,
            max_predictions_per_seq=max_predictions_per_seq,
            whole_word_masking=whole_word_masking,
            seed=seed,
        )

    data_args = dict(
        batch_size=options.batch_size, use_nsp=use_nsp, max_seq_length=max_seq_length, flat=True
    )
    train_data = streaming_pretraining_dataset(
        train_files,
        preprocessor,
        masker(options.seed),
        repeat=True,
        seed=options.seed,
        skip=skip,
        shuffle_buffer=shuffle_buffer,
        encoding=encoding,
        segmenter=segmenter,
        **data_args,
    )
    train_data = train_data.map(_split_features)
    eval_data, eval_info = pretraining_dataset(
        eval_documents,
        preprocessor,
        masker(options.seed + 1),
        shuffle=False,
        seed=options.seed + 1,
        segmenter=segmenter,
        **data_args,
    )
    eval_data = eval_data.map(_split_features)

    counts = np.bincount(
        [t for doc in tokenize_documents(train_sample, tokenizer) for s in doc for t in s],
        minlength=tokenizer.vocab_size,
    )
    if init_folder is None and mlm_bias_init == "unigram":
        model_obj.mlm_head.output_bias.assign(unigram_log_prior(counts))
    trainer = make_trainer(
        model_obj, pretraining_loss, max(train_steps, 1), strategy, output_dir, options
    )

    def evaluate():
        ids, predicted, weights, nsp_true, nsp_pred = [], [], [], [], []
        for outputs, labels in trainer.predict(eval_data):
            ids.append(labels["mask_ids"].reshape(-1))
            predicted.append(outputs["mlm_logits"].argmax(-1).reshape(-1))
            weights.append(labels["mask_weights"].reshape(-1))
            if use_nsp:
                nsp_true.append(labels["next_sentence_labels"])
                nsp_pred.append(outputs["nsp_logits"].argmax(-1))
        result = masked_lm_metrics(
            np.concatenate(ids),
            np.concatenate(predicted),
            np.concatenate(weights),
            train_token_counts=counts,
        )
        result["commonest_token"] = tokenizer.vocabulary[result["commonest_token_id"]]
        if use_nsp:
            result["nsp_accuracy"] = float(
                np.mean(np.concatenate(nsp_true) == np.concatenate(nsp_pred))
            )
        result["eval_pairs"] = eval_info.num_pairs
        return result

    rescale = embedding_scale == "initial" or (embedding_scale == "auto" and init_folder is None)

    def written(encoder):
        """The encoder as model/ gets it (see embedding_scale)."""
        return rescaled_encoder(encoder, initial_scale_factor(encoder)) if rescale else encoder

    callbacks = []
    if save_encoder_every_n_steps and is_chief(strategy):
        callbacks.append(
            _EncoderSnapshots(
                model_obj.encoder,
                output_dir,
                int(save_encoder_every_n_steps),
                vocab_file,
                lowercase,
                prepare=written,
            )
        )
    if train_steps > 0:
        trainer.fit(
            lambda epoch: train_data,
            epochs=1,
            steps_per_epoch=train_steps,
            resume=options.resume,
            callbacks=callbacks,
        )
    results = evaluate()
    results.update(
        global_step=trainer.step,
        train_seconds=round(time.time() - started, 1),
        whole_word_segmenter="jieba" if segmenter is not None else None,
        tie_mlm_embeddings=model_obj.tie_mlm_embeddings,
        mlm_bias_init=None if init_folder else mlm_bias_init,
        embedding_rescale_factor=initial_scale_factor(model_obj.encoder) if rescale else None,
        train_loss=trainer.history[-1].get("loss") if trainer.history else None,
    )
    if results["commonest_token_baseline_accuracy"] > 0:
        results["accuracy_over_baseline"] = (
            results["masked_lm_accuracy"] / results["commonest_token_baseline_accuracy"]
        )
    if is_chief(strategy):
        save_encoder(
            written(model_obj.encoder),
            os.path.join(output_dir, MODEL_SUBDIR),
            vocab_file=vocab_file,
            lowercase=lowercase,
        )
        save_task_model(
            model_obj,
            os.path.join(output_dir, PRETRAINER_SUBDIR),
            {
                "task": "pretraining",
                "labels": None,
                "preprocessor": {"sequence_length": max_seq_length, "text_pair": use_nsp},
            },
            vocab_file=vocab_file,
            lowercase=lowercase,
        )
        write_json_atomic(os.path.join(output_dir, RESULTS_NAME), results)
    return results
