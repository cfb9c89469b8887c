"""`modelyard train` with PostgreSQL as MLflow's backend store, eight processes at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 8


@pytest.fixture
def pg_project(
    tmp_path: Path, flights_template: Path, postgres_url: str, scratch_databases: Any
) -> Path:
    """A small flights project whose tracking store is a scratch PostgreSQL database."""
    project = tmp_path / "flights"
    shutil.copytree(flights_template, project)
    flights = pd.read_parquet(project / "data/raw/flights.parquet")
    flights.iloc[:20_000].to_parquet(project / "data/raw/small.parquet", index=False)
    config = project / "modelyard.yaml"
    text = config.read_text()
    text = text.replace("data/raw/flights.parquet", "data/raw/small.parquet")
    text = text.replace("roc_auc: {min: 0.60}", "roc_auc: {min: 0.50}")
    start = text.index("  params:")
    text = (
        text[:start]
        + "  params: {n_estimators: 20, num_leaves: 15}"
        + text[text.index("\n", start) :]
    )
    text = text.replace(
        "tracking_uri: sqlite:///.modelyard/mlflow.db",
        f"tracking_uri: {scratch_databases.get(postgres_url)}",
    )
    config.write_text(text)
    return project


def cli(project: Path, *args: str, seed: int | None = None) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    if seed is not None:
        environ["MODELYARD__MODEL__SEED"] = str(seed)
    return subprocess.Popen(
        [sys.executable, "-m", "modelyard", *args], cwd=project, env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_eight_concurrent_trains_leave_versions_1_to_8(pg_project: Path) -> None:
    procs = [cli(pg_project, "train", "--json", seed=seed) for seed in range(PROCESSES)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out))
    assert sorted(result["version"] for result in results) == list(range(1, PROCESSES + 1))

    show = cli(pg_project, "models", "list", "--json")
    versions = json.loads(show.communicate(timeout=120)[0])
    assert [v["version"] for v in versions] == list(range(1, PROCESSES + 1))
    champions = [v for v in versions if "champion" in v["aliases"]]
    assert len(champions) == 1
    assert champions[0]["tags"]["modelyard.gates"] == "passed"

    runs = json.loads(
        cli(pg_project, "runs", "list", "--json", "--limit", "100").communicate(timeout=120)[0]
    )
    assert {run["status"] for run in runs} == {"FINISHED"}
    assert len(runs) == PROCESSES
