"""`modelyard train --search`: trials as nested MLflow runs, best refit on train+valid, seeded."""

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

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEARCH = """\
  params: {n_estimators: 15}
  search:
    trials: 4
    timeout_s: 120
    space:
      num_leaves: {int: [4, 64], log: true}
      learning_rate: {float: [0.03, 0.3], log: true}
"""


def modelyard(project: Path, *args: str) -> dict[str, Any] | list[Any]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    result = subprocess.run(
        [sys.executable, "-m", "modelyard", *args, "--json"],
        cwd=project, env=environ, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def small_project(tmp_path: Path, flights_template: Path) -> Path:
    project = tmp_path / "flights"
    shutil.copytree(flights_template, project)
    flights = pd.read_parquet(project / "data/raw/flights.parquet")
    flights.iloc[:30_000].to_parquet(project / "data/raw/small.parquet", index=False)
    config = project / "modelyard.yaml"
    text = config.read_text().replace("data/raw/flights.parquet", "data/raw/small.parquet")
    text = text.replace("roc_auc: {min: 0.60}", "roc_auc: {min: 0.50}")
    start = text.index("  params:")
    end = text.index("\nevaluation:")
    config.write_text(text[:start] + SEARCH + text[end:])
    return project


def test_search_logs_trials_and_refits_the_best_on_train_and_valid(small_project: Path) -> None:
    result = modelyard(small_project, "train", "--search")
    assert isinstance(result, dict)
    names = [step["name"] for step in result["steps"]]
    assert names.index("search") < names.index("fit")
    runs = modelyard(small_project, "runs", "list")
    assert isinstance(runs, list)
    trials = [run for run in runs if run["name"].startswith("trial-")]
    parent = next(run for run in runs if run["name"] == "train")
    assert len(trials) == 4
    assert {run["parent_run_id"] for run in trials} == {parent["run_id"]}
    completed = [run for run in trials if run["tags"]["modelyard.trial_state"] == "complete"]
    assert completed
    assert all("num_leaves" in run["params"] for run in trials)
    fit = json.loads(next((small_project / ".modelyard/cache/fit").glob("*/fit.json")).read_text())
    assert fit["refit_on_valid"] is True
    assert (
        fit["rows"] == 30_000 - result["metrics"]["test_rows"]
        if "test_rows" in result["metrics"]
        else fit["rows"] > 21_000
    )
    best = max(completed, key=lambda run: run["metrics"]["roc_auc"])
    assert int(fit["params"]["num_leaves"]) == int(best["params"]["num_leaves"])
    assert "valid" not in result["metrics"]  # the refit saw the validation rows


def test_same_seed_same_metrics(small_project: Path) -> None:
    first = modelyard(small_project, "train", "--search", "--no-cache")
    second = modelyard(small_project, "train", "--search", "--no-cache")
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["metrics"] == second["metrics"]
    assert second["version"] == first["version"] + 1  # a new run, registered again
