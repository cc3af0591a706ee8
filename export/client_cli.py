"""bert-tf-client: send texts to a TF Serving model and print what it returns, one JSON line per text.

    bert-tf-client --server=localhost:8500 --model_name=sentiment --text="great film"
    bert-tf-client --server=localhost:8501 --rest --model_name=sentiment --text=a --text=b
    bert-tf-client --server=localhost:8500 --model_name=nli --text=T --text_pair=U
    bert-tf-client --server=localhost:8500 --model_name=sentiment --input_file=texts.txt --batch_size=64
    bert-tf-client --server=localhost:8500 --model_name=sentiment --classify --text=T
    bert-tf-client --server=localhost:8500 --model_name=sentiment --metadata
    bert-tf-client --server=localhost:8500 --model_name=squad --input_names=question,context \
        --required_output=answer_text --text="Who wrote it?" --text_pair="It was written by Ann."

Failures (wrong model name, dead server, malformed reply, bad flags) print one
line ``error: ...`` on stderr and exit 1; never a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_string("server", None, "TF Serving address HOST:PORT (gRPC, or the REST port with --rest).")
flags.DEFINE_string("model_name", None, "Name of the served model.")
flags.DEFINE_multi_string("text", [], "Text to send; repeat the flag for several texts.")
flags.DEFINE_multi_string("text_pair", [], "Second segment for pair models; one per --text.")
flags.DEFINE_string("input_file", None, "UTF-8 file with one text per line (tab separates text and text_pair).")
flags.DEFINE_bool("rest", False, "Use the REST API (POST /v1/models/NAME:predict) instead of gRPC.")
flags.DEFINE_string("signature_name", "serving_default", "Signature Predict calls.")
flags.DEFINE_float("timeout", 10.0, "Deadline of each request in seconds.")
flags.DEFINE_integer("retries", 3, "Extra attempts when the server is UNAVAILABLE.")
flags.DEFINE_integer("batch_size", 32, "Texts per request.")
flags.DEFINE_integer("model_version", None, "A fixed model version; default the latest.")
flags.DEFINE_string("required_output", "probabilities",
                    "Output every reply must have: probabilities (classifiers), embeddings (embedders), "
                    "num_entities (NER).")
flags.DEFINE_list("input_names", ["text", "text_pair"],
                  "Signature input names for --text and --text_pair (QA exports: question,context).")
flags.DEFINE_bool("classify", False, "Use the gRPC Classify API (signature serve_examples).")
flags.DEFINE_bool("metadata", False, "Print the model's signatures (GetModelMetadata) and exit.")


def _light_imports():
    """Imports TF Serving's protos without running TensorFlow's __init__ (seconds, stderr noise).

    ``tensorflow.core.*_pb2`` are plain protobuf modules; only their parent
    package's __init__ loads the TensorFlow runtime. This process never needs
    the runtime, so a bare package object stands in for it.
    """
    if "tensorflow" in sys.modules:
        return
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("tensorflow")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    sys.modules["tensorflow"] = package


def _read_inputs():
    texts, pairs = list(FLAGS.text), list(FLAGS.text_pair)
    if FLAGS.input_file:
        try:
            with open(FLAGS.input_file, encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if "\t" in line:
                        a, b = line.split("\t", 1)
                        texts.append(a)
                        pairs.append(b)
                    else:
                        texts.append(line)
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"cannot read --input_file {FLAGS.input_file}: {e}") from None
    if pairs and len(pairs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(pairs)} text pairs; give one --text_pair per --text")
    return texts, (pairs or None)


def _main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name in ("server", "model_name"):
        if not getattr(FLAGS, name):
            raise ValueError(f"--{name} is required")
    _light_imports()
    from export.client import ServingClient  # lazy: after _light_imports() (no TF runtime)

    client = ServingClient(
        FLAGS.server, FLAGS.model_name, signature_name=FLAGS.signature_name, rest=FLAGS.rest,
        timeout=FLAGS.timeout, retries=FLAGS.retries, batch_size=FLAGS.batch_size,
        model_version=FLAGS.model_version, required_output=FLAGS.required_output,
        input_names=FLAGS.input_names)
    with client:
        if FLAGS.metadata:
            print(json.dumps(client.metadata(), sort_keys=True))
            return
        texts, pairs = _read_inputs()
        if not texts:
            raise ValueError("no input: pass --text (repeatable) or --input_file")
        if FLAGS.classify:
            for i, classes in enumerate(client.classify(texts, pairs)):
                print(json.dumps({"text": texts[i], "classes": [c for c, _ in classes],
                                  "scores": [s for _, s in classes]}, ensure_ascii=False))
            return
        for i, row in enumerate(client.predict(texts, pairs)):
            line = {"text": texts[i]}
            if pairs:
                line["text_pair"] = pairs[i]
            line.update(row)
            print(json.dumps(line, ensure_ascii=False), flush=True)


def main(argv):
    try:
        _main(argv)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # every failure is one line, never a traceback
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


def run():
    """Console-script entry point (setup.cfg: bert-tf-client = export.client_cli:run)."""
    # --help lists this module's flags and doc also under the console-script wrapper.
    # (Not bert_tf.cli.common.run_cli: importing bert_tf loads TensorFlow, which this CLI avoids.)
    for flag in FLAGS.get_flags_for_module(__name__):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    main_module = sys.modules.get("__main__")
    if main_module is not None and not main_module.__doc__:
        main_module.__doc__ = __doc__
    app.run(main)


if __name__ == "__main__":
    run()
