"""export: SavedModels stock TF Serving loads, their signatures, TF Serving config, gRPC/REST
clients.

Kept import-light on purpose (no TensorFlow here): ``bert-tf-client`` imports
``export.client`` and must start in well under a second.

- ``export.exporter``: ``export_task_folder`` / ``export_model`` (bert-tf-export):
  classifiers, token classifiers (NER), QA span labelers, sentence embedders.
- ``export.signatures``: the serving tf.Modules (serving_default, serve_token_ids, serve_examples,
  ...).
- ``export.op_check``: ``check_ops`` against the TF Serving op list shipped here.
- ``export.warmup``, ``export.serving_config``: assets.extra warm-up requests, models.config,
  batching file.
- ``export.client``: ``ServingClient`` (gRPC Predict/Classify/GetModelMetadata, REST :predict).
- ``export.test_server``: a PredictionService + REST stand-in for TF Serving (TF1 session loader),
  for tests.
- ``export.serve_local``: ``bert-tf-serve-local`` and ``LocalServer``, that stand-in as a command
  (for development, not production; the demo uses it).
"""
