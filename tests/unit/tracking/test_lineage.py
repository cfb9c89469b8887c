"""Lineage tags: the commit, whether the tree was dirty, config and data, library versions."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from modelyard.tracking.lineage import lineage_tags

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@needs_git
def test_commit_and_dirty_flag_come_from_git(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "modelyard.yaml").write_text("name: demo\n")
    _git(tmp_path, "add", "modelyard.yaml")
    _git(tmp_path, "commit", "-q", "-m", "init")
    head = _git(tmp_path, "rev-parse", "HEAD")

    clean = lineage_tags(config_hash="c1", data_digest="d1", project_root=tmp_path)
    (tmp_path / "modelyard.yaml").write_text("name: changed\n")
    dirty = lineage_tags(config_hash="c1", data_digest="d1", project_root=tmp_path)

    assert clean["modelyard.git.commit"] == head == clean["mlflow.source.git.commit"]
    assert (clean["modelyard.git.dirty"], dirty["modelyard.git.dirty"]) == ("false", "true")


def test_outside_git_everything_else_is_still_recorded(tmp_path: Path) -> None:
    tags = lineage_tags(config_hash="abc", data_digest="sha256:01", project_root=tmp_path)

    assert tags["modelyard.git.commit"] == tags["modelyard.git.dirty"] == "unknown"
    assert "mlflow.source.git.commit" not in tags
    assert tags["modelyard.config_hash"] == "abc"
    assert tags["modelyard.data_digest"] == "sha256:01"
    assert tags["modelyard.version.python"] == platform.python_version()
    for package in ("scikit-learn", "lightgbm", "pandas", "mlflow", "modelyard"):
        assert tags[f"modelyard.version.{package}"] not in ("", "unknown")
