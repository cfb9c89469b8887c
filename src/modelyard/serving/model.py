"""A loaded model version that turns validated records into predictions.

Two runtimes answer the same way: ``OnnxRuntime`` (ONNX Runtime, fed straight from records, no
pandas) when the version has a parity-checked ``model.onnx``, else ``NativeRuntime`` (the skops
pipeline via ``load_model``). A classifier's prediction is ``{"label", "probabilities"}`` (by
class, as text keys), a regressor's ``{"value"}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter, ValidationError

from modelyard.errors import ModelError
from modelyard.serving.schema import (
    example_record,
    feedback_adapter,
    request_adapter,
)

if TYPE_CHECKING:
    from modelyard.features.bundle import ColumnRule, InputSchema
    from modelyard.features.spec import FeatureSpec
    from modelyard.models.onnx import OnnxPredictor

Records = Sequence[Mapping[str, Any]]
Outputs = list[dict[str, Any]]


class Runtime(Protocol):
    """What runs a model. ``inline_rows``: batches up to this size run on the event loop."""

    name: str
    inline_rows: int

    def predict(self, records: Records) -> Outputs: ...


class OnnxRuntime:
    """ONNX Runtime on one thread; tens of microseconds a record, so small batches run inline.

    A single record, the common request, is fed by ``record_feed``; batches by ``onnx_feed``.
    """

    name = "onnx"
    inline_rows = 64

    def __init__(
        self, predictor: OnnxPredictor, spec: FeatureSpec, task: str, classes: Sequence[Any] | None
    ) -> None:
        from modelyard.features.transform import onnx_feed

        self._predictor, self._spec, self._task = predictor, spec, task
        self._classes = tuple(classes or predictor.classes or ())
        self._feed = onnx_feed
        self._record_feed = record_feed(spec)

    def predict(self, records: Records) -> Outputs:
        if len(records) == 1:
            feed = self._record_feed(records[0])
        else:
            feed = self._feed(records, self._spec)
        if self._task == "regression":
            return _values(self._predictor.predict(feed).tolist())
        return _labelled(self._predictor.predict_proba(feed).tolist(), self._classes)


def record_feed(spec: FeatureSpec) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Return what turns one record into ONNX Runtime input, as ``onnx_feed`` would.

    Values of the types validated records hold take a shortcut (a float or int stays a number,
    text stays text); anything else goes through the casts ``onnx_feed`` uses.

    Raises (from the returned function):
        FeatureError: A field is missing, or holds a value its kind cannot read.
    """
    import numpy as np

    from modelyard.features.casting import category_text, is_missing, to_number
    from modelyard.features.transform import onnx_feed
    from modelyard.models.onnx import MISSING_CATEGORY

    numeric = tuple(spec.numeric)
    texts = tuple(spec.categorical + spec.ordinal)
    columns = set(spec.columns)
    nan, float64, text = math.nan, np.float64, np.dtype(object)

    def feed(record: Mapping[str, Any]) -> dict[str, Any]:
        if spec.datetime or not columns <= record.keys():  # the general path says what is wrong
            return onnx_feed([record], spec)
        out: dict[str, Any] = {}
        for column in numeric:
            value = record[column]
            kind = type(value)
            number = (
                value
                if kind is float
                else float(value)
                if kind is int
                else nan
                if value is None
                else to_number(value, column)
            )
            out[column] = np.array([[number]], dtype=float64)
        for column in texts:
            value = record[column]
            label = (
                value
                if type(value) is str
                else MISSING_CATEGORY
                if is_missing(value)
                else category_text(value)
            )
            out[column] = np.array([[label]], dtype=text)
        return out

    return feed


class NativeRuntime:
    """The scikit-learn pipeline: milliseconds a call, so it always runs in a worker thread."""

    name = "native"
    inline_rows = 0

    def __init__(self, pipeline: Any, spec: FeatureSpec, task: str) -> None:
        self._pipeline, self._spec, self._task = pipeline, spec, task
        classes = getattr(pipeline, "classes_", None)
        self._classes = () if classes is None else tuple(classes.tolist())

    def predict(self, records: Records) -> Outputs:
        from modelyard.features.transform import records_to_frame

        frame = records_to_frame(records, self._spec)
        if self._task == "regression":
            return _values(self._pipeline.predict(frame).tolist())
        return _labelled(self._pipeline.predict_proba(frame).tolist(), self._classes)


@dataclass(frozen=True, slots=True, eq=False)
class ServedModel:
    """One model version ready to answer: its runtime, request validators and description."""

    name: str
    version: int
    alias: str | None
    task: str
    classes: tuple[Any, ...] | None
    columns: tuple[ColumnRule, ...]
    runtime: Runtime
    request: TypeAdapter[Any]
    feedback: TypeAdapter[Any]
    card: dict[str, Any] = field(default_factory=dict)
    example: dict[str, Any] | None = None
    version_label: str = field(init=False)  # the X-Model-Version value, made once
    id_json: str = field(init=False)  # {"name", "version"} as JSON, for the response body

    def __post_init__(self) -> None:
        object.__setattr__(self, "version_label", str(self.version))
        object.__setattr__(
            self, "id_json", json.dumps({"name": self.name, "version": self.version})
        )

    def predict(self, records: Records) -> Outputs:
        """Return one prediction per validated record."""
        return self.runtime.predict(records)

    def warm(self) -> None:
        """Predict the version's example record once, so the first request is not the slow one.

        Raises:
            ModelError: The model cannot predict its own example.
        """
        if self.example is None:
            return
        try:
            records = self.request.validate_python({"records": [self.example]}, strict=False)
        except ValidationError:
            records = {"records": [self.example]}  # an example outside the contract still warms
        try:
            self.predict(records["records"])
        except Exception as exc:
            raise ModelError(
                f"Version {self.version} of {self.name!r} failed to predict its own example "
                f"record during warm-up ({type(exc).__name__}: {exc}); it was not swapped in. "
                "Check the version with `modelyard models show`."
            ) from exc

    def describe(self) -> dict[str, Any]:
        """Return what ``GET /v1/model`` shows."""
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "runtime": self.runtime.name,
            "task": self.task,
            "classes": None if self.classes is None else list(self.classes),
            "card": self.card,
            "inputs": [column.to_dict() for column in self.columns],
        }


def build_served_model(
    runtime: Runtime,
    inputs: InputSchema,
    *,
    name: str,
    version: int,
    alias: str | None = None,
    card: Mapping[str, Any] | None = None,
    max_rows: int = 10_000,
) -> ServedModel:
    """Wrap ``runtime`` with the validators and description the version's ``inputs`` give."""
    columns = inputs.columns
    task, classes, example = inputs.task, inputs.classes, inputs.example
    return ServedModel(
        name=name,
        version=version,
        alias=alias,
        task=task,
        classes=classes,
        columns=columns,
        runtime=runtime,
        request=request_adapter(columns, max_rows=max_rows),
        feedback=feedback_adapter(task, classes, max_rows=max_rows),
        card=dict(card or {}),
        example=None if example is None else example_record(columns, example),
    )


def load_served_model(
    folder: Path,
    *,
    name: str,
    version: int,
    alias: str | None = None,
    tags: Mapping[str, str] | None = None,
    max_rows: int = 10_000,
) -> ServedModel:
    """Load a downloaded version folder (verified against its manifest first) and warm it.

    Raises:
        ArtifactIntegrityError: A file does not match the manifest; nothing was parsed.
        UnsafeArtifactError: The folder holds a format that could run code on load.
        RegistryError: The folder lacks ``features.json``, or it is unreadable.
        ModelError: The model cannot be loaded or fails its warm-up prediction.
    """
    from modelyard.features.bundle import read_bundle
    from modelyard.models.onnx import OnnxPredictor

    bundle = read_bundle(folder, name=name, version=version)
    inputs = bundle.inputs
    onnx = bundle.onnx_bytes()
    runtime: Runtime = (
        OnnxRuntime(OnnxPredictor(onnx), inputs.spec, inputs.task, inputs.classes)
        if onnx is not None
        else NativeRuntime(bundle.load_native(), inputs.spec, inputs.task)
    )
    tags = tags or {}
    card = {
        "test_metrics": bundle.test_metrics,
        "gates": tags.get("modelyard.gates"),
        "gate_summary": tags.get("modelyard.gate_summary"),
        "onnx_parity": tags.get("modelyard.onnx_parity"),
    }
    model = build_served_model(
        runtime, inputs, name=name, version=version, alias=alias, card=card, max_rows=max_rows
    )
    model.warm()
    return model


def _labelled(probabilities: list[list[float]], classes: Sequence[Any]) -> Outputs:
    labels = classes or range(len(probabilities[0]))  # a model without class names: 0..k-1
    keys = [str(label) for label in labels]
    outputs: Outputs = []
    for row in probabilities:
        best = max(range(len(row)), key=row.__getitem__)
        outputs.append({"label": labels[best], "probabilities": dict(zip(keys, row, strict=True))})
    return outputs


def _values(values: list[float]) -> Outputs:
    return [{"value": value if math.isfinite(value) else None} for value in values]
