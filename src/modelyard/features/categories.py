"""Group rare categories and fill missing ones before encoding, in scikit-learn and in ONNX.

scikit-learn's ``OneHotEncoder(min_frequency=...)`` groups rare categories itself, but
skl2onnx cannot export that grouping together with unseen categories at predict time. This
transformer does the grouping instead, as a plain mapping that ONNX expresses with one
``LabelEncoder`` per column: kept categories map to themselves, everything else (rare in
training, or never seen) maps to ``RARE_CATEGORY``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from modelyard.models.onnx import MISSING_CATEGORY

RARE_CATEGORY: Final = "__rare__"
"""What rare and unseen categories become."""

Text = npt.NDArray[np.object_]


class RareCategoryGrouper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Fill missing categories with ``MISSING_CATEGORY``; map rare and unseen ones to a group.

    A category is rare when it holds less than ``min_frequency`` of the training rows. Missing
    values count as the category ``MISSING_CATEGORY``, so they are kept or grouped like any other.
    Output is text, one column per input column, ready for ``OneHotEncoder`` or ``OrdinalEncoder``.

    Args:
        min_frequency: Share of training rows (0 to 1) a category needs to be kept. ``0``
            keeps every category seen in fit; unseen ones are still grouped.

    Attributes:
        categories_: The kept categories of each input column, sorted.
        n_features_in_: Number of input columns.
        feature_names_in_: Input column names, when fit saw a DataFrame.
    """

    def __init__(self, min_frequency: float = 0.0) -> None:
        self.min_frequency = min_frequency

    def fit(self, X: Any, y: Any = None) -> RareCategoryGrouper:  # noqa: N803 - scikit-learn's name
        """Learn which categories of each column are frequent enough to keep."""
        values = self._as_text(X, reset=True)
        threshold = self.min_frequency * len(values)
        self.categories_: list[Text] = []
        for column in values.T:
            counts = pd.Series(column).value_counts()
            kept = sorted(str(value) for value in counts.index[counts >= threshold])
            self.categories_.append(np.asarray(kept, dtype=object))
        return self

    def transform(self, X: Any) -> Text:  # noqa: N803 - scikit-learn's name
        """Return the categories as text, rare and unseen ones replaced by ``RARE_CATEGORY``."""
        check_is_fitted(self, "categories_")
        values = self._as_text(X, reset=False)
        for index, kept in enumerate(self.categories_):
            column = values[:, index]
            is_kept = pd.Series(column).isin(kept).to_numpy()
            values[:, index] = np.where(is_kept, column, RARE_CATEGORY)
        return values

    def onnx_shape_calculator(self) -> Callable[[Any], None]:
        """Return the skl2onnx shape calculator (skl2onnx looks for this method)."""
        return _infer_onnx_shape

    def onnx_converter(self) -> Callable[[Any, Any, Any], None]:
        """Return the skl2onnx converter (skl2onnx looks for this method)."""
        return _convert_to_onnx

    def _as_text(self, x: Any, *, reset: bool) -> Text:
        values = validate_data(
            self, x, reset=reset, dtype=object, ensure_all_finite=False, ensure_min_samples=0
        )
        missing = pd.isna(values)
        text = np.where(missing, MISSING_CATEGORY, values).astype(object)
        # prepare_frame already gives text; anything else is read the plain way
        return np.vectorize(str, otypes=[object])(text) if text.size else text


def _infer_onnx_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import StringTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = StringTensorType([rows, len(operator.raw_operator.categories_)])


def _convert_to_onnx(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxConcat, OnnxGather, OnnxLabelEncoder

    grouper: RareCategoryGrouper = operator.raw_operator
    opset = container.target_opset
    inputs = operator.inputs
    source = inputs[0] if len(inputs) == 1 else OnnxConcat(*inputs, axis=1, op_version=opset)
    output = operator.outputs[0]
    several = len(grouper.categories_) > 1
    columns = []
    for index, kept in enumerate(grouper.categories_):
        column = (
            OnnxGather(source, np.array([index], dtype=np.int64), axis=1, op_version=opset)
            if several
            else source
        )
        # RARE_CATEGORY is always a key, so no column ever has an empty mapping
        keys = list(dict.fromkeys([*(str(k) for k in kept), RARE_CATEGORY]))
        columns.append(
            OnnxLabelEncoder(
                column,
                keys_strings=keys,
                values_strings=keys,
                default_string=RARE_CATEGORY,
                op_version=2,
                output_names=None if several else [output],
            )
        )
    node = (
        OnnxConcat(*columns, axis=1, op_version=opset, output_names=[output])
        if several
        else columns[0]
    )
    node.add_to(scope, container)
