"""A registered version's files: their one set of names, and their one reader.

``modelyard train`` writes a version folder (``pipelines.registry_steps.register``) and every
reader (serving, batch scoring, monitoring, the registry steps) opens it with ``read_bundle``:

- the folder's SHA-256 manifest is verified first, and each file is hashed again as it is read,
  so no byte reaches a JSON, Parquet, ONNX or skops parser unverified;
- ``features.json`` becomes an ``InputSchema`` (feature spec, task, target, classes, one
  ``ColumnRule`` per input column with its contract rules, an example record);
- ``metrics.json`` (the card's metrics by split) and ``reference.json`` are read at once; the
  reference data, the test predictions and the model are read on demand, the model through the
  one loading chokepoint, ``modelyard.tracking.artifacts``.

It lives in ``features`` because that is the lowest layer that knows ``FeatureSpec`` and may
import ``tracking`` (the manifest) and ``models`` (the tasks).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import ModelError, RegistryError
from modelyard.features.spec import FeatureSpec
from modelyard.models.catalog import TASKS
from modelyard.tracking.artifacts import MODEL_FILE, ONNX_FILE
from modelyard.tracking.manifest import (
    MANIFEST_NAME,
    PathLike,
    artifact_root,
    read_head,
    read_verified,
    verify_manifest,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FEATURES_FILE",
    "FIT_FILE",
    "IMPORTANCES_FILE",
    "KIND_TYPES",
    "MANIFEST_NAME",
    "METRICS_FILE",
    "MODEL_FILE",
    "ONNX_FILE",
    "ONNX_INFO_FILE",
    "PLOTS_DIR",
    "REFERENCE_FILE",
    "REFERENCE_INFO_FILE",
    "REFERENCE_PREDICTIONS_FILE",
    "SLICES_FILE",
    "SNAPSHOT_FILE",
    "ColumnRule",
    "InputSchema",
    "ReferenceInfo",
    "VersionBundle",
    "read_bundle",
]

FEATURES_FILE = "features.json"
"""The inputs: feature spec, task, target, classes, column rules, an example record."""
METRICS_FILE = "metrics.json"
"""The card's metrics, by split (``valid``, ``test``)."""
SLICES_FILE = "slices.json"
IMPORTANCES_FILE = "importances.json"
SNAPSHOT_FILE = "snapshot.json"
FIT_FILE = "fit.json"
ONNX_INFO_FILE = "onnx.json"
"""The ONNX export's parity (or why there is no ``model.onnx``)."""
REFERENCE_FILE = "reference.parquet"
"""A seeded sample of the training split: what monitoring measures drift against."""
REFERENCE_PREDICTIONS_FILE = "reference_predictions.parquet"
"""The model's outputs on the test split: what prediction drift compares with."""
REFERENCE_INFO_FILE = "reference.json"
PLOTS_DIR = "plots"

KIND_TYPES: Mapping[str, str] = {
    "numeric": "float",
    "categorical": "string",
    "ordinal": "string",
    "datetime": "datetime",
}
"""A column's value type when the data contract does not name the column."""

_MAX_MANIFEST_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """One input column, and the rules its values follow (from the data contract)."""

    name: str
    kind: str
    type: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: tuple[Any, ...] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnRule:
        """Read one entry of ``features.json``'s ``columns``; a missing type follows the kind."""
        kind = str(data.get("kind", "numeric"))
        allowed = data.get("allowed")
        return cls(
            name=str(data["name"]),
            kind=kind,
            type=str(data.get("type") or KIND_TYPES.get(kind, "string")),
            nullable=bool(data.get("nullable", True)),
            min=data.get("min"),
            max=data.get("max"),
            allowed=None if allowed is None else tuple(allowed),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the ``features.json`` entry that ``from_dict`` reads back."""
        return {
            "name": self.name,
            "kind": self.kind,
            "type": self.type,
            "nullable": self.nullable,
            "min": self.min,
            "max": self.max,
            "allowed": None if self.allowed is None else list(self.allowed),
        }


@dataclass(frozen=True, slots=True)
class InputSchema:
    """What a version reads and predicts: ``features.json``, typed.

    Attributes:
        spec: The feature columns by kind, and how they are encoded.
        task: One of ``modelyard.models.catalog.TASKS``.
        target: The column the model predicts (None in folders written without it).
        classes: A classifier's class labels in probability order; None for a regressor, or
            when the folder does not say.
        columns: One rule per input column, in the spec's order.
        example: A record from the test split, for warm-up and documentation.
    """

    spec: FeatureSpec
    task: str
    target: str | None
    classes: tuple[Any, ...] | None
    columns: tuple[ColumnRule, ...]
    example: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputSchema:
        """Read a ``features.json`` document.

        Columns without contract rules (older folders) get the defaults of their kind.

        Raises:
            KeyError, TypeError, ValueError: The document lacks ``spec`` or ``task``, or holds
                values of the wrong shape (``read_bundle`` turns these into a RegistryError).
            ModelError: The task is not one modelyard knows.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        if not isinstance(data["spec"], Mapping):
            raise TypeError(f"'spec' is {data['spec']!r}, not the columns by kind")
        spec = FeatureSpec.from_dict(data["spec"])
        task = data["task"]
        if not isinstance(task, str):
            raise TypeError(f"'task' is {task!r}, not the name of a task")
        if task not in TASKS:
            raise ModelError(
                f"the task {task!r} is not one modelyard knows ({', '.join(TASKS)}). Register "
                "the model again with `modelyard train`."
            )
        listed = data.get("columns")
        if listed:
            columns = tuple(ColumnRule.from_dict(item) for item in listed)
        else:
            kinds = {"numeric": spec.numeric, "categorical": spec.categorical,
                     "ordinal": spec.ordinal, "datetime": spec.datetime}  # fmt: skip
            columns = tuple(
                ColumnRule(name=name, kind=kind, type=KIND_TYPES[kind])
                for kind, names in kinds.items()
                for name in names
            )
        classes = data.get("classes")
        example = data.get("example")
        if example is not None and not isinstance(example, Mapping):
            raise TypeError(f"'example' is not a record: {example!r}")
        target = data.get("target")
        return cls(
            spec=spec,
            task=task,
            target=None if target is None else str(target),
            classes=None if task == "regression" or classes is None else tuple(classes),
            columns=columns,
            example=example,
        )


@dataclass(frozen=True, slots=True)
class ReferenceInfo:
    """Where a version's monitoring reference came from (``reference.json``)."""

    data_digest: str | None
    rows: int | None
    """Training rows kept in ``reference.parquet``."""
    of_rows: int | None
    """Rows of the training split they were sampled from."""
    prediction_rows: int | None
    """Test-split rows in ``reference_predictions.parquet``."""
    seed: int | None
    timestamp: str | None
    target: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceInfo:
        """Read ``reference.json``.

        Raises:
            TypeError, ValueError: A field holds a value of the wrong shape.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        features = data.get("features") or {}
        predictions = data.get("predictions") or {}
        return cls(
            data_digest=_optional(data.get("data_digest"), str),
            rows=_optional(features.get("rows"), int),
            of_rows=_optional(features.get("of"), int),
            prediction_rows=_optional(predictions.get("rows"), int),
            seed=_optional(data.get("seed"), int),
            timestamp=_optional(data.get("timestamp"), str),
            target=_optional(data.get("target"), str),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the document ``from_dict`` reads (as ``registry_steps`` writes it)."""
        return {
            "data_digest": self.data_digest,
            "features": {"split": "train", "rows": self.rows, "of": self.of_rows},
            "predictions": {"split": "test", "rows": self.prediction_rows},
            "seed": self.seed,
            "timestamp": self.timestamp,
            "target": self.target,
        }


@dataclass(frozen=True, slots=True)
class VersionBundle:
    """A verified version folder, and what its small files say.

    Attributes:
        root: The folder (its real path).
        manifest: The SHA-256 of each file, by relative path, as verified.
        manifest_sha256: SHA-256 of the manifest file: it changes with any file of the version.
        inputs: What the model reads and predicts (``features.json``).
        metrics: The card's metrics by split (``metrics.json``); empty when absent.
        reference: Where the monitoring reference came from; None when the version carries
            none (registered by an older modelyard).
    """

    root: Path
    manifest: Mapping[str, str]
    manifest_sha256: str
    inputs: InputSchema
    metrics: Mapping[str, Mapping[str, float | None]]
    reference: ReferenceInfo | None

    @property
    def test_metrics(self) -> dict[str, float | None]:
        """The metrics on the test split, the figures the card promises."""
        return dict(self.metrics.get("test", {}))

    @property
    def onnx_path(self) -> Path | None:
        """``model.onnx``, when the version was exported with ONNX parity."""
        return self.root / ONNX_FILE if ONNX_FILE in self.manifest else None

    @property
    def skops_path(self) -> Path | None:
        """``model.skops``, the scikit-learn pipeline."""
        return self.root / MODEL_FILE if MODEL_FILE in self.manifest else None

    def onnx_bytes(self) -> bytes | None:
        """Return the verified bytes of ``model.onnx``, or None when there is none.

        Raises:
            ArtifactIntegrityError: The folder changed since it was verified.
            UnsafeArtifactError: The folder holds a pickle-family file.
        """
        from modelyard.tracking.artifacts import load_onnx_bytes

        return load_onnx_bytes(self.root)

    def load_native(self) -> Any:
        """Load the scikit-learn pipeline (skops, modelyard's trusted types only).

        Raises:
            ArtifactIntegrityError: The folder changed since it was verified.
            UnsafeArtifactError: The folder holds a pickle-family file or an untrusted type.
            RegistryError: The folder has no ``model.skops``.
        """
        from modelyard.tracking.artifacts import load_model

        return load_model(self.root)

    def read_reference(self) -> pd.DataFrame:
        """Return the training-split sample monitoring measures drift against.

        Raises:
            RegistryError: The version carries no reference.
            ArtifactIntegrityError: The file changed since it was verified.
        """
        return self._read_parquet(REFERENCE_FILE)

    def read_reference_predictions(self) -> pd.DataFrame:
        """Return the model's outputs on the test split (``prediction``, the target, and
        ``score`` for binary classifiers).

        Raises:
            RegistryError: The version carries no reference.
            ArtifactIntegrityError: The file changed since it was verified.
        """
        return self._read_parquet(REFERENCE_PREDICTIONS_FILE)

    def _read_parquet(self, name: str) -> pd.DataFrame:
        import pandas as pd

        if name not in self.manifest:
            raise RegistryError(
                f"Model folder {str(self.root)!r} has no {name}: it was registered by an older "
                "modelyard. Retrain it with `modelyard train`."
            )
        return pd.read_parquet(io.BytesIO(read_verified(self.root, name, dict(self.manifest))))


def read_bundle(
    folder: PathLike, *, name: str | None = None, version: int | None = None
) -> VersionBundle:
    """Verify a version folder against its manifest, then read its small files.

    Args:
        folder: A version folder, as ``Registry.download`` leaves it.
        name: The registered model, to name in errors.
        version: The version number, to name in errors.

    Raises:
        ArtifactIntegrityError: A file is missing, changed, extra or a link; nothing was parsed.
        RegistryError: ``features.json`` is missing or unreadable, or ``metrics.json`` or
            ``reference.json`` is unreadable.
        ModelError: ``features.json`` names a task modelyard does not know.
    """
    root = artifact_root(folder)
    digests = verify_manifest(root)
    what = f"version {version} of {name!r}" if name is not None else f"model folder {str(root)!r}"
    if FEATURES_FILE not in digests:
        raise RegistryError(
            f"{what[:1].upper()}{what[1:]} has no {FEATURES_FILE}, so the columns it reads "
            "are unknown. Register the model again with `modelyard train`, which writes it."
        )
    inputs = _parse(root, FEATURES_FILE, digests, what, InputSchema.from_dict)
    metrics = (
        _parse(root, METRICS_FILE, digests, what, _metrics_by_split)
        if METRICS_FILE in digests
        else {}
    )
    has_reference = all(
        file in digests
        for file in (REFERENCE_FILE, REFERENCE_PREDICTIONS_FILE, REFERENCE_INFO_FILE)
    )
    reference = (
        _parse(root, REFERENCE_INFO_FILE, digests, what, ReferenceInfo.from_dict)
        if has_reference
        else None
    )
    manifest_bytes = read_head(root, MANIFEST_NAME, _MAX_MANIFEST_BYTES)
    return VersionBundle(
        root=root,
        manifest=digests,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        inputs=inputs,
        metrics=metrics,
        reference=reference,
    )


def _parse(root: Path, file: str, digests: dict[str, str], what: str, read: Any) -> Any:
    """Parse a verified JSON file with ``read``; a malformed one is a RegistryError."""
    try:
        return read(json.loads(read_verified(root, file, digests)))
    except ModelError as exc:
        raise ModelError(f"{file} of {what}: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:  # FeatureError is a ValueError too
        raise RegistryError(
            f"{file} of {what} is unreadable ({type(exc).__name__}: {exc}). Register the model "
            "again with `modelyard train`."
        ) from exc


def _metrics_by_split(data: Any) -> dict[str, dict[str, float | None]]:
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    return {
        str(split): {str(k): None if v is None else float(v) for k, v in values.items()}
        for split, values in data.items()
    }


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else kind(value)
