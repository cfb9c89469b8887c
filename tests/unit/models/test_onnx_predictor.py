"""OnnxPredictor serves JSON records with the answers the scikit-learn pipeline gives."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import FeatureError, ModelError
from modelyard.features.pipeline import make_pipeline
from modelyard.features.spec import FeatureSpec
from modelyard.features.transform import onnx_feed, records_to_frame
from modelyard.models.catalog import make_estimator
from modelyard.models.onnx import OnnxPredictor, export_onnx

if TYPE_CHECKING:
    from conftest import Data


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a JSON client sends them: ISO datetimes, null for missing values."""
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", date_format="iso"))
    return records


def test_records_get_the_pipelines_answers(data: Data, spec: FeatureSpec, seed: int) -> None:
    task = "multiclass_classification"
    estimator = make_estimator("lightgbm", task=task, params={"n_jobs": 1}, seed=seed)
    pipeline = make_pipeline(spec, estimator).fit(data.train, data.targets[task])
    predictor = OnnxPredictor(export_onnx(pipeline, data.score))
    records = as_records(data.score.head(200))  # includes unseen categories and nulls

    feed = onnx_feed(records, spec)

    expected = records_to_frame(records, spec)
    np.testing.assert_allclose(
        predictor.predict_proba(feed), pipeline.predict_proba(expected), atol=1e-5
    )
    assert predictor.predict(feed).tolist() == pipeline.predict(expected).tolist()
    assert predictor.classes == (0, 1, 2)
    assert predictor.input_names == spec.columns


def test_single_record(data: Data, spec: FeatureSpec, seed: int) -> None:
    estimator = make_estimator("logistic", task="binary_classification", params={}, seed=seed)
    pipeline = make_pipeline(spec, estimator).fit(data.train, data.targets["binary_classification"])
    predictor = OnnxPredictor(export_onnx(pipeline, data.score))
    record = {name: None for name in spec.columns} | {"city": "never-seen", "plan_code": 7}

    probabilities = predictor.predict_proba(onnx_feed([record], spec))

    assert probabilities.shape == (1, 2)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-6)


def test_regressor_predicts_values_and_has_no_probabilities(
    data: Data, spec: FeatureSpec, seed: int
) -> None:
    estimator = make_estimator("linear", task="regression", params={}, seed=seed)
    pipeline = make_pipeline(spec, estimator).fit(data.train, data.targets["regression"])
    predictor = OnnxPredictor(export_onnx(pipeline, data.score))
    feed = onnx_feed(data.score.head(20), spec)

    np.testing.assert_allclose(
        predictor.predict(feed), pipeline.predict(data.score.head(20)), rtol=1e-5, atol=1e-3
    )
    assert (predictor.is_classifier, predictor.classes) == (False, None)
    with pytest.raises(ModelError, match=r"regressor: it has no probabilities\. Use predict"):
        predictor.predict_proba(feed)


def test_feed_without_a_column_names_it(data: Data, spec: FeatureSpec, seed: int) -> None:
    estimator = make_estimator("logistic", task="binary_classification", params={}, seed=seed)
    pipeline = make_pipeline(spec, estimator).fit(data.train, data.targets["binary_classification"])
    predictor = OnnxPredictor(export_onnx(pipeline, data.score))
    feed = onnx_feed(data.score.head(3), spec)
    del feed["city"]

    with pytest.raises(FeatureError, match=r"lacks feature column\(s\) \['city'\]"):
        predictor.predict(feed)


def test_bytes_that_are_not_a_model_are_refused() -> None:
    with pytest.raises(ModelError, match=r"onnxruntime cannot load this model \(9 bytes\)"):
        OnnxPredictor(b"not onnx!")
