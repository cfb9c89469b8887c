"""Lineage tags for a run: what code, config, data and libraries produced it."""

from __future__ import annotations

import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

UNKNOWN = "unknown"
PACKAGES = ("scikit-learn", "lightgbm", "pandas", "mlflow", "modelyard")
_GIT_TIMEOUT_S = 10


def lineage_tags(*, config_hash: str, data_digest: str, project_root: Path) -> dict[str, str]:
    """Return the tags that record a run's lineage.

    Keys: ``modelyard.config_hash``, ``modelyard.data_digest``, ``modelyard.git.commit``,
    ``modelyard.git.dirty`` (``true``, ``false`` or ``unknown``), ``mlflow.source.git.commit``
    (so MLflow's UI shows the commit), and ``modelyard.version.<package>`` for Python and each
    of scikit-learn, LightGBM, pandas, MLflow and modelyard.
    """
    commit, dirty = git_state(project_root)
    tags = {
        "modelyard.config_hash": config_hash,
        "modelyard.data_digest": data_digest,
        "modelyard.git.commit": commit,
        "modelyard.git.dirty": dirty,
        "modelyard.version.python": platform.python_version(),
    }
    if commit != UNKNOWN:
        tags["mlflow.source.git.commit"] = commit
    for package in PACKAGES:
        tags[f"modelyard.version.{package}"] = package_version(package)
    return tags


def git_state(project_root: Path) -> tuple[str, str]:
    """Return the commit at HEAD and whether tracked files changed, or ``unknown`` for both."""
    commit = _git(project_root, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return UNKNOWN, UNKNOWN
    changes = _git(project_root, "status", "--porcelain", "--untracked-files=no")
    dirty = UNKNOWN if changes is None else ("true" if changes else "false")
    return commit, dirty


def package_version(distribution: str) -> str:
    """Return the installed version of ``distribution``, or ``unknown``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def _git(project_root: Path, *args: str) -> str | None:
    executable = shutil.which("git")
    if executable is None:
        return None
    try:
        done = subprocess.run(  # a fixed argv, no shell (SR-7)
            [executable, "-C", str(project_root), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
