"""Export a fitted pipeline, preprocessing included, to ONNX; check it; run it.

The ONNX graph takes one input per feature column, each shaped ``[n, 1]``:

- numbers as float64, missing values NaN;
- datetimes as float64 seconds since 1970-01-01 of their wall-clock time, missing values NaN;
- categories as strings, missing values ``MISSING_CATEGORY``.

``frame_feed`` builds that input from a prepared frame. Preprocessing runs in float64 and the
model in float32 (ONNX tree ensembles compare in float32). A classifier's graph returns
``probabilities`` (float32, ``[n, classes]``) and ``label``; a regressor's, ``variable``
(``[n, 1]``).

Only ``export_onnx`` and ``try_export`` import skl2onnx; ``OnnxPredictor``, the serving path,
needs numpy and onnxruntime alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from modelyard.errors import FeatureError, ModelError, ModelExportError, describe, did_you_mean
from modelyard.models.catalog import TASKS

if TYPE_CHECKING:
    import pandas as pd

MISSING_CATEGORY: Final = "__missing__"
"""The string an ONNX input carries for a missing category."""

OPSET: Final = 15
"""The main ONNX opset: the highest onnxmltools' LightGBM converter supports."""

ML_OPSET: Final = 3
"""The ``ai.onnx.ml`` opset (tree ensembles, label encoders)."""

PARITY_ROWS: Final = 5_000
"""Most rows ``try_export`` compares on: a seeded sample of larger frames (the whole graph,
preprocessing included, runs on every sampled row, so a few thousand catch a wrong branch)."""

Feed = Mapping[str, npt.NDArray[Any]]
_CLASSES_KEY: Final = "modelyard.classes"


@dataclass(frozen=True, slots=True)
class OnnxExport:
    """The outcome of ``try_export``: the model, or the reason there is none.

    Attributes:
        model: The serialized ONNX model, or ``None`` when export failed or lost parity.
        parity: Largest absolute difference from scikit-learn on the sample, when measured.
        reason: Why ``model`` is ``None``, in words; ``None`` when it is not.
        rows: How many rows parity was measured on (0 when it was not).
    """

    model: bytes | None
    parity: float | None
    reason: str | None
    rows: int = 0


def frame_feed(frame: pd.DataFrame) -> dict[str, npt.NDArray[Any]]:
    """Return the ONNX input of a prepared frame (see ``modelyard.features.transform``)."""
    import pandas as pd

    feed: dict[str, npt.NDArray[Any]] = {}
    for name, column in frame.items():
        kind = input_kind(column)
        if kind == "string":
            values = column.astype(object).where(column.notna(), MISSING_CATEGORY).to_numpy()
        elif kind == "datetime":
            if isinstance(column.dtype, pd.DatetimeTZDtype):
                column = column.dt.tz_localize(None)
            values = ((column - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        else:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        feed[str(name)] = values.reshape(-1, 1)
    return feed


def export_onnx(pipeline: Any, frame: pd.DataFrame) -> bytes:
    """Convert a fitted preprocess + model Pipeline into one ONNX model.

    Args:
        pipeline: A fitted ``sklearn.pipeline.Pipeline`` whose last step is the model.
        frame: Prepared input rows; only the column names and dtypes are used.

    Returns:
        The serialized ONNX model.

    Raises:
        ModelExportError: The pipeline has a step that skl2onnx cannot convert, or the
            conversion failed.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator
    from skl2onnx.sklapi import CastTransformer
    from sklearn.base import is_classifier
    from sklearn.pipeline import Pipeline

    from modelyard.models._onnx_converters import (
        bool_attributes_as_ints,
        custom_converters,
        estimators_in,
        initial_types,
        unsupported_estimator,
    )

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        raise ModelExportError(
            f"ONNX export needs a Pipeline of preprocessing steps and a model, got "
            f"{describe(pipeline)}. Build it with modelyard.features.pipeline.make_pipeline."
        )
    *steps, (model_name, model) = pipeline.steps
    # trees compare in float32 in ONNX: cast once, after the float64 preprocessing
    graph = Pipeline([*steps, ("float32", CastTransformer(dtype=np.float32)), (model_name, model)])
    converters = custom_converters(estimators_in(pipeline))
    options = {id(model): {"zipmap": False}} if is_classifier(model) else {}
    try:
        with bool_attributes_as_ints():
            onnx_model = convert_sklearn(
                graph,
                name="modelyard",
                initial_types=initial_types(frame),
                target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
                options=options,
                custom_conversion_functions=converters,
            )
    except (MissingConverter, MissingShapeCalculator) as exc:
        unsupported = unsupported_estimator(pipeline, converters)
        raise ModelExportError(
            f"skl2onnx has no converter for {unsupported!r}. The model still serves through "
            "scikit-learn; for the ONNX fast path, use a catalog model or register a converter."
        ) from exc
    except Exception as exc:  # converters raise anything from RuntimeError to AttributeError
        raise ModelExportError(
            f"ONNX conversion of {type(model).__name__} failed: {type(exc).__name__}: {exc}"
        ) from exc
    classes = getattr(model, "classes_", None)
    if classes is not None:
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = _CLASSES_KEY, json.dumps(np.asarray(classes).tolist())
    return bytes(onnx_model.SerializeToString())


def check_parity(onnx_model: bytes, pipeline: Any, frame: pd.DataFrame, task: str) -> float:
    """Return the largest absolute difference between ONNX and scikit-learn on ``frame``.

    Classifiers compare probabilities, regressors predictions. A NaN on one side only counts
    as an infinite difference.

    Raises:
        ModelError: ``task`` is unknown, ``frame`` has no rows, or the ONNX model cannot run
            or answers in another shape (``ModelExportError``).
    """
    _check_task(task)
    return _compare(onnx_model, pipeline, frame, task)[0]


def try_export(
    pipeline: Any,
    frame: pd.DataFrame,
    task: str,
    *,
    tolerance: float = 1e-5,
    sample_rows: int = PARITY_ROWS,
    seed: int = 0,
) -> OnnxExport:
    """Export ``pipeline`` to ONNX if it converts and agrees with scikit-learn on ``frame``.

    Never raises for a model that does not convert: the result says why instead. For
    regression, ``tolerance`` is relative to the largest absolute prediction (when above 1),
    since the ONNX model computes in float32.

    Args:
        pipeline: The fitted preprocess + model Pipeline.
        frame: Prepared rows to compare on, e.g. the test split.
        task: ``binary_classification``, ``multiclass_classification`` or ``regression``.
        tolerance: The largest difference accepted.
        sample_rows: Compare on at most this many rows of ``frame``, drawn with ``seed``
            (``OnnxExport.rows`` says how many).
        seed: The seed of that sample.

    Returns:
        The model and its parity, or ``model=None`` and the reason.

    Raises:
        ModelError: ``task`` is not one of ``TASKS``.
    """
    _check_task(task)
    try:
        model = export_onnx(pipeline, frame)
    except ModelExportError as exc:
        return OnnxExport(model=None, parity=None, reason=str(exc))
    if sample_rows < 1:
        raise ModelError(f"sample_rows must be at least 1, got {sample_rows!r}.")
    if len(frame) > sample_rows:
        frame = frame.sample(n=sample_rows, random_state=seed)
    try:
        parity, scale = _compare(model, pipeline, frame, task)
    except ModelError as exc:
        return OnnxExport(model=None, parity=None, reason=str(exc))
    limit = tolerance * scale
    if not parity <= limit:
        relative = f" (relative to predictions up to {scale:.3g})" if scale != 1.0 else ""
        reason = f"parity {parity:.1e} exceeds {tolerance:.0e}{relative}"
        return OnnxExport(model=None, parity=parity, reason=reason, rows=len(frame))
    return OnnxExport(model=model, parity=parity, reason=None, rows=len(frame))


class OnnxPredictor:
    """Run an exported model with onnxruntime on one thread, for serving.

    Feeds come from ``frame_feed`` or ``modelyard.features.transform.onnx_feed``.

    Attributes:
        input_names: The feature columns the model takes, in graph order.
        is_classifier: Whether the model returns probabilities.
        classes: Class labels in probability column order (classifiers), else ``None``.
    """

    def __init__(self, model: bytes) -> None:
        """Load ``model``, the bytes ``export_onnx`` returned.

        Raises:
            ModelError: onnxruntime cannot load the bytes.
        """
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # the LightGBM graph's label shape warns on every call
        try:
            self._session = ort.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(
                f"onnxruntime cannot load this model ({len(model)} bytes): {exc} "
                "Export it again with modelyard.models.onnx.export_onnx."
            ) from exc
        outputs = [output.name for output in self._session.get_outputs()]
        self.input_names = tuple(node.name for node in self._session.get_inputs())
        self.is_classifier = "probabilities" in outputs
        self._predict_output = ["label"] if self.is_classifier else outputs[:1]
        metadata = self._session.get_modelmeta().custom_metadata_map
        classes = json.loads(metadata[_CLASSES_KEY]) if _CLASSES_KEY in metadata else None
        self.classes: tuple[Any, ...] | None = tuple(classes) if classes is not None else None

    def predict_proba(self, feed: Feed) -> npt.NDArray[np.float32]:
        """Return class probabilities, shaped ``[n, classes]``."""
        if not self.is_classifier:
            raise ModelError(
                "This ONNX model is a regressor: it has no probabilities. Use predict."
            )
        return self._run(["probabilities"], feed)

    def predict(self, feed: Feed) -> npt.NDArray[Any]:
        """Return class labels (classifiers) or predictions (regressors), shaped ``[n]``."""
        return self._run(self._predict_output, feed).ravel()

    def _run(self, outputs: list[str], feed: Feed) -> npt.NDArray[Any]:
        try:
            result: npt.NDArray[Any] = self._session.run(outputs, feed)[0]
            return result
        except Exception as exc:
            missing = [name for name in self.input_names if name not in feed]
            if missing:
                raise FeatureError(
                    f"The ONNX input lacks feature column(s) {missing!r}. Build it with "
                    "modelyard.features.transform.onnx_feed."
                ) from exc
            raise ModelError(f"onnxruntime failed to predict: {exc}") from exc


def _compare(
    onnx_model: bytes, pipeline: Any, frame: pd.DataFrame, task: str
) -> tuple[float, float]:
    """Return (largest absolute difference, scale of the compared values, at least 1)."""
    if len(frame) == 0:
        raise ModelExportError(
            "Parity needs rows to compare on, and the frame is empty. Pass prepared "
            "validation rows."
        )
    is_regression = task == "regression"
    if not is_regression and not hasattr(pipeline, "predict_proba"):
        raise ModelExportError(
            f"Task {task!r} compares probabilities, and {type(pipeline).__name__} has no "
            "predict_proba. Use a classifier that predicts probabilities."
        )
    predictor = OnnxPredictor(onnx_model)
    feed = frame_feed(frame)
    if is_regression:
        expected = np.asarray(pipeline.predict(frame), dtype=np.float64).ravel()
        actual = np.asarray(predictor.predict(feed), dtype=np.float64).ravel()
    else:
        expected = np.asarray(pipeline.predict_proba(frame), dtype=np.float64)
        actual = np.asarray(predictor.predict_proba(feed), dtype=np.float64)
    if expected.shape != actual.shape:
        raise ModelExportError(
            f"ONNX returned shape {actual.shape}, scikit-learn {expected.shape}: the export "
            f"does not match the model for task {task!r}. Check the task."
        )
    both_nan = np.isnan(expected) & np.isnan(actual)
    difference = np.where(both_nan, 0.0, np.abs(expected - actual))
    difference = np.where(np.isnan(difference), np.inf, difference)
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max())) if is_regression and finite.size else 1.0
    return float(difference.max()), scale


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ModelError(
            f"Unknown task {task!r}.{did_you_mean(task, TASKS)} Use one of: {', '.join(TASKS)}."
        )


def input_kind(column: pd.Series) -> str:
    """Return how a prepared column enters the graph: ``double``, ``datetime`` or ``string``."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return "datetime"
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return "double"
    return "string"
