"""bert-tf-serve-local: answer TF Serving's gRPC and REST APIs for an export, on this machine.

FOR DEVELOPMENT, NOT PRODUCTION. It loads each version the way
tensorflow_model_server does (the TF1 session loader, ``serve`` tag, warm-up
requests replayed) and answers PredictionService Predict / Classify /
GetModelMetadata over gRPC and ``POST /v1/models/NAME[/versions/N]:predict``,
``GET .../metadata`` over REST, so bert-tf-client, the demo and the tests can
run without TF Serving installed. It has no batching, no model reloading, no
TLS or authentication and one Python process; serve real traffic with
tensorflow_model_server (export/README.md).

    bert-tf-export --model_dir=OUT/model --export_dir=serving --model_name=sentiment
    bert-tf-serve-local --export_dir=serving --model_name=sentiment --port=8500 --rest_port=8501
    bert-tf-client --server=localhost:8500 --model_name=sentiment --text="great film"

In Python (ports 0 pick free ones):

    with LocalServer("serving", "sentiment") as server:
        print(server.grpc_address, server.rest_address)
"""

from __future__ import annotations

from absl import flags

import bert_tf._quiet  # noqa: F401 - first: hides TensorFlow's start-up notices
from bert_tf.cli.common import main_wrapper, run_cli
from export.test_server import ModelRegistry, serve_grpc, serve_rest

DEFAULT_HOST = "127.0.0.1"  # loopback: a development server is not exposed unless asked
DEFAULT_GRPC_PORT = 8500  # TF Serving's defaults
DEFAULT_REST_PORT = 8501


class LocalServer:
    """Every version of EXPORT_DIR/MODEL_NAME served over gRPC and REST (development only).

    Args:
        export_dir: the base folder bert-tf-export wrote (holds MODEL_NAME/VERSION/).
        model_name: the model's name in requests.
        host: address to bind (default loopback).
        port, rest_port: gRPC and REST ports; 0 picks a free one (see ``grpc_port``, ``rest_port``).

    Use as a context manager, or call ``close()``.
    """

    def __init__(self, export_dir, model_name, host=DEFAULT_HOST, port=0, rest_port=0):
        self.model_name = model_name
        self.host = host
        self.registry = ModelRegistry()
        self._grpc_server = self._rest_server = None
        try:
            self.registry.add_base(export_dir, model_name)
            if not self.registry.models.get(model_name):
                raise ValueError(f"no version folder (1, 2, ...) in {export_dir}/{model_name}")
            self._grpc_server, self.grpc_port = serve_grpc(self.registry, port, host=host)
            self._rest_server, self.rest_port = serve_rest(self.registry, rest_port, host=host)
        except BaseException:
            self.close()
            raise

    @property
    def versions(self):
        return sorted(self.registry.models.get(self.model_name, {}))

    @property
    def grpc_address(self):
        return f"{self.host}:{self.grpc_port}"

    @property
    def rest_address(self):
        return f"{self.host}:{self.rest_port}"

    def wait(self):
        """Blocks until the gRPC server ends (Ctrl-C)."""
        self._grpc_server.wait_for_termination()

    def close(self):
        if self._grpc_server is not None:
            self._grpc_server.stop(None)
            self._grpc_server = None
        if self._rest_server is not None:
            self._rest_server.shutdown()
            self._rest_server = None
        self.registry.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


FLAGS = flags.FLAGS


def define_flags():
    """The CLI's flags, defined by run() only: importing LocalServer defines no flags (other CLIs
    in the same process, e.g. bert-tf-export, have --export_dir and --model_name too)."""
    flags.DEFINE_string("export_dir", None, "Export base folder (holds MODEL_NAME/VERSION/).")
    flags.DEFINE_string("model_name", None, "Model name under --export_dir, as clients request it.")
    flags.DEFINE_string("host", DEFAULT_HOST, "Address to bind (default loopback only).")
    flags.DEFINE_integer("port", DEFAULT_GRPC_PORT, "gRPC port (0: a free one).", lower_bound=0)
    flags.DEFINE_integer(
        "rest_port", DEFAULT_REST_PORT, "REST port (0: a free one).", lower_bound=0
    )
    flags.mark_flags_as_required(["export_dir", "model_name"])


@main_wrapper
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected positional arguments: {' '.join(argv[1:])}")
    with LocalServer(
        FLAGS.export_dir,
        FLAGS.model_name,
        host=FLAGS.host,
        port=FLAGS.port,
        rest_port=FLAGS.rest_port,
    ) as server:
        print(
            f"serving {FLAGS.model_name} versions {server.versions} "
            "for development (not production): "
            f"gRPC {server.grpc_address}, REST http://{server.rest_address}; Ctrl-C stops",
            flush=True,
        )
        try:
            server.wait()
        except KeyboardInterrupt:  # the normal way to stop it
            print("stopped")
    return 0


def run():
    """Console-script entry point (setup.cfg: bert-tf-serve-local = export.serve_local:run)."""
    define_flags()
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
