"""`modelyard init`: a new project passes its own tests and trains a champion, untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "PYTEST_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def modelyard(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd, env=environ(), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def make(target: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", target, f"PYTHON={sys.executable}"],
        cwd=cwd, env=environ(), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def train_json(project: Path) -> dict[str, Any]:
    result = modelyard("train", "--json", cwd=project)
    assert result.returncode == 0, result.stderr[-3000:]
    trained: dict[str, Any] = json.loads(result.stdout)
    return trained


def write_unseen_csv(path: Path, seed: int, rows: int = 3000) -> Path:
    """Customers with an ID, a date as text, gaps, a rare category, a flag and free text."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro", "vintage"], size=rows, p=[0.55, 0.3, 0.147, 0.003])
    tenure = rng.integers(0, 60, rows).astype(float)
    calls = rng.poisson(2, rows)
    logit = -0.5 + 1.2 * (plan == "basic") - 0.05 * tenure + 0.4 * calls
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    spend = np.round(20 + 15 * (plan == "pro") + 0.8 * tenure + rng.normal(0, 5, rows), 2)
    segment = np.select([tenure < 12, tenure < 36], ["new", "settled"], default="loyal")
    tenure[rng.random(rows) < 0.05] = np.nan
    frame = pd.DataFrame(
        {
            "account_id": rng.permutation(rows) + 100_000,
            "signup": (
                pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
            ).strftime("%Y-%m-%d"),
            "plan": plan,
            "city": rng.choice([f"city{i}" for i in range(80)], rows),
            "tenure": tenure,
            "support_calls": calls,
            "autopay": np.where(rng.random(rows) < 0.1, None, rng.random(rows) < 0.5),
            "comment": [f"called about bill {i}" for i in rng.integers(0, 2500, rows)],
            "segment": segment,
            "spend": spend,
            "churned": churned,
        }
    )
    frame.loc[rng.random(rows) < 0.05, "plan"] = None
    frame.to_csv(path, index=False)
    return path


def test_new_project_passes_its_own_tests_then_trains_a_champion(tmp_path: Path) -> None:
    created = modelyard("init", "my-proj", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "my-proj"

    before = make("test", project)
    assert before.returncode == 0, before.stdout[-3000:] + before.stderr[-2000:]
    assert "5 passed, 4 skipped" in before.stdout
    assert "no champion yet" in before.stdout
    linted = make("lint", project)
    assert linted.returncode == 0, linted.stdout[-3000:] + linted.stderr[-2000:]

    trained = train_json(project)
    assert (trained["version"], trained["alias"], trained["promoted"]) == (1, "champion", True)
    assert trained["gates"]["passed"]
    assert trained["metrics"]["test"]["roc_auc"] > 0.6
    assert trained["onnx"]["parity"] <= 1e-5

    after = make("test", project)
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr[-2000:]
    assert "9 passed" in after.stdout
    assert "skipped" not in after.stdout


@pytest.mark.parametrize(
    ("target", "task", "metric"),
    [
        pytest.param("churned", "binary_classification", "roc_auc", id="binary"),
        pytest.param("segment", "multiclass_classification", "f1_macro", id="multiclass"),
        pytest.param("spend", "regression", "r2", id="regression"),
    ],
)
def test_unseen_csv_trains_a_champion_without_editing_a_file(
    tmp_path: Path, seed: int, target: str, task: str, metric: str
) -> None:
    source = write_unseen_csv(tmp_path / "some.csv", seed)
    created = modelyard("init", "churn", "--data", "some.csv", "--target", target, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    out = " ".join(created.stdout.split())
    assert "not a feature: account_id (unique per row" in out
    assert "not a feature: comment (free text" in out
    assert "split: by time on signup" in out
    project = tmp_path / "churn"
    assert (project / "data/raw/some.parquet").is_file()
    assert source.is_file()

    trained = train_json(project)
    assert (trained["version"], trained["alias"], trained["promoted"]) == (1, "champion", True)
    assert metric in trained["metrics"]["test"]
    shown = json.loads(modelyard("models", "show", "--json", cwd=project).stdout)
    assert shown["aliases"] == ["champion"]
    config = (project / "modelyard.yaml").read_text()
    assert f"task: {task}" in config

    tested = make("test", project)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "9 passed" in tested.stdout


def test_target_that_does_not_exist_is_a_clear_error(tmp_path: Path, seed: int) -> None:
    write_unseen_csv(tmp_path / "some.csv", seed, rows=100)
    result = modelyard("init", "churn", "--data", "some.csv", "--target", "churn", cwd=tmp_path)
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "No column 'churn' in the data to use as the target. Did you mean 'churned'?" in err
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "churn").exists()


def test_flights_example_in_the_standard_layout_passes_its_tests(tmp_path: Path) -> None:
    created = modelyard("init", "delays", "--example", "flights", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "delays"
    assert (project / "docs/data_dictionaries/flights.md").is_file()
    assert (project / "data/raw/weather.parquet").is_file()
    tested = make("test", project)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "5 passed, 4 skipped" in tested.stdout
