"""A registered version loaded for batch scoring, and the columns it adds to each chunk.

The version folder (as ``Registry.download`` leaves it, or as ``modelyard.pipelines.train``
assembles it) is opened with ``modelyard.features.bundle.read_bundle`` (manifest verified first;
``features.json`` says which columns the model reads and its task) and loaded through the one
chokepoint, ``modelyard.tracking.artifacts``: the ONNX export when there is one (the fast path),
else the scikit-learn pipeline.

Output columns, after every input column:

- classifiers: ``prediction`` (the most probable class, the first on ties) and one
  ``proba_<class>`` (float64) per class, in the model's class order;
- regressors: ``prediction`` (float64).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from modelyard.errors import ModelError
from modelyard.features.bundle import FEATURES_FILE, VersionBundle, read_bundle
from modelyard.features.casting import category_text
from modelyard.features.transform import prepare_frame
from modelyard.models.onnx import OnnxPredictor, frame_feed

PREDICTION = "prediction"
PROBA_PREFIX = "proba_"
BATCH_ROWS = 8192
"""Rows per model call: bounds the one-hot and tree intermediates, whatever the chunk size."""


class BatchModel:
    """Score Arrow tables with one model version.

    Attributes:
        name: The registered model.
        version: The version number.
        digest: SHA-256 of the version's manifest: it changes with any file of the version.
        engine: ``onnx`` or ``native`` (the scikit-learn pipeline).
        spec: The feature columns the model reads.
        task: ``binary_classification``, ``multiclass_classification`` or ``regression``.
        classes: The class labels, in probability column order; empty for regressors.
        output_fields: The columns ``score`` appends.
        batch_rows: Rows per model call.
    """

    def __init__(
        self, folder: Path, *, name: str, version: int, batch_rows: int = BATCH_ROWS
    ) -> None:
        """Verify and load the version in ``folder``.

        Raises:
            ArtifactIntegrityError: A file of the folder fails its manifest.
            UnsafeArtifactError: The folder holds a format that could run code on load.
            RegistryError: The folder has no ``features.json``, or it is unreadable.
            ModelError: The task is unknown, or the model cannot be loaded.
        """
        bundle = read_bundle(folder, name=name, version=version)
        self.name, self.version = name, version
        self.batch_rows = max(1, batch_rows)
        self.digest = bundle.manifest_sha256
        self.spec = bundle.inputs.spec
        self.task = bundle.inputs.task
        onnx = bundle.onnx_bytes()
        self._onnx = OnnxPredictor(onnx) if onnx is not None else None
        self._native: Any = bundle.load_native() if onnx is None else None
        self.engine = "onnx" if self._onnx is not None else "native"
        self.classes: tuple[Any, ...] = () if self.task == "regression" else self._classes(bundle)
        self._labels = np.asarray(self.classes)
        self.output_fields = self._output_fields()

    @property
    def output_names(self) -> list[str]:
        """The names of the columns ``score`` appends."""
        return [field.name for field in self.output_fields]

    def score(self, table: pa.Table) -> pa.Table:
        """Return ``table`` with the prediction columns appended.

        The model sees ``batch_rows`` rows a call, so memory does not grow with the table.

        Raises:
            FeatureError: A model column is missing or holds values its kind cannot read.
            ModelError: The model fails to predict.
        """
        frame = prepare_frame(table.select(list(self.spec.columns)).to_pandas(), self.spec)
        step = self.batch_rows
        parts = [
            self._predict(frame.iloc[start : start + step]) for start in range(0, len(frame), step)
        ]
        width = 1 if self.task == "regression" else len(self.classes)
        values = np.concatenate(parts) if parts else np.empty((0, width))
        if self.task == "regression":
            columns = [values.ravel()]
        else:
            columns = [self._labels[np.argmax(values, axis=1)], *values.T]
        for field, column in zip(self.output_fields, columns, strict=True):
            table = table.append_column(field, pa.array(column, type=field.type))
        return table

    def _predict(self, x: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Return probabilities (classifiers) or predictions (regressors) of prepared rows."""
        is_regression = self.task == "regression"
        if self._onnx is not None:
            feed = frame_feed(x)
            found = self._onnx.predict(feed) if is_regression else self._onnx.predict_proba(feed)
        else:
            found = self._native.predict(x) if is_regression else self._native.predict_proba(x)
        return np.asarray(found, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """Return what identifies this version in the output's markers."""
        return {"name": self.name, "version": self.version, "digest": self.digest}

    def _classes(self, bundle: VersionBundle) -> tuple[Any, ...]:
        if self._onnx is not None and self._onnx.classes is not None:
            classes: Any = self._onnx.classes
        elif self._native is not None and hasattr(self._native, "classes_"):
            classes = self._native.classes_
        else:
            classes = bundle.inputs.classes
        if classes is None or len(classes) == 0:
            raise ModelError(
                f"Version {self.version} of {self.name!r} is a classifier whose classes are "
                f"unknown (no class labels in the model or in {FEATURES_FILE}). Register it again "
                "with `modelyard train`."
            )
        return tuple(value.item() if isinstance(value, np.generic) else value for value in classes)

    def _output_fields(self) -> list[pa.Field]:
        if self.task == "regression":
            return [pa.field(PREDICTION, pa.float64())]
        label_type = pa.array(self._labels).type
        probas = [pa.field(PROBA_PREFIX + category_text(c), pa.float64()) for c in self.classes]
        fields = [pa.field(PREDICTION, label_type), *probas]
        names = [field.name for field in fields]
        if len(set(names)) != len(names):
            raise ModelError(
                f"The classes {list(self.classes)!r} of {self.name!r} give clashing column "
                "names; relabel the target so each class reads differently as text."
            )
        return fields
