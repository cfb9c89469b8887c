"""Fixtures of the pipeline tests: a tiny project with in-memory tracking and registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from .toy import Toy, make_toy


@pytest.fixture
def toy(tmp_path: Path, seed: int) -> Toy:
    """A fresh tiny project with an empty cache, tracker and registry."""
    return make_toy(tmp_path / "toy", seed)
