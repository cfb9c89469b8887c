"""Runs, lineage, the model registry and artifact integrity: the only place that imports MLflow.

Modules:

- ``manifest``: SHA-256 manifests of artifact folders (write at log time, verify before load).
- ``artifacts``: the one model-loading chokepoint (skops with a modelyard-held trusted-type list).
- ``mlflow_store``: ``Tracker``, which opens runs of one experiment and reaps runs whose process
  died; ``runs`` holds the ``RunHandle`` it yields and the ``RunRecord`` it returns.
- ``registry``: ``Registry`` for model versions and aliases.
- ``lineage``: git commit, config hash, data digest and package versions as run tags.

Nothing here is imported by ``import modelyard``; MLflow itself is imported on first use.
"""
