"""Fixtures for the tracking tests: one real SQLite MLflow store per module, small fitted models."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard.tracking.mlflow_store import Tracker


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A SQLite tracking URI and its artifact root, shared by a module (creating one takes ~2 s)."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}", root / "artifacts"


@pytest.fixture
def tracker(store: tuple[str, Path]) -> Tracker:
    """A tracker on a fresh experiment of the shared store."""
    uri, artifacts = store
    return Tracker(uri, experiment=f"exp-{uuid.uuid4().hex[:8]}", artifact_root=artifacts)


@pytest.fixture
def frame(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A small mixed-type frame and a binary target."""
    rng = np.random.default_rng(seed)
    n = 200
    data = pd.DataFrame(
        {
            "distance": rng.normal(1000, 300, n),
            "hour": rng.integers(5, 23, n).astype(float),
            "carrier": rng.choice(["AA", "UA", "DL"], n),
            "origin": rng.choice(["JFK", "LGA", "EWR"], n),
        }
    )
    data.loc[::9, "distance"] = np.nan
    target = (data["hour"] + rng.normal(0, 3, n) > 14).astype(int).to_numpy()
    return data, target
