"""modelyard's own transformers give the same output in ONNX as in scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

from modelyard.features.categories import RARE_CATEGORY, RareCategoryGrouper
from modelyard.features.datetimes import DatetimeParts
from modelyard.models.onnx import MISSING_CATEGORY, ML_OPSET, OPSET, frame_feed


def run_onnx(transformer: Any, inputs: list[tuple[str, Any]], feed: dict[str, Any]) -> Any:
    model = convert_sklearn(
        transformer, initial_types=inputs, target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET}
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


@pytest.mark.parametrize(
    "start",
    [
        pytest.param("1900-01-01", id="before-1970"),
        pytest.param("1999-12-25", id="around-2000"),
        pytest.param("2096-01-01", id="leap-years-ahead"),
    ],
)
def test_datetime_parts_match_in_onnx(seed: int, start: str) -> None:
    rng = np.random.default_rng(seed)
    offsets = pd.to_timedelta(rng.integers(0, 5 * 366 * 86400, 3000), unit="s")
    moments = pd.Timestamp(start) + offsets + pd.to_timedelta(rng.random(3000), unit="s")
    frame = pd.DataFrame({"t": moments, "u": moments[::-1].to_numpy()})
    frame.loc[::50, "t"] = pd.NaT
    parts = DatetimeParts().fit(frame)

    onnx_out = run_onnx(
        parts,
        [("t", DoubleTensorType([None, 1])), ("u", DoubleTensorType([None, 1]))],
        frame_feed(frame),
    )

    np.testing.assert_array_equal(onnx_out, parts.transform(frame))


def test_datetime_feature_names() -> None:
    parts = DatetimeParts().fit(pd.DataFrame({"t": [pd.Timestamp(0)], "u": [pd.Timestamp(0)]}))

    assert parts.get_feature_names_out().tolist() == [
        "t_hour", "u_hour", "t_weekday", "u_weekday", "t_month", "u_month"
    ]  # fmt: skip


def test_grouper_matches_in_onnx_for_rare_unseen_and_missing() -> None:
    train = pd.DataFrame(
        {"a": ["x"] * 50 + ["y"] * 49 + ["rare"], "b": [None] * 10 + ["p"] * 90}, dtype="str"
    )
    grouper = RareCategoryGrouper(min_frequency=0.05).fit(train)
    rows = pd.DataFrame(
        {"a": ["x", "rare", "new", None], "b": ["p", None, "new", "p"]}, dtype="str"
    )

    onnx_out = run_onnx(
        grouper,
        [("a", StringTensorType([None, 1])), ("b", StringTensorType([None, 1]))],
        frame_feed(rows),
    )

    expected = [
        ["x", "p"],
        [RARE_CATEGORY, MISSING_CATEGORY],
        [RARE_CATEGORY, RARE_CATEGORY],
        [RARE_CATEGORY, "p"],  # a missing 'a' was never seen in fit: grouped
    ]
    assert grouper.transform(rows).tolist() == expected
    assert onnx_out.tolist() == expected
