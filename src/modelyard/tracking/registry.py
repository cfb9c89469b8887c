"""The model registry: versions made from verified run artifacts, and aliases (not stages).

A version is registered only from a run folder whose SHA-256 manifest verifies, and is
downloaded only into a folder that verifies again. Version numbers come from MLflow's registry
store; concurrent registrations (several processes against PostgreSQL or SQLite) are retried on
conflicts, and a retry that finds its own earlier write already committed returns it instead of
writing a second version.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from modelyard.errors import (
    ArtifactIntegrityError,
    ModelNotFoundError,
    RegistryError,
    did_you_mean,
)
from modelyard.tracking import _backend
from modelyard.tracking._names import check_name, check_relative_path
from modelyard.tracking.manifest import verify_manifest

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["Registry", "VersionInfo"]

ARTIFACT_PATH_TAG = "modelyard.artifact_path"
TOKEN_TAG = "modelyard.register_token"
_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One registered model version as a CLI shows it."""

    name: str
    version: int
    run_id: str | None
    source: str
    status: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    created: datetime
    description: str


class Registry:
    """Register, alias, list and download model versions in an MLflow model registry.

    Args:
        tracking_uri: The MLflow tracking URI that also holds the registry.
    """

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = _backend.check_uri(tracking_uri)
        self._client_: MlflowClient | None = None

    def register(
        self,
        name: str,
        *,
        run_id: str,
        artifact_path: str = "model",
        tags: Mapping[str, object] | None = None,
        description: str | None = None,
    ) -> int:
        """Create a new version of ``name`` from a run's logged artifact folder.

        The folder must verify against its manifest. The registered model is created when
        missing.

        Returns:
            The new version number.
        """
        check_name(name, what="model", error=RegistryError)
        check_relative_path(artifact_path, what="artifact path", error=RegistryError)
        if not _RUN_ID.fullmatch(run_id):
            raise RegistryError(f"Invalid run id {run_id!r}.")
        client = self._client()
        with self._translated(f"Reading run {run_id!r}"):
            run = client.get_run(run_id)
        self._verify_logged(client, run_id, artifact_path)
        token = uuid.uuid4().hex
        version_tags = {key: str(value) for key, value in (tags or {}).items()}
        version_tags |= {ARTIFACT_PATH_TAG: artifact_path, TOKEN_TAG: token}
        source = f"{run.info.artifact_uri.rstrip('/')}/{artifact_path}"
        with self._translated(f"Registering a version of {name!r}"):
            self._ensure_model(client, name)
            created = _backend.retry(
                lambda: client.create_model_version(
                    name,
                    source,
                    run_id=run_id,
                    tags=version_tags,
                    description=description,
                    await_creation_for=0,
                ),
                recover=lambda: self._find_token(client, name, run_id, token),
            )
        return int(created.version)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` of ``name`` at ``version``."""
        check_name(alias, what="alias", error=RegistryError)
        self.version(name, version)
        client = self._client()
        with self._translated(f"Setting alias {alias!r} of {name!r}"):
            _backend.retry(lambda: client.set_registered_model_alias(name, alias, str(version)))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from ``name``."""
        aliases = self.aliases(name)
        if alias not in aliases:
            self._raise_not_found(
                name,
                f"alias {alias}",
                f"No alias {alias!r} on registered model {name!r}."
                + did_you_mean(alias, aliases)
                + (f" Aliases: {', '.join(sorted(aliases))}." if aliases else " It has none."),
            )
        client = self._client()
        with self._translated(f"Deleting alias {alias!r} of {name!r}"):
            _backend.retry(lambda: client.delete_registered_model_alias(name, alias))

    def get_alias(self, name: str, alias: str) -> int | None:
        """Return the version ``alias`` points at, or None when the alias is not set."""
        return self.aliases(name).get(alias)

    def aliases(self, name: str) -> dict[str, int]:
        """Return each alias of ``name`` and the version it points at."""
        from mlflow.exceptions import MlflowException

        client = self._client()
        try:
            model = client.get_registered_model(name)
        except MlflowException as exc:
            if not _backend.is_not_found(exc):
                with self._translated(f"Reading registered model {name!r}"):
                    raise
            raise ModelNotFoundError(name, known=self.models()) from exc
        return {alias: int(version) for alias, version in (model.aliases or {}).items()}

    def version(self, name: str, version: int) -> VersionInfo:
        """Return one version of ``name``."""
        from mlflow.exceptions import MlflowException

        aliases = self.aliases(name)
        client = self._client()
        try:
            return _info(client.get_model_version(name, str(int(version))), aliases)
        except MlflowException as exc:
            if not _backend.is_not_found(exc):
                with self._translated(f"Reading version {version} of {name!r}"):
                    raise
        known = [str(info.version) for info in self.versions(name)]
        self._raise_not_found(
            name,
            f"version {version}",
            f"No version {version} of registered model {name!r}. "
            + (f"Versions: {', '.join(known[-10:])}." if known else "It has no versions yet."),
        )

    def versions(self, name: str) -> list[VersionInfo]:
        """Return every version of ``name``, oldest first."""
        aliases = self.aliases(name)
        client = self._client()
        found: list[VersionInfo] = []
        with self._translated(f"Listing versions of {name!r}"):
            token = None
            while True:
                page = client.search_model_versions(
                    f"name = '{_quoted(name)}'", max_results=_PAGE, page_token=token
                )
                found += [_info(version, aliases) for version in page]
                token = page.token
                if not token:
                    break
        return sorted(found, key=lambda info: info.version)

    def set_version_tags(self, name: str, version: int, tags: Mapping[str, object]) -> None:
        """Set tags on one version."""
        self.version(name, version)
        client = self._client()
        with self._translated(f"Tagging version {version} of {name!r}"):
            for key, value in tags.items():
                write = functools.partial(
                    client.set_model_version_tag, name, str(version), key, str(value)
                )
                _backend.retry(write)

    def download(self, name: str, version: int, dest: Path) -> Path:
        """Download a version's artifact folder to ``dest`` and verify its manifest there.

        ``dest`` must not exist or be empty. The files appear there only once verified.

        Returns:
            ``dest``.
        """
        info = self.version(name, version)
        artifact_path = info.tags.get(ARTIFACT_PATH_TAG) or ""
        if not info.run_id or not artifact_path:
            raise RegistryError(
                f"Version {version} of {name!r} was not registered by modelyard (no run or "
                f"{ARTIFACT_PATH_TAG} tag); register it again with `modelyard train`."
            )
        check_relative_path(artifact_path, what="artifact path", error=RegistryError)
        dest = Path(dest)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise RegistryError(f"Download target {str(dest)!r} exists and is not empty.")
        dest.parent.mkdir(parents=True, exist_ok=True)
        client = self._client()
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as temporary:
            with self._translated(f"Downloading version {version} of {name!r}"):
                local = client.download_artifacts(info.run_id, artifact_path, temporary)
            verify_manifest(local)
            if dest.exists():
                dest.rmdir()
            os.replace(local, dest)
        return dest

    def verify(self, name: str, version: int) -> None:
        """Download a version as serving does, check it against its manifest, and discard it.

        Promotion runs this first, so that an alias never points at files a server would
        refuse to load.

        Raises:
            ArtifactIntegrityError: A file is missing, changed or not listed, or the manifest
                is; the message names the file and the version's source.
            RegistryError: The version was not registered by modelyard, or cannot be read.
        """
        info = self.version(name, version)
        with tempfile.TemporaryDirectory(prefix="modelyard-verify-") as temporary:
            try:
                self.download(name, version, Path(temporary) / f"v{version}")
            except ArtifactIntegrityError as exc:
                # Name the registered source, not the temporary copy that is about to vanish.
                copy = re.escape(os.path.realpath(temporary))
                message = re.sub(rf"'{copy}[^']*'", repr(info.source), str(exc))
                raise ArtifactIntegrityError(
                    f"Version {version} of {name!r} fails verification: {message}"
                ) from exc

    def models(self) -> list[str]:
        """Return the names of all registered models."""
        client = self._client()
        names: list[str] = []
        with self._translated("Listing registered models"):
            token = None
            while True:
                page = client.search_registered_models(max_results=_PAGE, page_token=token)
                names += [model.name for model in page]
                token = page.token
                if not token:
                    break
        return sorted(names)

    def _client(self) -> MlflowClient:
        if self._client_ is None:
            self._client_ = _backend.open_client(self.tracking_uri)
        return self._client_

    def _translated(self, what: str) -> Any:
        return _backend.translated(self.tracking_uri, what, RegistryError)

    def _verify_logged(self, client: MlflowClient, run_id: str, artifact_path: str) -> None:
        with tempfile.TemporaryDirectory(prefix="modelyard-verify-") as temporary:
            try:
                with self._translated(f"Reading artifacts {artifact_path!r} of run {run_id!r}"):
                    local = client.download_artifacts(run_id, artifact_path, temporary)
            except (RegistryError, OSError) as exc:
                raise RegistryError(
                    f"Run {run_id!r} has no artifact folder {artifact_path!r} ({exc}). Log the "
                    "model folder with RunHandle.log_artifacts before registering it."
                ) from exc
            verify_manifest(local)

    def _ensure_model(self, client: MlflowClient, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            client.get_registered_model(name)
            return
        except MlflowException as exc:
            if not _backend.is_not_found(exc):
                raise
        try:
            _backend.retry(lambda: client.create_registered_model(name))
        except MlflowException as exc:
            if not _backend.is_already_exists(exc):  # another process created it first
                raise

    def _find_token(self, client: MlflowClient, name: str, run_id: str, token: str) -> Any:
        query = f"name = '{_quoted(name)}' and run_id = '{run_id}'"
        for version in client.search_model_versions(query, max_results=_PAGE):
            if version.tags.get(TOKEN_TAG) == token:
                return version
        return None

    def _raise_not_found(self, name: str, ref: str, message: str) -> NoReturn:
        error = ModelNotFoundError(name, ref=ref, known=self.models())
        error.args = (message,)  # a version or alias is missing, not the model
        raise error


def _info(version: Any, aliases: Mapping[str, int]) -> VersionInfo:
    number = int(version.version)
    return VersionInfo(
        name=version.name,
        version=number,
        run_id=version.run_id or None,
        source=str(version.source),
        status=str(version.status),
        aliases=tuple(sorted(alias for alias, target in aliases.items() if target == number)),
        tags=dict(version.tags or {}),
        created=datetime.fromtimestamp(version.creation_timestamp / 1000, tz=UTC),
        description=version.description or "",
    )


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
