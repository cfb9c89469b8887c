"""An open run and a finished run's record: what ``Tracker`` hands out."""

from __future__ import annotations

import functools
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.tracking import _backend
from modelyard.tracking._datasets import dataset_input
from modelyard.tracking._names import check_relative_path
from modelyard.tracking.manifest import MANIFEST_NAME, verify_manifest, write_manifest

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as a CLI shows it."""

    run_id: str
    name: str
    experiment_id: str
    status: str
    start: datetime | None
    end: datetime | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    parent_run_id: str | None
    artifact_uri: str


class RunHandle:
    """An open run: log params, metrics, tags, artifacts and datasets to it."""

    def __init__(self, client: MlflowClient, tracking_uri: str, run_id: str, name: str) -> None:
        self._client, self._uri = client, tracking_uri
        self.run_id, self.name = run_id, name

    def log_params(self, params: Mapping[str, object]) -> None:
        """Log params; nested mappings become dotted keys, values are cut to 6000 characters."""
        flat = _flatten(params)
        self._batch(
            params=[(key, clean_text(value, MAX_PARAM_LENGTH)) for key, value in flat.items()]
        )

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        """Log metrics in batches, all with the same timestamp and ``step`` (default 0)."""
        now = int(time.time() * 1000)
        rows = [(key, float(value), now, step or 0) for key, value in metrics.items()]
        self._batch(metrics=rows)

    def set_tags(self, tags: Mapping[str, object]) -> None:
        """Set tags; values are cut to 8000 characters."""
        self._batch(tags=[(key, clean_text(value, MAX_TAG_LENGTH)) for key, value in tags.items()])

    def log_artifacts(self, folder: Path, artifact_path: str) -> None:
        """Upload ``folder`` under ``artifact_path``, with its SHA-256 manifest.

        A folder without a manifest gets one; a folder with one must verify first.
        """
        check_relative_path(artifact_path, what="artifact path")
        if not (Path(folder) / MANIFEST_NAME).exists():
            write_manifest(folder)
        verify_manifest(folder)
        with _backend.translated(self._uri, f"Logging artifacts to {artifact_path!r}"):
            self._client.log_artifacts(self.run_id, str(folder), artifact_path)

    def log_dataset(
        self,
        *,
        name: str,
        digest: str,
        source: str,
        frame: pd.DataFrame | None = None,
        context: str = "training",
    ) -> None:
        """Record a dataset as an input of the run, by digest; no rows are copied.

        Args:
            name: The dataset name.
            digest: The dataset's content digest (kept in full in the input tag
                ``modelyard.digest``; MLflow's own digest field holds 36 characters).
            source: Where the data came from (a path or URI; passwords are masked).
            frame: The data itself, to record its column schema and row count.
            context: MLflow's ``mlflow.data.context`` tag (training, validation, test).
        """
        entry = dataset_input(
            name=name, digest=digest, source=_backend.mask(source), frame=frame, context=context
        )
        with _backend.translated(self._uri, f"Logging dataset {name!r}"):
            _backend.retry(lambda: self._client.log_inputs(self.run_id, datasets=[entry]))

    def _batch(
        self,
        *,
        params: Sequence[tuple[str, str]] = (),
        metrics: Sequence[tuple[str, float, int, int]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        # One call: MLflow splits it into store batches. A retry resends everything, which is
        # harmless: equal params and tags are accepted again and equal metric rows are dropped.
        write = functools.partial(
            self._client.log_batch,
            self.run_id,
            metrics=[Metric(key, value, ts, step) for key, value, ts, step in metrics],
            params=[Param(key, value) for key, value in params],
            tags=[RunTag(key, value) for key, value in tags],
        )
        with _backend.translated(self._uri, f"Logging to run {self.run_id!r}"):
            _backend.retry(write)


def record_of(run: Any) -> RunRecord:
    """Turn an MLflow run into a ``RunRecord``."""
    info, data = run.info, run.data
    return RunRecord(
        run_id=info.run_id,
        name=info.run_name or "",
        experiment_id=str(info.experiment_id),
        status=str(info.status),
        start=_time(info.start_time),
        end=_time(info.end_time),
        params=dict(data.params),
        metrics={key: float(value) for key, value in data.metrics.items()},
        tags=dict(data.tags),
        parent_run_id=data.tags.get("mlflow.parentRunId"),
        artifact_uri=str(info.artifact_uri),
    )


def _time(millis: int | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, tz=UTC)


def _flatten(values: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def clean_text(value: object, limit: int) -> str:
    """Stringify, NFC-normalise, mask URL passwords and cut to ``limit`` characters."""
    text = unicodedata.normalize("NFC", value if isinstance(value, str) else str(value))
    return _backend.mask(text)[:limit]
