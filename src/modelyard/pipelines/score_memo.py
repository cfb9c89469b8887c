"""Remember a registered version's metrics on a test split, so a champion is scored once.

Scoring version V of a model on a test split is deterministic given V's files, the split and the
scoring code: a version's files never change once registered (they are checked against their
manifest on every download), and its identity (run id and registration token, see
``tracking.probe.version_identity``) tells it apart from a later version that reuses its name
and number. A memo is keyed by all of these, the task and target, the scoring code's version
(``code_version``) and the versions of the libraries that load and run a model, so a change to
any of them scores again. ``reuse=False`` (``modelyard train --no-cache``) scores again anyway
and remembers the new result.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "skops")
"""Installed versions of these are part of a memo's key: they load a version and compute its
predictions."""


@dataclass(frozen=True, slots=True)
class ScoreMemo:
    """Metrics of registered versions, one small JSON file per key under ``folder``."""

    folder: Path
    reuse: bool = True

    @staticmethod
    def key(
        *,
        model: str,
        version: int,
        identity: Mapping[str, str],
        test_digest: str,
        task: str,
        target: str,
        code: str,
    ) -> str:
        """The memo key of scoring ``version`` of ``model`` (see the module docstring)."""
        payload = {
            "model": model,
            "version": version,
            "identity": dict(sorted(identity.items())),
            "test": test_digest,
            "task": task,
            "target": target,
            "code": code,
            "libraries": {name: _installed(name) for name in LIBRARIES},
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, key: str) -> dict[str, float] | None:
        """The metrics remembered under ``key``, or None (always None unless ``reuse``)."""
        if not self.reuse:
            return None
        try:
            recorded = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            metrics = recorded["metrics"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if recorded.get("key") != key or not isinstance(metrics, dict):
            return None
        return {str(name): float(value) for name, value in metrics.items()}

    def put(self, key: str, metrics: Mapping[str, float]) -> None:
        """Remember ``metrics`` under ``key`` (written whole, then moved into place)."""
        values = {name: float(value) for name, value in metrics.items()}
        if not all(math.isfinite(value) for value in values.values()):
            return  # a NaN metric says scoring went wrong: score again next time
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{key}.", dir=self.folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump({"key": key, "metrics": values}, file, indent=2)
            os.replace(temporary, self.folder / f"{key}.json")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _installed(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "none"
