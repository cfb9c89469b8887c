"""Where served versions come from: the registry, through a verified copy in the project store.

A version is downloaded once into ``<store>/serving/<name>/v<version>`` (verified against its
manifest by ``Registry.download``) and verified again each time it is loaded. A cached copy that
no longer verifies is discarded and downloaded again; a registry copy that does not verify is
refused (``ArtifactIntegrityError``).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.errors import ArtifactIntegrityError, ModelNotFoundError
from modelyard.serving.model import ServedModel, load_served_model
from modelyard.tracking.refs import ModelRef

if TYPE_CHECKING:
    from modelyard.tracking.registry import Registry

log = logging.getLogger("modelyard.serving")


class RegistrySource:
    """Resolve, download and load versions of one registered model.

    Every method does blocking I/O; the server calls them from a worker thread.

    Args:
        registry: The registry to read.
        ref: The model and the alias (or fixed version) to serve.
        store: The project store; versions are cached under ``store/serving``.
        max_rows: The batch cap the loaded model's request validator enforces.
    """

    def __init__(self, registry: Registry, ref: ModelRef, store: Path, *, max_rows: int) -> None:
        self.registry, self.ref, self.max_rows = registry, ref, max_rows
        self.folder = Path(store) / "serving" / ref.name

    def target(self) -> int:
        """Return the version the reference points at now.

        Raises:
            ModelNotFoundError: The model, alias or version does not exist.
        """
        if self.ref.version is not None:
            self.registry.version(self.ref.name, self.ref.version)
            return self.ref.version
        alias = self.ref.alias or "champion"
        version = self.registry.get_alias(self.ref.name, alias)
        if version is None:
            error = ModelNotFoundError(self.ref.name, ref=alias)
            error.args = (
                f"Registered model {self.ref.name!r} has no alias {alias!r}. Promote a version "
                f"with `modelyard models promote VERSION --alias {alias}`, or serve a fixed "
                f"one with --model {self.ref.name}/VERSION.",
            )
            raise error
        return version

    def fetch(self, version: int) -> Path:
        """Return a verified local copy of ``version``, downloading it when needed."""
        from modelyard.tracking.manifest import verify_manifest

        dest = self.folder / f"v{version}"
        if dest.is_dir():
            try:
                verify_manifest(dest)
                return dest
            except ArtifactIntegrityError as error:
                log.warning(
                    "cached copy of version %s failed verification (%s); downloading it again",
                    version,
                    error,
                )
                shutil.rmtree(dest)
        staging = self.folder / f".v{version}-{uuid.uuid4().hex[:12]}"
        self.registry.download(self.ref.name, version, staging)
        try:
            staging.rename(dest)
        except OSError:  # another worker process got there first; its copy is verified at load
            shutil.rmtree(staging, ignore_errors=True)
        return dest

    def load(self, version: int) -> ServedModel:
        """Fetch, verify, load and warm ``version``."""
        folder = self.fetch(version)
        info = self.registry.version(self.ref.name, version)
        return load_served_model(
            folder,
            name=self.ref.name,
            version=version,
            alias=self.ref.alias,
            tags=info.tags,
            max_rows=self.max_rows,
        )
