"""A cheap, read-only look at one registered model's aliases and versions, without MLflow.

``modelyard train`` asks, before it opens a tracking run, whether the registry is still as the
last training left it; if so, nothing needs MLflow at all. Importing MLflow and opening its store
costs seconds, so for a SQLite tracking URI this module reads MLflow's registry tables with the
standard library's ``sqlite3``, in read-only mode. It answers only when it is sure it reads what
MLflow would: a SQLite URI, a schema revision it knows, no MLflow workspaces in play. Otherwise
``read`` returns None and the caller takes the normal path through MLflow.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from modelyard.tracking._backend import sqlite_path

__all__ = ["IDENTITY_TAGS", "ProbedVersion", "RegistrySnapshot", "SqliteRegistryProbe",
           "open_probe", "version_identity"]  # fmt: skip

IDENTITY_TAGS = ("modelyard.artifact_path", "modelyard.register_token")
"""Tags ``Registry.register`` sets once per version (the token is a fresh UUID each time)."""

KNOWN_REVISIONS = frozenset({"dc11669786a5"})
"""MLflow schema revisions (``alembic_version``) whose registry tables this module reads.

A newer MLflow may change them; the probe then steps aside until this set is updated (a test
against a freshly created store fails first)."""

_DELETED = "Deleted_Internal"  # MLflow soft-deletes a version by moving it to this stage
_WORKSPACE = "default"
_WORKSPACE_VARIABLES = (
    "MLFLOW_ENABLE_WORKSPACES",
    "MLFLOW_WORKSPACE",
    "MLFLOW_WORKSPACE_STORE_URI",
)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbedVersion:
    """One live version: the run it was made from, its status, and its identity tags."""

    run_id: str | None
    status: str
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """A registered model's aliases and live (not deleted) versions, read at one moment."""

    name: str
    aliases: Mapping[str, int]
    versions: Mapping[int, ProbedVersion]

    def identity(self, version: int) -> dict[str, str] | None:
        """``version``'s identity when it is live and READY; None otherwise."""
        found = self.versions.get(version)
        if found is None or found.status != "READY":
            return None
        return version_identity(found.run_id, found.tags)


def version_identity(run_id: str | None, tags: Mapping[str, str]) -> dict[str, str]:
    """What tells one registration apart from any other, even under the same name and number.

    A deleted and re-created model numbers its versions from 1 again; the run id and the
    registration token of the new version 1 differ from the old one's.
    """
    return {"run_id": run_id or "", **{key: tags[key] for key in IDENTITY_TAGS if key in tags}}


class SqliteRegistryProbe:
    """Read a model's aliases and versions from an MLflow SQLite store, read-only.

    Args:
        database: The store's file (the path of a ``sqlite:///`` tracking URI).
    """

    def __init__(self, database: Path) -> None:
        self.database = database

    def read(self, name: str) -> RegistrySnapshot | None:
        """Return ``name``'s aliases and live versions, or None when unsure (see the module)."""
        if any(os.environ.get(variable) for variable in _WORKSPACE_VARIABLES):
            return None
        if not self.database.is_file():
            return None
        uri = f"file:{quote(str(self.database))}?mode=ro"
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=2.0)) as connection:
                return _read(connection, name)
        except (sqlite3.Error, ValueError, TypeError) as exc:  # unreadable, or not as expected
            log.debug("registry probe of %s failed: %s", self.database, exc)
            return None


def open_probe(tracking_uri: str) -> SqliteRegistryProbe | None:
    """A probe for a ``sqlite:///`` tracking URI; None for any other store."""
    if not tracking_uri.startswith("sqlite:///") or "?" in tracking_uri:
        return None
    path = sqlite_path(tracking_uri)
    return SqliteRegistryProbe(path) if path.is_absolute() else None


def _read(connection: sqlite3.Connection, name: str) -> RegistrySnapshot | None:
    revisions = {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    if len(revisions) != 1 or not revisions <= KNOWN_REVISIONS:
        return None
    connection.execute("BEGIN")  # one consistent read across the three tables
    models = connection.execute(
        "SELECT workspace FROM registered_models WHERE name = ?", (name,)
    ).fetchall()
    if [row[0] for row in models] != [_WORKSPACE]:
        return None
    aliases = {
        str(alias): int(version)
        for alias, version in connection.execute(
            "SELECT alias, version FROM registered_model_aliases WHERE name = ? AND workspace = ?",
            (name, _WORKSPACE),
        )
    }
    tags: dict[int, dict[str, str]] = {}
    marks = ", ".join("?" * len(IDENTITY_TAGS))
    for version, key, value in connection.execute(
        f"SELECT version, key, value FROM model_version_tags "
        f"WHERE name = ? AND workspace = ? AND key IN ({marks})",
        (name, _WORKSPACE, *IDENTITY_TAGS),
    ):
        tags.setdefault(int(version), {})[str(key)] = str(value)
    versions = {
        int(version): ProbedVersion(run_id or None, str(status), tags.get(int(version), {}))
        for version, run_id, status in connection.execute(
            "SELECT version, run_id, status FROM model_versions "
            "WHERE name = ? AND workspace = ? AND (current_stage IS NULL OR current_stage != ?)",
            (name, _WORKSPACE, _DELETED),
        )
    }
    connection.execute("COMMIT")
    return RegistrySnapshot(name, aliases, versions)
