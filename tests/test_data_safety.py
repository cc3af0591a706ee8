"""Issue 15, data safety: nothing the user has is lost or silently replaced, and errors say why."""

import json
import os
import subprocess
import sys
import threading
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf.cli.common import main_wrapper

# === CLI errors say the cause (not "Graph execution error:") ===


def _graph_error():
    table = tf.Variable(tf.zeros([64, 4]))

    @tf.function
    def lookup(ids):
        return tf.gather(table, ids)

    try:
        lookup(tf.constant([[1, 70]]))
    except tf.errors.OpError as e:
        return e
    raise AssertionError("expected an out-of-range gather error")


def test_cli_prints_the_cause_of_a_tensorflow_error(capsys):
    error = _graph_error()

    @main_wrapper
    def main(argv):
        raise error

    with pytest.raises(SystemExit) as exit_info:
        main(["prog"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert "70 is not in [0, 64)" in err, err


def test_library_errors_keep_their_cause(tmp_path):
    from bert_tf.config import BertConfig

    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError) as e:
        BertConfig.from_json_file(str(bad))
    assert isinstance(e.value.__cause__, json.JSONDecodeError)


def test_no_exception_is_cut_short_in_the_library():
    """`raise ... from None` hides the original error; only the CLI shortens (to one line)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    offenders = []
    for package in ("bert_tf", "export"):
        for folder, _, files in os.walk(os.path.join(root, package)):
            for name in files:
                # export/client*.py: the gRPC client's errors are another change (issue 15)
                if name.endswith(".py") and not name.startswith("client"):
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as f:
                        offenders += [
                            f"{path}:{i}" for i, line in enumerate(f, 1) if "from None" in line
                        ]
    assert not offenders, offenders


# === Saving never deletes a folder this package did not write ===


def _project_folder(root):
    project = root / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('mine')\n")
    (project / "NOTES.md").write_text("my notes\n")
    (project / "config.json").write_text('{"my": "settings"}\n')
    return project


def _listing(folder):
    return sorted(
        os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs
    )


def test_save_refuses_a_project_folder_holding_config_json(tmp_path, tiny_config):
    from bert_tf.checkpoints import CheckpointError, save_encoder
    from bert_tf.models import BertEncoder

    project = _project_folder(tmp_path)
    before = _listing(project)
    with pytest.raises(CheckpointError, match="not written by bert_tf") as e:
        save_encoder(BertEncoder(tiny_config), str(project))
    assert "\n" not in str(e.value)
    assert _listing(project) == before
    assert (project / "NOTES.md").read_text() == "my notes\n"
    assert sorted(os.listdir(tmp_path)) == ["project"]  # no partial folder left behind


ST = "sentence_transformers.models."


def _sentence_transformers_folder(root, tiny_config):
    from tests.checkpoint_fixtures import hf_state_dict, write_hf_folder

    folder = write_hf_folder(str(root / "st"), tiny_config, hf_state_dict(tiny_config))
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump(
            [
                {"idx": 0, "name": "0", "path": "", "type": ST + "Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": ST + "Pooling"},
            ],
            f,
        )
    os.makedirs(os.path.join(folder, "1_Pooling"))
    with open(os.path.join(folder, "1_Pooling", "config.json"), "w") as f:
        json.dump(
            {"word_embedding_dimension": tiny_config.hidden_size, "pooling_mode_mean_tokens": True},
            f,
        )
    return folder


def test_convert_refuses_to_replace_a_sentence_transformers_folder(tmp_path, tiny_config):
    from bert_tf.checkpoints import CheckpointError
    from bert_tf.models import convert

    source = _sentence_transformers_folder(tmp_path / "a", tiny_config)
    target = _sentence_transformers_folder(tmp_path / "b", tiny_config)
    before = _listing(target)
    for fmt in ("bert_tf", "huggingface"):
        with pytest.raises(CheckpointError, match="not written by bert_tf"):
            convert(source, target, format=fmt)
        assert _listing(target) == before


def test_resaving_over_our_own_folder_works_but_not_over_a_user_file_in_it(
    tmp_path, tiny_config, tiny_inputs
):
    from bert_tf.checkpoints import CheckpointError, save_encoder
    from bert_tf.models import BertEncoder

    path = tmp_path / "ours"
    save_encoder(BertEncoder(tiny_config), str(path))
    assert ".bert_tf_manifest.json" in os.listdir(path)
    second = BertEncoder(tiny_config)
    save_encoder(second, str(path))  # our own folder: replaced
    np.testing.assert_array_equal(
        second(tiny_inputs)["pooled_output"],
        BertEncoder.from_pretrained(str(path))(tiny_inputs)["pooled_output"],
    )
    (path / "my_notes.txt").write_text("mine")  # a file the user put there: refuse, keep it
    with pytest.raises(CheckpointError, match="my_notes.txt"):
        save_encoder(BertEncoder(tiny_config), str(path))
    assert (path / "my_notes.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["ours"]


# === Training runs: fingerprinted, locked, early stopping checkpointed ===

FAST = dict(batch_size=8, learning_rate=3e-3, verbose=0, seed=1, max_seq_length=16)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    from tests.training_helpers import write_tiny_model_folder

    return write_tiny_model_folder(str(tmp_path_factory.mktemp("tiny") / "model"))


def test_rerun_on_changed_data_is_refused_and_noresume_sets_the_old_run_aside(
    tiny_folder, tmp_path
):
    from bert_tf.training.finetune import finetune_classifier
    from tests.training_helpers import write_sentiment_csv

    train, evaluation = str(tmp_path / "train.csv"), str(tmp_path / "eval.csv")
    write_sentiment_csv(evaluation, 24, seed=1)
    write_sentiment_csv(train, 64, seed=0, labels=("positive", "negative"))  # run A: labels swapped
    out = str(tmp_path / "out")
    first = finetune_classifier(train, evaluation, tiny_folder, out, epochs=3, **FAST)
    assert first["accuracy"] < 0.5, first  # it learned the swapped labels
    write_sentiment_csv(train, 64, seed=0)  # the data is fixed; the same command again
    with pytest.raises(ValueError, match="train_file .*train.csv has other contents") as e:
        finetune_classifier(train, evaluation, tiny_folder, out, epochs=3, **FAST)
    assert "\n" not in str(e.value)
    write_sentiment_csv(train, 64, seed=0, labels=("positive", "negative"))  # the old data back
    with pytest.raises(ValueError, match=r"learning_rate 0.003 -> 0.001"):
        finetune_classifier(
            train, evaluation, tiny_folder, out, epochs=3, **{**FAST, "learning_rate": 1e-3}
        )
    write_sentiment_csv(train, 64, seed=0)
    second = finetune_classifier(
        train, evaluation, tiny_folder, out, epochs=5, resume=False, **FAST
    )
    assert second["global_step"] == first["global_step"] * 5 // 3  # from scratch, not from run A
    assert second["accuracy"] >= 0.75, second  # the new data, not the old run's weights
    (old,) = [d for d in os.listdir(out) if d.startswith("old-")]
    with open(os.path.join(out, old, "eval_results.json")) as f:
        assert json.load(f)["accuracy"] == first["accuracy"]  # the old run is kept, not deleted
    assert os.path.exists(os.path.join(out, old, "checkpoints"))
    assert os.path.exists(os.path.join(out, old, "model", "model.weights.h5"))
    # The same command once more resumes the finished run: nothing changes.
    again = finetune_classifier(train, evaluation, tiny_folder, out, epochs=5, **FAST)
    assert again["accuracy"] == second["accuracy"] and again["global_step"] == second["global_step"]


def _trainer(model_dir, seed=1, **kwargs):
    from bert_tf.training import Trainer, create_optimizer
    from tests.training_helpers import classification_loss, tiny_classifier

    model = tiny_classifier(seed=seed)
    return Trainer(
        model,
        create_optimizer(2e-3, 12, warmup_ratio=0.2),
        classification_loss,
        model_dir=model_dir,
        verbose=0,
        **kwargs,
    )


def test_a_fresh_run_overwrites_an_old_checkpoint_of_the_same_step(tmp_path):
    from tests.training_helpers import dataset_fn

    _trainer(str(tmp_path), seed=1).fit(dataset_fn(), epochs=1)
    fresh = _trainer(str(tmp_path), seed=2)
    fresh.fit(dataset_fn(), epochs=1, resume=False)  # its first checkpoint: the old one's step, 3
    restored = _trainer(str(tmp_path), seed=3)
    assert restored.restore() and restored.step == 3
    for a, b in zip(fresh.model.get_weights(), restored.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _scored_eval(model, scores, snapshots):
    scores = iter(scores)

    def eval_fn():
        snapshots.append(model.get_weights())
        return {"accuracy": next(scores)}

    return eval_fn


def test_a_finished_early_stopped_run_keeps_its_best_weights_and_does_not_train_on(tmp_path):
    from tests.training_helpers import dataset_fn

    trainer, snapshots = _trainer(str(tmp_path)), []
    stop = dict(early_stopping_patience=2, early_stopping_metric="accuracy")
    scores = [0.5, 0.9, 0.6, 0.7]
    eval_fn = _scored_eval(trainer.model, scores, snapshots)
    trainer.fit(dataset_fn(), epochs=6, eval_fn=eval_fn, **stop)
    assert len(trainer.history) == 4  # best at epoch 2, two worse epochs, stop
    rerun = _trainer(str(tmp_path), seed=99)
    rerun.fit(dataset_fn(), epochs=6, eval_fn=_scored_eval(rerun.model, [1.0, 1.0], []), **stop)
    assert rerun.history == [] and rerun.step == 12  # nothing trained on
    for a, b in zip(rerun.model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_a_killed_early_stopping_run_resumes_its_best_and_patience(tmp_path):
    from tests.training_helpers import dataset_fn

    trainer, snapshots = _trainer(str(tmp_path)), []
    stop = dict(early_stopping_patience=2, early_stopping_metric="accuracy")

    class Kill(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if trainer.step == 10:  # in epoch 4; the last checkpoint is epoch 3's (step 9)
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trainer.fit(
            dataset_fn(),
            epochs=6,
            callbacks=[Kill()],
            eval_fn=_scored_eval(trainer.model, [0.5, 0.9, 0.6], snapshots),
            **stop,
        )
    resumed = _trainer(str(tmp_path), seed=99)
    scores = [0.7, 0.8, 0.95]
    resumed.fit(dataset_fn(), epochs=6, eval_fn=_scored_eval(resumed.model, scores, []), **stop)
    assert [h["epoch"] for h in resumed.history] == [4]  # patience 2 was used up at epoch 4
    for a, b in zip(resumed.model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_a_second_run_in_a_locked_output_dir_fails_at_once(tiny_folder, tmp_path):
    from bert_tf.training.finetune import finetune_classifier
    from bert_tf.training.run_lock import RunLock
    from tests.training_helpers import write_sentiment_csv

    train = write_sentiment_csv(str(tmp_path / "train.csv"), 16)
    out = str(tmp_path / "out")
    with RunLock(out):
        started = time.time()
        with pytest.raises(RuntimeError, match=f"in use by another run \\(pid {os.getpid()}"):
            finetune_classifier(train, train, tiny_folder, out, epochs=1, **FAST)
        assert time.time() - started < 5
        assert sorted(os.listdir(out)) == ["run.lock"]
    assert not os.path.exists(out)  # released; the folder it created, left empty, removed


def test_a_lock_held_by_another_process_then_left_stale(tmp_path):
    from bert_tf.training.run_lock import LOCK_NAME, RunLock

    out = tmp_path / "out"
    module = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "bert_tf",
        "training",
        "run_lock.py",
    )
    script = (
        "import importlib.util, time\n"  # run_lock.py alone: no TensorFlow to import
        f"spec = importlib.util.spec_from_file_location('run_lock', {module!r})\n"
        "run_lock = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(run_lock)\n"
        f"run_lock.RunLock({str(out)!r}).acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RuntimeError, match=f"pid {holder.pid}"):
            RunLock(out).acquire()
    finally:
        holder.kill()  # dies holding the lock: a stale lock
        holder.wait()
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == holder.pid
    with pytest.warns(UserWarning, match=f"dead run \\(pid {holder.pid}\\)"):
        with RunLock(out):
            assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_remote_or_bad_output_dir_fails_before_training(tiny_folder, tmp_path, monkeypatch):
    from bert_tf.training.finetune import finetune_classifier
    from tests.training_helpers import write_sentiment_csv

    train = write_sentiment_csv(str(tmp_path / "train.csv"), 16)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="remote"):
        finetune_classifier(train, train, tiny_folder, "gs://bucket/run", epochs=1, **FAST)
    assert not os.path.exists(tmp_path / "gs:")
    a_file = tmp_path / "taken"
    a_file.write_text("mine")
    with pytest.raises(ValueError, match="is a file"):
        finetune_classifier(train, train, tiny_folder, str(a_file), epochs=1, **FAST)
    with pytest.raises(ValueError, match="cannot create output_dir"):
        finetune_classifier(train, train, tiny_folder, str(a_file / "sub"), epochs=1, **FAST)
    assert a_file.read_text() == "mine"


# === Exports: models.config under a lock; a version is published only with its entry ===


def test_concurrent_exports_keep_every_models_config_entry(tmp_path, monkeypatch):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    from export import serving_config

    write = serving_config._atomic_write

    def slow_write(path, text):  # widen the read-modify-write window, as a busy disk would
        time.sleep(0.2)
        write(path, text)

    monkeypatch.setattr(serving_config, "_atomic_write", slow_write)
    names = [f"model{i}" for i in range(6)]
    write_config = serving_config.write_models_config
    threads = [threading.Thread(target=write_config, args=(str(tmp_path), name)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse((tmp_path / "models.config").read_text(), config)
    assert sorted(c.name for c in config.model_config_list.config) == names


def test_a_failed_models_config_update_publishes_no_version(tmp_path, monkeypatch):
    from export import serving_config
    from export.exporter import export_task_folder
    from tests.test_export import make_task_folder

    model_dir = make_task_folder(str(tmp_path / "model"))
    base = tmp_path / "serving"
    export_task_folder(model_dir, str(base), "first")
    config_before = (base / "models.config").read_text()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serving_config, "_atomic_write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export_task_folder(model_dir, str(base), "second")
    assert os.listdir(base / "second") == []  # no version 1 without its models.config entry
    assert (base / "models.config").read_text() == config_before


# === A vocabulary that does not fit the checkpoint's embedding table is caught at load time ===


def _write_tokens(path, count):
    from tests.checkpoint_fixtures import write_vocab

    write_vocab(str(path), count)


def test_a_vocab_larger_than_the_embedding_table_is_an_error_at_load(tmp_path, tiny_config):
    from bert_tf.checkpoints import CheckpointError, save_task_model
    from bert_tf.models import BertClassifier, BertEncoder, BertTextEmbedder, load_task_model
    from tests.checkpoint_fixtures import hf_state_dict, write_hf_folder

    hf = write_hf_folder(str(tmp_path / "hf"), tiny_config, hf_state_dict(tiny_config))
    _write_tokens(os.path.join(hf, "vocab.txt"), tiny_config.vocab_size + 6)
    with pytest.raises(CheckpointError, match="70 tokens .* 64 rows") as e:
        BertEncoder.from_pretrained(hf)
    assert "\n" not in str(e.value)
    with pytest.raises(CheckpointError, match="70 tokens"):
        BertTextEmbedder.from_pretrained(hf)
    task = str(tmp_path / "task")
    classifier = BertClassifier(BertEncoder(tiny_config), num_classes=2)
    save_task_model(classifier, task, {"task": "classification"})
    _write_tokens(os.path.join(task, "vocab.txt"), tiny_config.vocab_size + 1)
    with pytest.raises(CheckpointError, match="65 tokens"):
        load_task_model(task)


def test_a_vocab_smaller_than_the_embedding_table_warns_at_load(tmp_path, tiny_config):
    from bert_tf.models import BertEncoder
    from tests.checkpoint_fixtures import hf_state_dict, write_hf_folder

    hf = write_hf_folder(str(tmp_path / "hf"), tiny_config, hf_state_dict(tiny_config))
    _write_tokens(os.path.join(hf, "vocab.txt"), tiny_config.vocab_size - 4)
    with pytest.warns(UserWarning, match="60 tokens .* 64 rows"):
        BertEncoder.from_pretrained(hf)


# === A sentence-transformers module the embedder cannot apply is refused, not skipped ===


def test_a_sentence_transformers_dense_module_is_refused(tmp_path, tiny_config):
    from bert_tf.models import BertTextEmbedder

    folder = _sentence_transformers_folder(tmp_path, tiny_config)
    assert BertTextEmbedder.from_pretrained(folder).pooling == "mean"  # Transformer + Pooling: fine
    with open(os.path.join(folder, "modules.json")) as f:
        modules = json.load(f)
    modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": ST + "Dense"})
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump(modules, f)
    os.makedirs(os.path.join(folder, "2_Dense"))
    with open(os.path.join(folder, "2_Dense", "config.json"), "w") as f:
        json.dump(
            {
                "in_features": tiny_config.hidden_size,
                "out_features": 16,
                "bias": True,
                "activation_function": "torch.nn.modules.activation.Tanh",
            },
            f,
        )
    refused = r"'2_Dense' \(sentence_transformers.models.Dense\) is not supported"
    with pytest.raises(ValueError, match=refused) as e:
        BertTextEmbedder.from_pretrained(folder)
    assert "\n" not in str(e.value)
