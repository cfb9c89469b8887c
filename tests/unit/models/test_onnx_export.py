"""Whole pipelines export to ONNX and agree with scikit-learn; what cannot export says why."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import onnx.helper
import pytest
from sklearn.pipeline import Pipeline

from modelyard.errors import ModelError, ModelExportError
from modelyard.features.pipeline import make_pipeline
from modelyard.features.spec import FeatureSpec
from modelyard.models.catalog import make_estimator
from modelyard.models.onnx import check_parity, export_onnx, try_export

if TYPE_CHECKING:
    from conftest import Data

TOLERANCE = 1e-5
PARAMS = {"lightgbm": {"n_jobs": 1}}  # LightGBM sets its own thread count; see one_thread


def fitted(name: str, task: str, data: Data, spec: FeatureSpec, seed: int) -> Pipeline:
    estimator = make_estimator(name, task=task, params=PARAMS.get(name, {}), seed=seed)
    return make_pipeline(spec, estimator).fit(data.train, data.targets[task])


@pytest.mark.parametrize("task", ["binary_classification", "multiclass_classification"])
@pytest.mark.parametrize("name", ["lightgbm", "hist_gradient_boosting", "logistic"])
def test_classifier_probabilities_match_sklearn(
    name: str, task: str, data: Data, spec: FeatureSpec, seed: int
) -> None:
    pipeline = fitted(name, task, data, spec, seed)

    result = try_export(pipeline, data.score, task, tolerance=TOLERANCE)

    assert result.reason is None
    assert result.model is not None
    assert result.parity is not None
    assert result.parity <= TOLERANCE


@pytest.mark.parametrize("name", ["lightgbm", "linear"])
def test_regression_exports(name: str, data: Data, spec: FeatureSpec, seed: int) -> None:
    pipeline = fitted(name, "regression", data, spec, seed)

    result = try_export(pipeline, data.score, "regression")

    assert result.reason is None
    assert result.model is not None
    assert check_parity(result.model, pipeline, data.score, "regression") == result.parity


def test_estimator_without_converter_gives_a_reason(
    data: Data, spec: FeatureSpec, seed: int
) -> None:
    pipeline = fitted("sklearn.dummy.DummyClassifier", "binary_classification", data, spec, seed)

    result = try_export(pipeline, data.score, "binary_classification")

    assert (result.model, result.parity) == (None, None)
    assert result.reason is not None
    assert result.reason.startswith("skl2onnx has no converter for 'sklearn.dummy.DummyClassifier'")


def test_lost_parity_gives_a_reason(data: Data, spec: FeatureSpec, seed: int) -> None:
    pipeline = fitted("logistic", "binary_classification", data, spec, seed)

    result = try_export(pipeline, data.score, "binary_classification", tolerance=0.0)

    assert result.model is None
    assert result.reason is not None
    assert result.reason.startswith("parity ")
    assert result.reason.endswith(" exceeds 0e+00")


def test_export_leaves_onnx_unpatched(data: Data, spec: FeatureSpec, seed: int) -> None:
    original = onnx.helper.make_attribute
    pipeline = fitted("hist_gradient_boosting", "binary_classification", data, spec, seed)

    export_onnx(pipeline, data.score)

    assert onnx.helper.make_attribute is original


def test_export_needs_a_pipeline(data: Data, seed: int) -> None:
    estimator = make_estimator("logistic", task="binary_classification", params={}, seed=seed)

    with pytest.raises(ModelExportError, match=r"needs a Pipeline of preprocessing steps"):
        export_onnx(estimator, data.score)


def test_serving_import_stays_lean() -> None:
    probe = (
        "import json, sys\nfrom modelyard.models.onnx import OnnxPredictor\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    modules = set(json.loads(out))

    assert sorted(m for m in ("pandas", "sklearn", "skl2onnx", "onnxmltools") if m in modules) == []


def test_parity_is_measured_on_a_seeded_sample(data: Data, spec: FeatureSpec, seed: int) -> None:
    pipeline = fitted("logistic", "binary_classification", data, spec, seed)

    sampled = try_export(pipeline, data.score, "binary_classification", sample_rows=200)
    again = try_export(pipeline, data.score, "binary_classification", sample_rows=200)
    whole = try_export(pipeline, data.score, "binary_classification")

    assert sampled.rows == 200
    assert sampled.parity == again.parity
    assert whole.rows == len(data.score)
    assert whole.parity is not None
    assert sampled.parity is not None
    assert sampled.parity <= whole.parity


def test_parity_sample_must_hold_a_row(data: Data, spec: FeatureSpec, seed: int) -> None:
    pipeline = fitted("logistic", "binary_classification", data, spec, seed)

    with pytest.raises(ModelError, match="sample_rows must be at least 1, got 0"):
        try_export(pipeline, data.score, "binary_classification", sample_rows=0)
