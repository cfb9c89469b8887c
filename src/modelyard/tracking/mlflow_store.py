"""Runs in MLflow: params, metrics, artifacts, datasets, lineage, and a reaper for dead runs.

Every run records the process that owns it (``modelyard.pid``, ``modelyard.host`` and the
process start time). A run whose process died without ending it (``kill -9``, power loss) is
marked KILLED by ``Tracker.reap_stale_runs``, which runs on the tracker's first use, so no run
stays RUNNING forever.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.errors import TrackingError
from modelyard.tracking import _backend, _process
from modelyard.tracking._names import check_name
from modelyard.tracking.lineage import lineage_tags
from modelyard.tracking.runs import (
    MAX_PARAM_LENGTH,
    MAX_TAG_LENGTH,
    RunHandle,
    RunRecord,
    clean_text,
    record_of,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "MAX_PARAM_LENGTH",
    "MAX_TAG_LENGTH",
    "RunHandle",
    "RunRecord",
    "Tracker",
    "lineage_tags",
]
_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


class Tracker:
    """Record runs of one experiment in an MLflow tracking store.

    Args:
        tracking_uri: An MLflow tracking URI; SQLite paths must be absolute.
        experiment: The experiment name (created on first use).
        artifact_root: Where the experiment keeps artifacts, when it is created here.
    """

    def __init__(
        self, tracking_uri: str, *, experiment: str, artifact_root: Path | None = None
    ) -> None:
        self.tracking_uri = _backend.check_uri(tracking_uri)
        self.experiment = check_name(experiment, what="experiment")
        self.artifact_root = artifact_root
        self._client_: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._active: list[str] = []

    @property
    def experiment_id(self) -> str:
        """The MLflow id of the experiment, creating it on first use."""
        self._client()
        assert self._experiment_id is not None
        return self._experiment_id

    @contextlib.contextmanager
    def start_run(
        self,
        name: str,
        *,
        tags: Mapping[str, object] | None = None,
        nested: bool = False,
        parent_run_id: str | None = None,
    ) -> Iterator[RunHandle]:
        """Open a run for the block: FINISHED when it exits, FAILED when it raises.

        Args:
            name: The run name.
            tags: Extra tags for the run.
            nested: Make the run a child of the innermost run this tracker has open.
            parent_run_id: Make the run a child of this run (wins over ``nested``).
        """
        client = self._client()
        if parent_run_id is None and self._active:
            if not nested:
                raise TrackingError(
                    f"Run {self._active[-1]!r} is still open; pass nested=True to start "
                    f"{name!r} as its child, or end it first."
                )
            parent_run_id = self._active[-1]
        elif nested and parent_run_id is None:
            raise TrackingError(f"nested=True for run {name!r}, but no run is open.")
        run_tags = {key: clean_text(value, MAX_TAG_LENGTH) for key, value in (tags or {}).items()}
        run_tags.update(_process.owner_tags())
        run_tags["mlflow.user"] = _user()
        if parent_run_id is not None:
            run_tags["mlflow.parentRunId"] = parent_run_id
        with _backend.translated(self.tracking_uri, f"Starting run {name!r}"):
            run = _backend.retry(
                lambda: client.create_run(self.experiment_id, run_name=name, tags=run_tags)
            )
        handle = RunHandle(client, self.tracking_uri, run.info.run_id, name)
        self._active.append(handle.run_id)
        try:
            yield handle
        except BaseException as exc:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            with contextlib.suppress(TrackingError):  # keep the error that ended the run
                self._end(handle.run_id, status)
            raise
        else:
            self._end(handle.run_id, "FINISHED")
        finally:
            self._active.remove(handle.run_id)

    def reap_stale_runs(self) -> list[str]:
        """Mark KILLED every RUNNING run whose owning process on this host is gone.

        Returns:
            The ids of the runs marked KILLED.
        """
        return self._reap(self._client(), self.experiment_id)

    def list_runs(self, *, status: str | None = None, max_results: int = 100) -> list[RunRecord]:
        """Return the experiment's runs, newest first, optionally only those in ``status``."""
        client = self._client()
        filter_string = ""
        if status is not None:
            if status.upper() not in _STATUSES:
                raise TrackingError(
                    f"Unknown run status {status!r}; use one of {', '.join(_STATUSES)}."
                )
            filter_string = f"attributes.status = '{status.upper()}'"
        with _backend.translated(self.tracking_uri, "Listing runs"):
            runs = client.search_runs(
                [self.experiment_id],
                filter_string=filter_string,
                max_results=max_results,
                order_by=["attributes.start_time DESC"],
            )
        return [record_of(run) for run in runs]

    def get_run(self, run_id: str) -> RunRecord:
        """Return one run by id."""
        client = self._client()
        try:
            with _backend.translated(self.tracking_uri, f"Reading run {run_id!r}"):
                return record_of(client.get_run(run_id))
        except TrackingError as exc:
            if _backend.is_not_found(exc.__cause__ or exc):
                raise TrackingError(
                    f"No run {run_id!r} in the tracking store "
                    f"{_backend.mask(self.tracking_uri)!r}. `modelyard runs` lists the runs."
                ) from exc
            raise

    def _client(self) -> MlflowClient:
        if self._client_ is None:
            client = _backend.open_client(self.tracking_uri)
            experiment_id = self._ensure_experiment(client)
            self._client_, self._experiment_id = client, experiment_id
            self._reap(client, experiment_id)
        return self._client_

    def _experiment_location(self) -> str | None:
        """Where a new experiment's artifacts go; None lets a tracking server decide.

        A tracking server (http/https) proxies artifacts to its own store, which every client
        can reach; a local folder would only exist on the machine that created the experiment.
        """
        if _backend.scheme_of(self.tracking_uri) in ("http", "https"):
            return None
        return (self._artifact_root() / self.experiment).as_uri()

    def _artifact_root(self) -> Path:
        """Where a new experiment keeps artifacts: as given, else beside a SQLite store.

        MLflow's own default is ``./mlruns`` in whatever folder the process runs in, which
        scatters artifacts; modelyard never uses it.
        """
        if self.artifact_root is not None:
            return Path(self.artifact_root).resolve()
        if _backend.scheme_of(self.tracking_uri) == "sqlite":
            return _backend.sqlite_path(self.tracking_uri).parent / "artifacts"
        raise TrackingError(
            f"Creating experiment {self.experiment!r} in "
            f"{_backend.mask(self.tracking_uri)!r} needs an artifact root. Set stores.artifacts "
            "in modelyard.yaml (a folder or an s3:// URI)."
        )

    def _ensure_experiment(self, client: MlflowClient) -> str:
        with _backend.translated(self.tracking_uri, f"Opening experiment {self.experiment!r}"):
            found = client.get_experiment_by_name(self.experiment)
            if found is None:
                location = self._experiment_location()
                try:
                    return str(
                        _backend.retry(
                            lambda: client.create_experiment(
                                self.experiment, artifact_location=location
                            )
                        )
                    )
                except Exception as exc:
                    if not _backend.is_already_exists(exc):
                        raise
                found = client.get_experiment_by_name(self.experiment)
        if found is None:
            raise TrackingError(f"Experiment {self.experiment!r} vanished while it was created.")
        if found.lifecycle_stage != "active":
            raise TrackingError(
                f"Experiment {self.experiment!r} is deleted in "
                f"{_backend.mask(self.tracking_uri)!r}. Restore it "
                "(mlflow experiments restore) or choose another experiment name."
            )
        return str(found.experiment_id)

    def _reap(self, client: MlflowClient, experiment_id: str) -> list[str]:
        host = socket.gethostname()
        query = f"attributes.status = 'RUNNING' and tags.`{_process.HOST_TAG}` = '{host}'"
        reaped: list[str] = []
        with _backend.translated(self.tracking_uri, "Reaping stale runs"):
            page_token = None
            while True:
                page = client.search_runs(
                    [experiment_id], query, max_results=1000, page_token=page_token
                )
                for run in page:
                    if run.info.run_id in self._active or _process.owner_alive(run.data.tags):
                        continue
                    if client.get_run(run.info.run_id).info.status != "RUNNING":
                        continue
                    run_id = str(run.info.run_id)
                    client.set_tag(run_id, "modelyard.reaped_by", _process.me())
                    _backend.retry(functools.partial(client.set_terminated, run_id, "KILLED"))
                    reaped.append(run_id)
                page_token = page.token
                if not page_token:
                    return reaped

    def _end(self, run_id: str, status: str) -> None:
        client = self._client()
        with _backend.translated(self.tracking_uri, f"Ending run {run_id!r}"):
            _backend.retry(lambda: client.set_terminated(run_id, status))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"
