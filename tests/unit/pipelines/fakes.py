"""In-memory stand-ins for the pipelines' ports (``modelyard.pipelines.ports``).

They keep what the MLflow-backed ``Tracker`` and ``Registry`` keep (runs with params, metrics,
tags and artifact folders; versions with tags and aliases), in dicts and a temporary folder,
and raise the same errors for the same mistakes, so a pipeline runs in milliseconds.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.errors import ModelNotFoundError, RegistryError, TrackingError
from modelyard.tracking.manifest import MANIFEST_NAME, verify_manifest, write_manifest
from modelyard.tracking.probe import ProbedVersion, RegistrySnapshot


@dataclass
class MemoryRun:
    """One run: what was logged to it, and how it ended."""

    run_id: str
    name: str
    parent: str | None
    artifact_root: Path
    params: dict[str, object] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, object] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)
    datasets: list[dict[str, str]] = field(default_factory=list)
    status: str = "RUNNING"

    def log_params(self, params: Mapping[str, object]) -> None:
        self.params.update(params)

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        self.metrics.update({key: float(value) for key, value in metrics.items()})

    def set_tags(self, tags: Mapping[str, object]) -> None:
        self.tags.update(tags)

    def log_artifacts(self, folder: Path, artifact_path: str) -> None:
        """Copy ``folder``, with its manifest (written when missing, verified otherwise)."""
        if not (folder / MANIFEST_NAME).exists():
            write_manifest(folder)
        verify_manifest(folder)
        target = self.artifact_root / self.run_id / artifact_path
        shutil.copytree(folder, target, dirs_exist_ok=True)
        self.artifacts[artifact_path] = target

    def log_dataset(self, *, name: str, digest: str, source: str) -> None:
        self.datasets.append({"name": name, "digest": digest, "source": source})


class MemoryTracker:
    """Runs of one experiment, kept in a list; artifacts are copied under ``artifact_root``."""

    def __init__(self, artifact_root: Path) -> None:
        self.artifact_root = artifact_root
        self.runs: list[MemoryRun] = []
        self._active: list[str] = []
        self._ids = itertools.count(1)

    @contextlib.contextmanager
    def start_run(
        self, name: str, *, tags: Mapping[str, object] | None = None, nested: bool = False
    ) -> Iterator[MemoryRun]:
        """Open a run for the block: FINISHED when it exits, FAILED when it raises."""
        if self._active and not nested:
            raise TrackingError(f"Run {self._active[-1]!r} is still open; pass nested=True.")
        if nested and not self._active:
            raise TrackingError(f"nested=True for run {name!r}, but no run is open.")
        run = MemoryRun(
            run_id=f"run{next(self._ids)}",
            name=name,
            parent=self._active[-1] if nested else None,
            artifact_root=self.artifact_root,
            tags=dict(tags or {}),
        )
        self.runs.append(run)
        self._active.append(run.run_id)
        try:
            yield run
        except BaseException:
            run.status = "FAILED"
            raise
        else:
            run.status = "FINISHED"
        finally:
            self._active.remove(run.run_id)

    def run(self, run_id: str) -> MemoryRun:
        return next(run for run in self.runs if run.run_id == run_id)


@dataclass
class MemoryVersion:
    """One registered version: the run folder it was made from, its tags and description."""

    name: str
    version: int
    run_id: str | None
    files: Path
    tags: dict[str, str]
    description: str | None


class MemoryRegistry:
    """Versions and aliases in dicts; a version's files are its run's logged artifact folder."""

    def __init__(self, tracker: MemoryTracker) -> None:
        self.tracker = tracker
        self.versions: dict[str, list[MemoryVersion]] = {}
        self.aliases: dict[tuple[str, str], int] = {}
        self._numbers: dict[str, itertools.count[int]] = {}

    def register(
        self,
        name: str,
        *,
        run_id: str,
        artifact_path: str = "model",
        tags: Mapping[str, object] | None = None,
        description: str | None = None,
    ) -> int:
        files = self.tracker.run(run_id).artifacts.get(artifact_path)
        if files is None:
            raise RegistryError(f"Run {run_id!r} logged no {artifact_path!r} folder to register.")
        versions = self.versions.setdefault(name, [])
        numbers = self._numbers.setdefault(name, itertools.count(1))  # never reused, as MLflow's
        version = MemoryVersion(
            name=name,
            version=next(numbers),
            run_id=run_id,
            files=files,
            tags={key: str(value) for key, value in (tags or {}).items()},
            description=description,
        )
        versions.append(version)
        return version.version

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.version(name, version)
        self.aliases[(name, alias)] = version

    def delete_alias(self, name: str, alias: str) -> None:
        if (name, alias) not in self.aliases:
            raise ModelNotFoundError(name, ref=alias, known=self.versions)
        del self.aliases[(name, alias)]

    def get_alias(self, name: str, alias: str) -> int | None:
        if name not in self.versions:
            raise ModelNotFoundError(name, known=self.versions)
        return self.aliases.get((name, alias))

    def version(self, name: str, version: int) -> MemoryVersion:
        for found in self.versions.get(name, []):
            if found.version == version:
                return found
        raise ModelNotFoundError(name, ref=f"version {version}", known=self.versions)

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, object]) -> None:
        self.version(name, version).tags.update({key: str(value) for key, value in tags.items()})

    def download(self, name: str, version: int, dest: Path) -> Path:
        verify_manifest(self.version(name, version).files)
        shutil.copytree(self.version(name, version).files, dest)
        return dest

    def forget(self, name: str, version: int) -> None:
        """Drop a version and the aliases that point at it, as deleting it in MLflow would."""
        self.versions[name] = [v for v in self.versions[name] if v.version != version]
        self.aliases = {key: v for key, v in self.aliases.items() if key[0] != name or v != version}


class MemoryRegistryProbe:
    """The registry probe (``ports.RegistryProbe``) over a ``MemoryRegistry``.

    ``available = False`` stands for a store the probe cannot read (not SQLite, say).
    """

    def __init__(self, registry: MemoryRegistry) -> None:
        self.registry = registry
        self.available = True
        self.reads = 0

    def read(self, name: str) -> RegistrySnapshot | None:
        self.reads += 1
        if not self.available or name not in self.registry.versions:
            return None
        return RegistrySnapshot(
            name=name,
            aliases={
                alias: v for (model, alias), v in self.registry.aliases.items() if model == name
            },
            versions={
                v.version: ProbedVersion(v.run_id, "READY", dict(v.tags))
                for v in self.registry.versions[name]
            },
        )
