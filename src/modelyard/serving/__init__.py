"""The model server: a FastAPI app around one registered model version, swapped without restarts.

``modelyard serve`` resolves a model reference (``NAME@ALIAS`` or ``NAME/VERSION``), downloads
and verifies the version, loads it (ONNX Runtime when the version has a parity-checked
``model.onnx``, else the skops pipeline), warms it, and serves it with uvicorn. Modules:

- ``settings``: ``ServeSettings`` (the reference, registry, store and the config's
  ``serving`` section) and model references, plain values (no FastAPI);
- ``schema``: request and response shapes generated from a version's ``features.json``;
- ``model``: ``ServedModel``, a loaded version that predicts records (ONNX or native runtime);
- ``source``: resolving an alias, downloading into the project store, loading and warming;
- ``app``: ``create_app``, the app factory; ``routes``, its endpoints; ``state``, what it holds;
- ``guard`` (Host allowlist, body cap, request ids, metrics, access log), ``auth``,
  ``admission``, ``problems`` (the error schema), ``metrics``;
- ``watcher``: the background alias watcher behind hot swaps;
- ``prediction_log`` (writing) and ``prediction_history`` (reading) the Parquet logs;
- ``protocol``: uvicorn's HTTP protocol with header, body and idle deadlines, a connection
  cap, and a door that answers 503 itself when too many requests are in the server;
- ``admin`` (the admin listener: health and metrics on ``serving.admin_port``) and ``health``
  (the readiness answers both listeners give);
- ``draining`` (readiness 503 on SIGTERM) and ``server`` (``serve``: uvicorn, one or more
  workers).

Only this package imports FastAPI and Starlette.
"""
