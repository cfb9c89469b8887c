"""Plots are real PNG files; importances are named after the pipeline's output features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelyard.evaluation.plots import feature_importances, write_plots

from .conftest import Predictions

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_pngs(paths: list[Path], names: list[str]) -> None:
    assert [path.name for path in paths] == names
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC), path
        assert len(data) > 5_000, f"{path.name} is only {len(data)} bytes"


def test_binary_plots(tmp_path: Path, binary: Predictions) -> None:
    paths = write_plots(
        "binary_classification",
        tmp_path / "plots",
        binary.y_true,
        y_pred=binary.y_pred,
        y_score=binary.y_score,
        importances={"distance": 0.4, "<script>alert(1)</script>": -0.2, "cost_$": 0.1},
    )

    assert_pngs(paths, ["roc.png", "pr.png", "calibration.png", "confusion.png", "importance.png"])


def test_multiclass_plots(tmp_path: Path, multiclass: Predictions) -> None:
    paths = write_plots(
        "multiclass_classification",
        tmp_path,
        multiclass.y_true,
        y_pred=multiclass.y_pred,
        y_score=multiclass.y_score,
        importances=None,
    )

    assert_pngs(paths, ["roc.png", "pr.png", "calibration.png", "confusion.png"])


def test_regression_plots_with_top_importances(tmp_path: Path, regression: Predictions) -> None:
    importances = {f"feature_{i}": float(i) for i in range(30)}

    paths = write_plots(
        "regression",
        tmp_path,
        regression.y_true,
        y_pred=regression.y_pred,
        y_score=None,
        importances=importances,
    )

    assert_pngs(paths, ["residuals.png", "predicted_vs_actual.png", "importance.png"])


@pytest.mark.parametrize(
    ("y_true", "y_score"),
    [
        pytest.param([0, 1, 0, 1], None, id="no-scores"),
        pytest.param([0, 0, 0, 0], [0.2, 0.6, 0.1, 0.3], id="one-class"),
    ],
)
def test_curves_need_scores_and_both_classes(
    tmp_path: Path, y_true: list[int], y_score: list[float] | None
) -> None:
    paths = write_plots(
        "binary_classification",
        tmp_path,
        y_true,
        y_pred=[0, 1, 0, 0],
        y_score=y_score,
        importances={},
    )

    assert [path.name for path in paths] == ["confusion.png"]


@pytest.fixture
def table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"distance": rng.normal(size=120), "carrier": rng.choice(["AA", "UA"], 120)}
    )


def preprocess() -> object:
    return make_column_transformer((StandardScaler(), ["distance"]), (OneHotEncoder(), ["carrier"]))


def test_tree_importances_use_transformed_names(table: pd.DataFrame) -> None:
    target = 2 * table["distance"] + (table["carrier"] == "AA")
    pipeline = make_pipeline(preprocess(), RandomForestRegressor(n_estimators=5, random_state=0))
    pipeline.fit(table, target)

    found = feature_importances(pipeline, list(table.columns))

    assert list(found) == [
        "standardscaler__distance",
        "onehotencoder__carrier_AA",
        "onehotencoder__carrier_UA",
    ]
    assert sum(found.values()) == pytest.approx(1.0)
    assert max(found, key=found.__getitem__) == "standardscaler__distance"


def test_linear_importances_are_signed_coefficients(table: pd.DataFrame) -> None:
    target = -3 * table["distance"]
    pipeline = make_pipeline(preprocess(), LinearRegression()).fit(table, target)

    found = feature_importances(pipeline, list(table.columns))

    assert found["standardscaler__distance"] < -1.0


def test_multiclass_coefficients_average_their_magnitude(table: pd.DataFrame) -> None:
    target = np.digitize(table["distance"], [-0.5, 0.5])
    pipeline = make_pipeline(preprocess(), LogisticRegression()).fit(table, target)

    found = feature_importances(pipeline, list(table.columns))

    assert len(found) == 3
    assert all(value >= 0 for value in found.values())


def test_bare_estimator_uses_the_given_names(table: pd.DataFrame) -> None:
    model = LinearRegression().fit(table[["distance"]], table["distance"] * 2)

    assert feature_importances(model, ["distance"]) == {"distance": pytest.approx(2.0)}


def test_estimator_without_importances_gives_nothing(table: pd.DataFrame) -> None:
    pipeline = make_pipeline(preprocess(), DummyClassifier()).fit(table, table["carrier"])

    assert feature_importances(pipeline, list(table.columns)) == {}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["distance", "hour"], ["distance", "hour"], id="caller-names"),
        pytest.param(["distance"], ["x0", "x1"], id="count-mismatch-falls-back"),
    ],
)
def test_pipeline_fitted_on_arrays(seed: int, names: list[str], expected: list[str]) -> None:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(50, 2))
    pipeline = make_pipeline(StandardScaler(), LinearRegression()).fit(features, features[:, 0])

    assert list(feature_importances(pipeline, names)) == expected
