"""Build an unfitted estimator from a catalog name, or any estimator class by dotted path.

Catalog names pick the classifier or the regressor that fits the task::

    make_estimator("lightgbm", task="binary_classification", params={"num_leaves": 15}, seed=7)
    make_estimator("sklearn.ensemble.ExtraTreesRegressor", task="regression", params={}, seed=7)

``seed`` becomes ``random_state`` wherever the estimator has one, unless ``params`` sets it.
Parameters are checked against the estimator's own (``get_params``) before it is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from modelyard.errors import ModelError, UnknownModelError, did_you_mean

TASKS: Final = ("binary_classification", "multiclass_classification", "regression")
"""The tasks ``make_estimator`` builds estimators for."""

CATALOG: Final[Mapping[str, str]] = {
    "hist_gradient_boosting": "scikit-learn histogram gradient boosting",
    "lightgbm": "LightGBM gradient boosting",
    "linear": "LogisticRegression for classification, Ridge for regression",
    "logistic": "LogisticRegression for classification, Ridge for regression",
    "random_forest": "scikit-learn random forest",
    "xgboost": "XGBoost gradient boosting (needs the xgboost extra)",
}
"""Catalog model names, each with a one-line description."""


@dataclass(frozen=True, slots=True)
class _Entry:
    classifier: str
    regressor: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    extra: str | None = None


_LINEAR = _Entry(
    "sklearn.linear_model.LogisticRegression",
    "sklearn.linear_model.Ridge",
    defaults={"max_iter": 1000},  # lbfgs's 100 iterations often stop short on one-hot features
)
_ENTRIES: Final[Mapping[str, _Entry]] = {
    "hist_gradient_boosting": _Entry(
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "sklearn.ensemble.HistGradientBoostingRegressor",
    ),
    "lightgbm": _Entry(
        "lightgbm.LGBMClassifier", "lightgbm.LGBMRegressor", defaults={"verbose": -1}
    ),
    "linear": _LINEAR,
    "logistic": _LINEAR,
    "random_forest": _Entry(
        "sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForestRegressor"
    ),
    "xgboost": _Entry(
        "xgboost.XGBClassifier", "xgboost.XGBRegressor", defaults={"verbosity": 0}, extra="xgboost"
    ),
}


def make_estimator(name: str, *, task: str, params: Mapping[str, Any], seed: int) -> Any:
    """Build the unfitted estimator ``name`` for ``task``.

    Args:
        name: A catalog name (see ``CATALOG``) or a dotted path ``package.module.Class``.
        task: One of ``TASKS``.
        params: Constructor parameters; they override the catalog's defaults and ``seed``.
        seed: The ``random_state`` of estimators that have one.

    Returns:
        The estimator, not yet fitted.

    Raises:
        UnknownModelError: ``name`` is neither in the catalog nor a dotted path.
        ModelError: The task is unknown, a dotted path does not import or is not an estimator,
            the model's extra is not installed, or a parameter is not one the estimator takes.
    """
    if task not in TASKS:
        raise ModelError(
            f"Unknown task {task!r}.{did_you_mean(task, TASKS)} Use one of: {', '.join(TASKS)}."
        )
    if "." in name:
        return _build(_import_estimator(name), params, defaults={}, seed=seed, label=name)
    entry = _ENTRIES.get(name)
    if entry is None:
        raise UnknownModelError(name, known=CATALOG)
    path = entry.regressor if task == "regression" else entry.classifier
    cls = _import_estimator(path, label=name, extra=entry.extra)
    return _build(cls, params, defaults=entry.defaults, seed=seed, label=name)


def _import_estimator(path: str, *, label: str | None = None, extra: str | None = None) -> type:
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if extra is not None:
            raise ModelError(
                f"Model {label or path!r} needs the optional package {module_name!r}, which is not "
                f"installed. Install it with: pip install 'modelyard[{extra}]'"
            ) from exc
        raise ModelError(
            f"Cannot import {module_name!r} for model {path!r}: {exc}. Check the dotted path, "
            "or install the package that provides the class."
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        known = [n for n in dir(module) if not n.startswith("_")]
        raise ModelError(
            f"Module {module_name!r} has no attribute {class_name!r}."
            f"{did_you_mean(class_name, known)} Check the class name in {path!r}."
        )
    if not isinstance(cls, type) or not all(
        callable(getattr(cls, method, None)) for method in ("fit", "predict", "get_params")
    ):
        raise ModelError(
            f"{path!r} is not a scikit-learn-compatible estimator class: it needs fit, "
            "predict and get_params methods. Name an estimator class, "
            "e.g. sklearn.ensemble.ExtraTreesClassifier."
        )
    return cls


def _build(
    cls: type,
    params: Mapping[str, Any],
    *,
    defaults: Mapping[str, Any],
    seed: int,
    label: str,
) -> Any:
    try:
        accepted = set(cls().get_params(deep=False))
    except TypeError as exc:
        raise ModelError(
            f"Cannot build {label!r} ({cls.__module__}.{cls.__qualname__}) without "
            f"arguments: {exc}. modelyard needs estimators whose parameters all have defaults."
        ) from exc
    native = _native_params(cls)
    for key in params:
        if key not in accepted and key not in native:
            also = " (or any LightGBM parameter)" if native else ""
            raise ModelError(
                f"Model {label!r} ({cls.__qualname__}) has no parameter {key!r}."
                f"{did_you_mean(key, accepted | native)} Its parameters: "
                f"{', '.join(sorted(accepted))}{also}."
            )
    chosen = dict(defaults)
    if "random_state" in accepted:
        chosen["random_state"] = seed
    chosen.update(params)
    try:
        estimator = cls(**chosen)
        # scikit-learn checks values only in fit; its checker runs them now (where it exists)
        if hasattr(estimator, "_parameter_constraints"):
            estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"Cannot build {label!r} with parameters {dict(params)!r}: {exc} Fix the "
            "parameter values in the model section of the config."
        ) from exc
    return estimator


def _native_params(cls: type) -> set[str]:
    """Return the booster parameters (and aliases) LightGBM accepts besides ``get_params``."""
    if not cls.__module__.startswith("lightgbm"):
        return set()
    try:
        from lightgbm.basic import _ConfigAliases

        aliases = _ConfigAliases._get_all_param_aliases()
    except Exception:  # a private LightGBM API; without it only get_params names are checked
        return set()
    return {name for names in aliases.values() for name in names}
