"""bert-tf-client: send texts to a TF Serving model and print what it returns, one JSON line per text.

    bert-tf-client --server=localhost:8500 --model_name=sentiment --text="great film"
    bert-tf-client --server=localhost:8501 --rest --model_name=sentiment --text=a --text=b
    bert-tf-client --server=localhost:8500 --model_name=nli --text=T --text_pair=U
    bert-tf-client --server=localhost:8500 --model_name=sentiment --input_file=texts.txt --batch_size=64
    bert-tf-client --server=localhost:8500 --model_name=sentiment --classify --text=T
    bert-tf-client --server=localhost:8500 --model_name=sentiment --model_metadata
    bert-tf-client --server=localhost:8500 --model_name=squad \
        --question="Who wrote it?" --context="It was written by Ann."
    bert-tf-client --server=localhost:8500 --model_name=ner --text="Barack Obama visited Paris"
    bert-tf-client --server=serving.example.com:443 --ssl --ssl_root_certificates=ca.pem \
        --metadata="authorization=Bearer TOKEN" --model_name=sentiment --input_file=big.txt

Output (--format): "auto" prints NER entities, QA answers, multi-label scores and regression
predictions readably, and classifier / embedder rows as JSON lines; "json" prints one JSON
line per text for every model; "text" prints every model readably:

    Barack Obama visited Paris
      PER  "Barack Obama"  [0, 12)  0.98
      LOC  "Paris"  [21, 26)  0.95

Rows are printed as each batch's reply arrives (--input_file is read a batch at a time;
"-" reads stdin). Only UNAVAILABLE and DEADLINE_EXCEEDED are retried (--retries).

Failures (wrong model name, dead server, malformed reply, bad flags) print one
line ``error: ...`` on stderr and exit 1; never a traceback.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import types

from absl import app, flags

FLAGS = flags.FLAGS

flags.DEFINE_string(
    "server", None, "TF Serving address HOST:PORT (gRPC, or the REST port with --rest)."
)
flags.DEFINE_string("model_name", None, "Name of the served model.")
flags.DEFINE_multi_string("text", [], "Text to send; repeat the flag for several texts.")
flags.DEFINE_multi_string("text_pair", [], "Second segment for pair models; one per --text.")
flags.DEFINE_string(
    "input_file", None, "UTF-8 file with one text per line (tab separates text and text_pair)."
)
flags.DEFINE_bool("rest", False, "Use the REST API (POST /v1/models/NAME:predict) instead of gRPC.")
flags.DEFINE_string("signature_name", "serving_default", "Signature Predict calls.")
flags.DEFINE_float("timeout", 10.0, "Deadline of each request in seconds.")
flags.DEFINE_integer("retries", 3, "Extra attempts when the server is UNAVAILABLE.")
flags.DEFINE_integer("batch_size", 32, "Texts per request.")
flags.DEFINE_integer("model_version", None, "A fixed model version; default the latest.")
flags.DEFINE_string(
    "required_output",
    None,
    "Output every reply must have: probabilities (classifiers), scores "
    "(multi-label), "
    "prediction (regression), num_entities (NER), answer_text (QA), embeddings "
    "(embedders); default: whichever of these the reply has.",
)
flags.DEFINE_list(
    "input_names",
    ["text", "text_pair"],
    "Signature input names for --text and --text_pair (QA exports: question,context).",
)
flags.DEFINE_multi_string("question", [], "QA: a question; one --context per --question.")
flags.DEFINE_multi_string("context", [], "QA: the context a --question is answered from.")
flags.DEFINE_bool("classify", False, "Use the gRPC Classify API (signature serve_examples).")
flags.DEFINE_bool(
    "model_metadata", False, "Print the model's signatures (GetModelMetadata) and exit."
)
flags.DEFINE_multi_string(
    "metadata",
    [],
    "Per-call metadata KEY=VALUE (gRPC metadata, HTTP header with "
    "--rest), e.g. "
    "--metadata='authorization=Bearer TOKEN'; repeatable.",
)
flags.DEFINE_bool("ssl", False, "Use TLS (gRPC secure channel, https for --rest).")
flags.DEFINE_string(
    "ssl_root_certificates",
    None,
    "PEM file of the CAs that may sign the server's certificate (default: "
    "the system's). "
    "Implies --ssl.",
)
flags.DEFINE_string(
    "ssl_client_certificate", None, "PEM client certificate chain (with --ssl_client_key)."
)
flags.DEFINE_string("ssl_client_key", None, "PEM private key of --ssl_client_certificate.")
flags.DEFINE_enum(
    "format",
    "auto",
    ["auto", "json", "text"],
    "auto: NER, QA, multi-label and regression readably, others as JSON lines; json: "
    "JSON lines; text: all readably.",
)


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


def _metadata_pairs(items):
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(
                f"--metadata takes KEY=VALUE (per-call metadata, e.g. an auth "
                f"header), got "
                f"{item!r}; the model's signatures are --model_metadata"
            )
        pairs.append((key.strip(), value))
    return pairs


def _file_rows(path):
    """(text, pair or None) per line of a UTF-8 file ("-": stdin), read lazily.

    A tab separates the text and its pair.
    """
    try:
        f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot read --input_file {path}: {e.strerror or e}") from None
    number = 0
    try:
        for number, line in enumerate(f, 1):  # noqa: B007 - read after the loop, in the except clause
            line = line.rstrip("\r\n")
            text, tab, pair = line.partition("\t")
            yield text, (pair if tab else None)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"cannot read --input_file {path}: line {number + 1} is not UTF-8 ({e.reason})"
        ) from None
    finally:
        if f is not sys.stdin:
            f.close()


def _read_inputs():
    """(texts, pairs or None): the flags' texts then the file's, as lazy iterables."""
    texts, pairs = list(FLAGS.text), list(FLAGS.text_pair)
    if FLAGS.question or FLAGS.context:
        if texts or pairs:
            raise ValueError("give either --question/--context or --text/--text_pair, not both")
        texts, pairs = list(FLAGS.question), list(FLAGS.context)
        if len(texts) != len(pairs):
            raise ValueError(
                f"{len(texts)} questions but {len(pairs)} contexts; give one "
                "--context per --question"
            )
    elif pairs and len(pairs) != len(texts):
        raise ValueError(
            f"{len(texts)} texts but {len(pairs)} text pairs; give one --text_pair per --text"
        )
    if not FLAGS.input_file:
        return texts, (pairs or None)
    rows = itertools.chain(zip(texts, pairs or [None] * len(texts)), _file_rows(FLAGS.input_file))
    first = next(rows, None)
    if first is None:
        return [], None
    rows = itertools.chain([first], rows)
    if first[1] is None:

        def only_texts():
            for number, (text, pair) in enumerate(rows, 1):
                if pair is not None:
                    raise ValueError(
                        f"input {number} has a text pair (a tab) but the first has none"
                    )
                yield text

        return only_texts(), None
    # Pairs: one shared reader feeds both iterables (the client takes a batch of texts, then
    # the same number of pairs).
    buffered = []

    def texts_of():
        for number, (text, pair) in enumerate(rows, 1):
            if pair is None:
                raise ValueError(f"input {number} has no text pair (no tab) but the first has one")
            buffered.append(pair)
            yield text

    return texts_of(), _Pairs(buffered)


class _Pairs:
    """The pairs _read_inputs buffered while the client read their texts."""

    def __init__(self, buffered):
        self.buffered = buffered

    def __iter__(self):
        return self

    def __next__(self):
        if not self.buffered:
            raise StopIteration
        return self.buffered.pop(0)


# --- readable output ----------------------------------------------------------------
def _kind(row):
    if "answer_text" in row:
        return "qa"
    if "num_entities" in row or "entity_types" in row:
        return "ner"
    if "scores" in row and isinstance(row["scores"], list):
        return "multi_label"
    if "prediction" in row:
        return "regression"
    if "probabilities" in row:
        return "classification"
    return "other"


def _quote(text):
    return json.dumps(text, ensure_ascii=False)


def format_text(row, text, pair=None):
    """Readable lines for one reply row (NER entities, a QA answer, label scores, a prediction)."""
    kind = _kind(row)
    if kind == "qa":
        lines = [f"Q: {text}"]
        answer = row.get("answer_text", "")
        score = f"  {row['score']:.4g}" if isinstance(row.get("score"), (int, float)) else ""
        if answer == "":
            lines.append(f"A: (no answer){score}")
        else:
            # A SQuAD 2.0 model's null score beat the best span: the span is shown, flagged.
            flag = "  (no_answer)" if row.get("no_answer") in (True, 1) else ""
            span = f"[{row.get('answer_start')}, {row.get('answer_end')})"
            lines.append(f"A: {_quote(answer)}  {span}{score}{flag}")
        return lines
    if kind == "ner":
        n = int(row.get("num_entities", len(row.get("entity_types", []))))
        columns = [
            row.get(k, [])
            for k in (
                "entity_types",
                "entity_texts",
                "entity_starts",
                "entity_ends",
                "entity_scores",
            )
        ]
        entities = list(zip(*columns))[:n]
        width = max([len(str(e[0])) for e in entities] + [1])
        lines = [text]
        lines += [
            f"  {str(kind_):<{width}}  {_quote(span)}  [{start}, {end})  {score:.2f}"
            for kind_, span, start, end, score in entities
        ]
        return lines if entities else lines + ["  (no entities)"]
    if kind == "multi_label":
        scores = row["scores"]
        names = row.get("classes")
        if not isinstance(names, list):
            names = [str(i) for i in range(len(scores))]
        chosen = None
        if isinstance(row.get("labels"), str):
            chosen = set(row["labels"].split("|")) - {""}
        width = max([len(str(n)) for n in names] + [1])
        lines = [text]
        for name, score in zip(names, scores):
            mark = "  *" if (name in chosen if chosen is not None else score >= 0.5) else ""
            lines.append(f"  {str(name):<{width}}  {score:.2f}{mark}")
        return lines
    if kind == "regression":
        return [f"{row['prediction']:.4g}\t{text}"]
    if kind == "classification":
        probabilities = row["probabilities"]
        best = max(range(len(probabilities)), key=probabilities.__getitem__) if probabilities else 0
        label = row.get("labels", best)
        if not probabilities:
            return [f"{label}\t{text}"]
        return [f"{label}\t{probabilities[best]:.2f}\t{text}"]
    return [json.dumps({"text": text, **row}, ensure_ascii=False)]


def _print_row(row, text, pair):
    readable = FLAGS.format == "text" or (
        FLAGS.format == "auto" and _kind(row) in ("qa", "ner", "multi_label", "regression")
    )
    if readable:
        lines = format_text(row, text, pair)
    else:
        if "answer_text" in row and pair is not None:
            line = {"question": text, "context": pair}
        else:
            line = {"text": text}
        if pair is not None and "context" not in line:
            line["text_pair"] = pair
        line.update(row)
        lines = [json.dumps(line, ensure_ascii=False)]
    print("\n".join(lines), flush=True)


def _main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {' '.join(argv[1:])}")
    for name in ("server", "model_name"):
        if not getattr(FLAGS, name):
            raise ValueError(f"--{name} is required")
    _light_imports()
    from export.client import ServingClient  # lazy: after _light_imports() (no TF runtime)

    input_names = FLAGS.input_names
    if (FLAGS.question or FLAGS.context) and FLAGS["input_names"].using_default_value:
        input_names = ["question", "context"]
    client = ServingClient(
        FLAGS.server,
        FLAGS.model_name,
        signature_name=FLAGS.signature_name,
        rest=FLAGS.rest,
        timeout=FLAGS.timeout,
        retries=FLAGS.retries,
        batch_size=FLAGS.batch_size,
        model_version=FLAGS.model_version,
        required_output=FLAGS.required_output,
        input_names=input_names,
        ssl=FLAGS.ssl,
        root_certificates=FLAGS.ssl_root_certificates,
        client_certificate=FLAGS.ssl_client_certificate,
        client_key=FLAGS.ssl_client_key,
        metadata=_metadata_pairs(FLAGS.metadata),
    )
    with client:
        if FLAGS.model_metadata:
            print(json.dumps(client.metadata(), sort_keys=True))
            return
        texts, pairs = _read_inputs()
        if FLAGS.classify:
            texts = list(texts)
            pairs = list(pairs) if pairs is not None else None
            if not texts:
                raise ValueError("no input: pass --text (repeatable) or --input_file")
            for i, classes in enumerate(client.classify(texts, pairs)):
                line = {
                    "text": texts[i],
                    "classes": [c for c, _ in classes],
                    "scores": [s for _, s in classes],
                }
                print(json.dumps(line, ensure_ascii=False), flush=True)
            return
        count = 0
        for text, pair, row in client.predict_iter(texts, pairs):
            _print_row(row, text, pair)
            count += 1
        if count == 0:
            raise ValueError(
                "no input: pass --text (repeatable), --question/--context or --input_file"
            )


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
