"""Catalog names and dotted paths build seeded estimators; mistakes get messages with fixes."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from modelyard.errors import ModelError, UnknownModelError
from modelyard.models.catalog import CATALOG, TASKS, make_estimator

FITTABLE = ["logistic", "linear", "random_forest", "hist_gradient_boosting", "lightgbm"]
SMALL = {
    "random_forest": {"n_estimators": 20},
    "hist_gradient_boosting": {"max_iter": 20},
    "lightgbm": {"n_estimators": 20, "n_jobs": 1},
}


def xy(seed: int, task: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 4))
    score = x[:, 0] - x[:, 1] + rng.normal(0, 0.5, 400)
    if task == "regression":
        return x, score
    edges = [0.0] if task == "binary_classification" else [-0.7, 0.7]
    return x, np.digitize(score, edges)


def test_catalog_lists_the_names() -> None:
    assert sorted(CATALOG) == [
        "hist_gradient_boosting", "lightgbm", "linear", "logistic", "random_forest", "xgboost"
    ]  # fmt: skip


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", FITTABLE)
def test_each_catalog_model_fits_each_task(name: str, task: str, seed: int) -> None:
    estimator = make_estimator(name, task=task, params=SMALL.get(name, {}), seed=seed)
    x, y = xy(seed, task)

    predictions = estimator.fit(x, y).predict(x)

    assert predictions.shape == (len(x),)
    if task != "regression":
        assert estimator.predict_proba(x).shape == (len(x), len(np.unique(y)))


@pytest.mark.parametrize(
    ("name", "task", "expected"),
    [
        pytest.param("logistic", "binary_classification", "LogisticRegression", id="logistic"),
        pytest.param("linear", "multiclass_classification", "LogisticRegression", id="linear-clf"),
        pytest.param("linear", "regression", "Ridge", id="linear-reg"),
        pytest.param("logistic", "regression", "Ridge", id="logistic-reg"),
        pytest.param("lightgbm", "regression", "LGBMRegressor", id="lightgbm-reg"),
    ],
)
def test_names_pick_the_estimator_for_the_task(name: str, task: str, expected: str) -> None:
    assert type(make_estimator(name, task=task, params={}, seed=0)).__name__ == expected


def test_seed_becomes_random_state_unless_params_set_it(seed: int) -> None:
    seeded = make_estimator("random_forest", task="regression", params={}, seed=seed)
    pinned = make_estimator(
        "random_forest", task="regression", params={"random_state": 1}, seed=seed
    )

    assert seeded.random_state == seed
    assert pinned.random_state == 1


def test_lightgbm_is_quiet_and_takes_native_parameters() -> None:
    model = make_estimator(
        "lightgbm", task="binary_classification", params={"feature_fraction": 0.5}, seed=0
    )

    assert model.get_params()["verbose"] == -1
    assert model.get_params()["feature_fraction"] == 0.5


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(
        UnknownModelError, match=r"Unknown model type 'lightgmb'\. Did you mean 'lightgbm'\?"
    ):
        make_estimator("lightgmb", task="regression", params={}, seed=0)


def test_unknown_task_is_refused() -> None:
    with pytest.raises(ModelError, match=r"Unknown task 'regresion'\. Did you mean 'regression'\?"):
        make_estimator("logistic", task="regresion", params={}, seed=0)


def test_dotted_path_builds_any_estimator(seed: int) -> None:
    model = make_estimator(
        "sklearn.ensemble.ExtraTreesClassifier",
        task="binary_classification",
        params={"n_estimators": 5},
        seed=seed,
    )

    assert type(model).__name__ == "ExtraTreesClassifier"
    assert (model.n_estimators, model.random_state) == (5, seed)


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        pytest.param(
            "sklearn.ensemble.ExtraTreeClassifier",
            r"has no attribute 'ExtraTreeClassifier'\. Did you mean 'ExtraTreesClassifier'\?",
            id="typo-in-class",
        ),
        pytest.param(
            "no_such_package.Model",
            r"Cannot import 'no_such_package' for model 'no_such_package\.Model'",
            id="missing-module",
        ),
        pytest.param(
            "sklearn.preprocessing.StandardScaler",
            r"'sklearn\.preprocessing\.StandardScaler' is not a scikit-learn-compatible estimator",
            id="not-a-model",
        ),
    ],
)
def test_bad_dotted_paths_say_what_is_wrong(path: str, pattern: str) -> None:
    with pytest.raises(ModelError, match=pattern):
        make_estimator(path, task="regression", params={}, seed=0)


@pytest.mark.parametrize(
    ("name", "params", "pattern"),
    [
        pytest.param(
            "lightgbm",
            {"num_leavs": 8},
            r"Model 'lightgbm' \(LGBMClassifier\) has no parameter 'num_leavs'\. "
            r"Did you mean 'num_leaves'\?",
            id="lightgbm-typo",
        ),
        pytest.param(
            "random_forest",
            {"n_estimator": 8},
            r"has no parameter 'n_estimator'\. Did you mean 'n_estimators'\? Its parameters: ",
            id="forest-typo",
        ),
        pytest.param(
            "logistic",
            {"C": -1.0},
            r"Cannot build 'logistic' with parameters \{'C': -1\.0\}: The 'C' parameter",
            id="bad-value",
        ),
    ],
)
def test_bad_params_name_the_param_and_the_model(
    name: str, params: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(ModelError, match=pattern):
        make_estimator(name, task="binary_classification", params=params, seed=0)


@pytest.mark.skipif(importlib.util.find_spec("xgboost") is not None, reason="xgboost installed")
def test_xgboost_without_its_extra_names_the_install_command() -> None:
    with pytest.raises(ModelError, match=r"pip install 'modelyard\[xgboost\]'"):
        make_estimator("xgboost", task="regression", params={}, seed=0)
