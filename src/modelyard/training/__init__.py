"""Training: cross-validation folds, scorers, search spaces and the hyper-parameter search.

Modules:

- ``scoring``: the metric table (name, direction, scorer) the search and CV use.
- ``validation``: holdout, k-fold and time-series folds, and ``cross_validate``.
- ``space``: a search space parsed from config data, and ``suggest`` for an Optuna trial.
- ``search``: a seeded, pruned Optuna search that reports each trial as a ``TrialRecord``.

Every function takes plain arguments and a ``make_model`` factory (params -> an unfitted
scikit-learn-compatible estimator), never the project config object.
"""
