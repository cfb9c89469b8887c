"""Split datetime columns into hour, weekday and month, in scikit-learn and in ONNX.

ONNX has no datetime type: the exported graph takes each datetime as float64 seconds since
1970-01-01 of its wall-clock time (see ``modelyard.models.onnx``) and derives the same parts
with integer arithmetic on those seconds (the days-to-civil-date method of H. Hinnant).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from modelyard.features.casting import cast_datetimes

PARTS: Final = ("hour", "weekday", "month")
"""The parts of each datetime column, in output order: 0-23, Monday=0 to Sunday=6, 1-12."""

_ACCESSORS: Final = {"hour": "hour", "weekday": "day_of_week", "month": "month"}


class DatetimeParts(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Replace each datetime column with its hour, weekday and month (NaN where missing).

    Output columns go part by part: every column's hour, then every weekday, then every month.
    Time zones are dropped and wall-clock time kept, as ``prepare_frame`` does.

    Attributes:
        n_features_in_: Number of input columns.
        feature_names_in_: Input column names, when fit saw a DataFrame.
    """

    def fit(self, X: Any, y: Any = None) -> DatetimeParts:  # noqa: N803 - scikit-learn's name
        """Record the input columns; there is nothing to learn."""
        frame = _as_datetimes(X)
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def transform(self, X: Any) -> npt.NDArray[np.float64]:  # noqa: N803 - scikit-learn's name
        """Return the parts as float64, one row per input row."""
        check_is_fitted(self, "n_features_in_")
        frame = _as_datetimes(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"DatetimeParts was fitted on {self.n_features_in_} columns, got "
                f"{frame.shape[1]}. Pass the same datetime columns as in fit."
            )
        parts = [
            getattr(frame[column].dt, _ACCESSORS[part]).to_numpy(dtype=np.float64, na_value=np.nan)
            for part in PARTS
            for column in frame.columns
        ]
        return np.column_stack(parts) if parts else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:
        """Return ``<column>_<part>`` for each output column."""
        check_is_fitted(self, "n_features_in_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        return np.asarray([f"{c}_{p}" for p in PARTS for c in input_features], dtype=object)

    def onnx_shape_calculator(self) -> Callable[[Any], None]:
        """Return the skl2onnx shape calculator (skl2onnx looks for this method)."""
        return _infer_onnx_shape

    def onnx_converter(self) -> Callable[[Any, Any, Any], None]:
        """Return the skl2onnx converter (skl2onnx looks for this method)."""
        return _convert_to_onnx


def _as_datetimes(x: Any) -> pd.DataFrame:
    frame = pd.DataFrame(x).reset_index(drop=True)
    return pd.DataFrame(
        {column: cast_datetimes(frame[column], str(column)) for column in frame.columns},
        index=frame.index,
    )


def _infer_onnx_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = DoubleTensorType(
        [rows, len(PARTS) * operator.raw_operator.n_features_in_]
    )


def _convert_to_onnx(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import (
        OnnxAdd,
        OnnxCast,
        OnnxConcat,
        OnnxDiv,
        OnnxFloor,
        OnnxMul,
        OnnxSub,
    )
    from skl2onnx.proto import onnx_proto

    opset = container.target_opset

    def const(value: float) -> npt.NDArray[np.float64]:
        return np.array([value], dtype=np.float64)

    def floor_div(x: Any, d: float) -> Any:
        return OnnxFloor(OnnxDiv(x, const(d), op_version=opset), op_version=opset)

    def mod(x: Any, d: float) -> Any:  # floored, like Python's %: never negative here
        return OnnxSub(x, OnnxMul(floor_div(x, d), const(d), op_version=opset), op_version=opset)

    def add(x: Any, value: float) -> Any:
        return OnnxAdd(x, const(value), op_version=opset)

    as_double = [
        OnnxCast(source, to=onnx_proto.TensorProto.DOUBLE, op_version=opset)
        for source in operator.inputs
    ]
    joined = (
        as_double[0] if len(as_double) == 1 else OnnxConcat(*as_double, axis=1, op_version=opset)
    )
    seconds = OnnxFloor(joined, op_version=opset)
    days = floor_div(seconds, 86400.0)
    hour = floor_div(mod(seconds, 86400.0), 3600.0)
    weekday = mod(add(days, 3.0), 7.0)  # 1970-01-01 was a Thursday
    # days since 0000-03-01, split into 400-year eras: month from the day of the year
    day_of_era = mod(add(days, 719468.0), 146097.0)
    year_of_era = floor_div(
        OnnxAdd(
            OnnxSub(day_of_era, floor_div(day_of_era, 1460.0), op_version=opset),
            OnnxSub(
                floor_div(day_of_era, 36524.0), floor_div(day_of_era, 146096.0), op_version=opset
            ),
            op_version=opset,
        ),
        365.0,
    )
    day_of_year = OnnxSub(
        day_of_era,
        OnnxAdd(
            OnnxMul(year_of_era, const(365.0), op_version=opset),
            OnnxSub(floor_div(year_of_era, 4.0), floor_div(year_of_era, 100.0), op_version=opset),
            op_version=opset,
        ),
        op_version=opset,
    )
    month_from_march = floor_div(
        add(OnnxMul(day_of_year, const(5.0), op_version=opset), 2.0), 153.0
    )
    month = add(mod(add(month_from_march, 2.0), 12.0), 1.0)
    OnnxConcat(
        hour, weekday, month, axis=1, op_version=opset, output_names=[operator.outputs[0]]
    ).add_to(scope, container)
