"""What ``modelyard.models.onnx`` adds to skl2onnx to convert a modelyard pipeline.

- ``bool_attributes_as_ints``: skl2onnx 1.20 passes Python bools in integer-list attributes
  (the HistGradientBoosting converter's ``nodes_missing_value_tracks_true``), which protobuf 7
  rejects. This patches ``onnx.helper.make_attribute`` for the conversion only.
- ``custom_converters``: a float64 converter for ``SimpleImputer`` (skl2onnx's stores the fill
  values as float32, which moves an imputed value off the exact tree threshold scikit-learn
  compared it with); and LightGBM's converter, from onnxmltools.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

Converter = Callable[[Any, Any, Any], None]

_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def bool_attributes_as_ints() -> Iterator[None]:
    """Within the block, make ``onnx.helper.make_attribute`` store bools in lists as ints.

    The patch is process-wide while it lasts, so conversions take a lock and run one at a time.
    """
    import onnx.helper

    original = onnx.helper.make_attribute

    def make_attribute(key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, list | tuple | np.ndarray) and _holds_bools(value):
            value = [int(v) for v in value]
        return original(key, value, *args, **kwargs)

    with _PATCH_LOCK:
        onnx.helper.make_attribute = make_attribute
        try:
            yield
        finally:
            onnx.helper.make_attribute = original


def _holds_bools(values: list[Any] | tuple[Any, ...] | np.ndarray) -> bool:
    # the types of a tree ensemble's long attribute lists, collected at C speed
    if isinstance(values, np.ndarray):
        return values.dtype == np.bool_ or (
            values.dtype == object and _holds_bools(values.tolist())
        )
    return not _BOOL_TYPES.isdisjoint(set(map(type, values)))


_BOOL_TYPES = frozenset({bool, np.bool_})


def custom_converters(estimators: list[Any]) -> dict[type, Converter]:
    """Return the converters to pass to ``skl2onnx.convert_sklearn``, by estimator class.

    LightGBM's converter is registered with skl2onnx instead (its converter reads options,
    which skl2onnx only allows for registered models); registering again is harmless.
    """
    from sklearn.impute import SimpleImputer

    for estimator in estimators:
        if type(estimator).__module__.startswith("lightgbm"):
            _register_lightgbm(type(estimator), is_classifier=hasattr(estimator, "classes_"))
    return {SimpleImputer: _convert_simple_imputer}


def _register_lightgbm(kind: type, *, is_classifier: bool) -> None:
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    if is_classifier:
        update_registered_converter(
            kind,
            f"LightGbm{kind.__name__}",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
        )
    else:
        update_registered_converter(
            kind,
            f"LightGbm{kind.__name__}",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
            options={"split": None},
        )


def _convert_simple_imputer(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxIsNaN, OnnxWhere
    from skl2onnx.common.data_types import DoubleTensorType
    from skl2onnx.operator_converters.imputer_op import convert_sklearn_imputer

    imputer = operator.raw_operator
    fill = np.asarray(imputer.statistics_)
    is_plain_double = (
        len(operator.inputs) == 1
        and isinstance(operator.inputs[0].type, DoubleTensorType)
        and isinstance(imputer.missing_values, float)
        and math.isnan(imputer.missing_values)
        and not imputer.add_indicator
        and fill.dtype.kind == "f"
        and not np.isnan(fill).any()  # NaN marks a column scikit-learn drops from the output
    )
    if not is_plain_double:
        convert_sklearn_imputer(scope, operator, container)
        return
    opset = container.target_opset
    source = operator.inputs[0]
    OnnxWhere(
        OnnxIsNaN(source, op_version=opset),
        fill.astype(np.float64).reshape(1, -1),
        source,
        op_version=opset,
        output_names=[operator.outputs[0]],
    ).add_to(scope, container)


def initial_types(frame: pd.DataFrame) -> list[tuple[str, Any]]:
    """Return the graph inputs for a prepared frame: one ``[n, 1]`` tensor a column."""
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    from modelyard.models.onnx import input_kind

    return [
        (
            str(name),
            StringTensorType([None, 1])
            if input_kind(column) == "string"
            else DoubleTensorType([None, 1]),
        )
        for name, column in frame.items()
    ]


def estimators_in(estimator: Any) -> list[Any]:
    """Return every estimator inside ``estimator``: pipeline steps and column transformers."""
    found = [estimator]
    children: list[Any] = []
    if hasattr(estimator, "steps"):
        children = [step for _, step in estimator.steps]
    elif hasattr(estimator, "transformers_"):
        children = [transformer for _, transformer, _ in estimator.transformers_]
    elif hasattr(estimator, "transformer_list"):
        children = [transformer for _, transformer in estimator.transformer_list]
    for child in children:
        if not isinstance(child, str):  # "drop" and "passthrough"
            found.extend(estimators_in(child))
    return found


def unsupported_estimator(pipeline: Any, converters: Mapping[type, Any]) -> str:
    """Name the first estimator in ``pipeline`` that skl2onnx cannot convert."""
    try:  # skl2onnx's table of the classes it converts; private, so the model is the fallback
        from skl2onnx._supported_operators import sklearn_operator_name_map
    except ImportError:
        sklearn_operator_name_map = {}
    for estimator in estimators_in(pipeline):
        kind = type(estimator)
        if not (
            kind in sklearn_operator_name_map
            or kind in converters
            or hasattr(estimator, "onnx_converter")
        ):
            return f"{kind.__module__}.{kind.__qualname__}"
    model = pipeline.steps[-1][1]
    return f"{type(model).__module__}.{type(model).__qualname__}"
