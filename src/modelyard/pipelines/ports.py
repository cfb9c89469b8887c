"""What the pipelines need from tracking and the registry, as Protocols.

``project.py`` passes the MLflow-backed ``modelyard.tracking`` objects; tests pass in-memory
fakes (``tests/unit/pipelines/fakes.py``), so a pipeline runs in milliseconds without MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from modelyard.tracking.probe import RegistrySnapshot


class Run(Protocol):
    """An open tracking run: params, metrics, tags, artifacts and datasets go to it."""

    @property
    def run_id(self) -> str: ...

    def log_params(self, params: Mapping[str, object]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None: ...

    def set_tags(self, tags: Mapping[str, object]) -> None: ...

    def log_artifacts(self, folder: Path, artifact_path: str) -> None: ...

    def log_dataset(self, *, name: str, digest: str, source: str) -> None: ...


class Tracker(Protocol):
    """Opens runs in one experiment."""

    def start_run(
        self, name: str, *, tags: Mapping[str, object] | None = None, nested: bool = False
    ) -> AbstractContextManager[Run]: ...


class VersionRecord(Protocol):
    """One registered version, as far as the pipelines read it."""

    @property
    def run_id(self) -> str | None: ...

    @property
    def tags(self) -> Mapping[str, str]: ...


class Registry(Protocol):
    """Registered model versions and the aliases that point at them."""

    def register(
        self,
        name: str,
        *,
        run_id: str,
        artifact_path: str = "model",
        tags: Mapping[str, object] | None = None,
        description: str | None = None,
    ) -> int: ...

    def set_alias(self, name: str, alias: str, version: int) -> None: ...

    def delete_alias(self, name: str, alias: str) -> None: ...

    def get_alias(self, name: str, alias: str) -> int | None: ...

    def version(self, name: str, version: int) -> VersionRecord: ...

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, object]) -> None: ...

    def download(self, name: str, version: int, dest: Path) -> Path: ...


class RegistryProbe(Protocol):
    """A cheap read-only look at a registered model, for deciding whether to open MLflow at all.

    ``read`` returns None whenever it cannot answer for sure (another store, an unknown schema);
    the caller then takes the normal path through ``Registry``.
    """

    def read(self, name: str) -> RegistrySnapshot | None: ...
