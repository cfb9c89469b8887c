"""`modelyard train` on the real flights data: register, gate, card, cache, refuse, resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelyard.models.onnx import PARITY_ROWS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAST = "params: {n_estimators: 40, learning_rate: 0.1, num_leaves: 31}"
WORSE = "params: {n_estimators: 2, num_leaves: 4}"
SLOW = "params: {n_estimators: 3000, learning_rate: 0.01, num_leaves: 255}"


def modelyard(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def set_params(project: Path, params: str) -> None:
    config = project / "modelyard.yaml"
    text = config.read_text()
    start = text.index("  params:")
    end = text.index("\n", start)
    config.write_text(text[:start] + "  " + params + text[end:])


def train_json(project: Path, *args: str) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    result = modelyard("train", "--json", *args, cwd=project)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout), elapsed


def runs_by_status(project: Path) -> dict[str, int]:
    runs = json.loads(modelyard("runs", "list", "--json", "--limit", "1000", cwd=project).stdout)
    counts: dict[str, int] = {}
    for run in runs:
        counts[run["status"]] = counts.get(run["status"], 0) + 1
    return counts


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> dict[str, Any]:
    """A flights project trained once, again with nothing changed, then with its card removed."""
    project = tmp_path_factory.mktemp("trained") / "flights"
    shutil.copytree(flights_template, project)
    set_params(project, FAST)
    first, first_s = train_json(project)
    second, second_s = train_json(project)
    shutil.rmtree(Path(first["card"][0]).parent)
    third, _ = train_json(project)
    return {
        "project": project, "first": first, "second": second, "third": third,
        "times": (first_s, second_s),
    }  # fmt: skip


def test_first_run_registers_version_1_as_champion(trained: dict[str, Any]) -> None:
    first = trained["first"]
    assert (first["version"], first["alias"], first["promoted"]) == (1, "champion", True)
    assert first["metrics"]["test"]["roc_auc"] > 0.6
    assert first["gates"]["passed"]


def test_version_carries_manifest_onnx_parity_plots_and_card(trained: dict[str, Any]) -> None:
    project, first = trained["project"], trained["first"]
    assert first["onnx"]["parity"] is not None
    assert first["onnx"]["parity"] <= 1e-5
    assert first["onnx"]["rows"] == PARITY_ROWS  # a seeded sample of the ~49k test rows
    shown = json.loads(modelyard("models", "show", "1", "--json", cwd=project).stdout)
    assert shown["aliases"] == ["champion"]
    assert float(shown["tags"]["modelyard.onnx_parity"]) <= 1e-5
    source = Path(shown["source"].removeprefix("file://"))
    manifest = json.loads((source / "MANIFEST.sha256.json").read_text())
    listed = json.dumps(manifest)
    for name in ("model.skops", "model.onnx", "metrics.json", "features.json", "plots/roc.png"):
        assert name in listed
    md, html = (Path(p) for p in first["card"])
    assert md.is_file()
    page = html.read_text()
    assert "data:image/png;base64," in page
    assert "http://" not in page
    assert "https://" not in page
    card = md.read_text()
    for section in ("Intended use", "Training data", "Metrics", "Gates", "Lineage", "Limitations"):
        assert section.lower() in card.lower()


def test_unchanged_second_run_is_served_from_cache(trained: dict[str, Any]) -> None:
    first, second = trained["first"], trained["second"]
    assert [step["name"] for step in second["steps"] if not step["cached"]] == []
    assert second["reused"]  # the registry is as the first run left it: no run opened
    assert (second["version"], second["alias"], second["promoted"]) == (1, "champion", False)
    assert (second["gates"], second["card"]) == (first["gates"], first["card"])
    assert second["run_id"] == first["run_id"]
    first_s, second_s = trained["times"]
    print(f"first run {first_s:.1f}s, cached run {second_s:.1f}s ({second_s / first_s:.0%})")
    assert second_s < first_s


def test_a_removed_card_is_gated_and_written_again_in_a_new_run(trained: dict[str, Any]) -> None:
    first, third = trained["first"], trained["third"]
    assert [step["name"] for step in third["steps"] if not step["cached"]] == ["gate", "card"]
    assert not third["reused"]
    assert third["run_id"] != first["run_id"]
    assert Path(third["card"][0]).is_file()


def test_runs_are_listed_and_compared(trained: dict[str, Any]) -> None:
    project = trained["project"]
    runs = json.loads(modelyard("runs", "list", "--json", cwd=project).stdout)
    train_runs = [run for run in runs if run["name"] == "train"]
    assert len(train_runs) == 2
    assert {run["status"] for run in train_runs} == {"FINISHED"}
    tags = train_runs[0]["tags"]
    for key in ("modelyard.config_hash", "modelyard.data_digest", "modelyard.git.commit"):
        assert key in tags, sorted(tags)
    compared = modelyard(
        "runs", "compare", runs[0]["run_id"], runs[1]["run_id"], "--json", cwd=project
    )
    rows = json.loads(compared.stdout)["rows"]
    assert any(row["key"] == "test_roc_auc" and row["same"] for row in rows)


def test_worse_model_stays_challenger_and_promotion_is_gated(
    tmp_path: Path, flights_template: Path
) -> None:
    project = tmp_path / "flights"
    shutil.copytree(flights_template, project)
    set_params(project, FAST)
    train_json(project)
    set_params(project, WORSE)
    result = modelyard("train", cwd=project)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "version 2 registered as challenger, not promoted" in out
    assert "roc_auc" in out
    assert "(short by" in out or "(worse by" in out
    assert "Champion stays version 1" in out

    refused = modelyard("models", "promote", "2", cwd=project)
    assert refused.returncode == 1
    assert "Refusing to make version 2" in " ".join(refused.stderr.split())
    forced = modelyard(
        "models", "promote", "2", "--force", "--reason", "test override", "--by", "ci", cwd=project
    )
    assert forced.returncode == 0, forced.stderr
    tags = json.loads(modelyard("models", "show", "2", "--json", cwd=project).stdout)["tags"]
    assert tags["modelyard.champion_by"] == "ci"
    assert tags["modelyard.champion_reason"] == "test override"
    assert tags["modelyard.champion_forced"] == "True"
    back = modelyard("models", "rollback", "--reason", "bad idea", cwd=project)
    assert back.returncode == 0, back.stderr
    shown = json.loads(modelyard("models", "show", "--json", cwd=project).stdout)
    assert shown["version"] == 1


def test_contract_failure_stops_before_fitting(tmp_path: Path, flights_template: Path) -> None:
    project = tmp_path / "flights"
    shutil.copytree(flights_template, project)
    raw = project / "data/raw/flights.parquet"
    flights = pd.read_parquet(raw)
    flights.loc[flights.index[:10], "origin"] = "XXX"
    flights.to_parquet(raw)
    result = modelyard("train", cwd=project)
    assert result.returncode == 1
    err = " ".join(result.stderr.split())
    assert "breaks its contract" in err
    assert "origin" in err
    assert "allowed" in err
    assert "Traceback" not in result.stderr
    listed = modelyard("models", "list", cwd=project)
    assert listed.returncode == 1
    assert "No registered model 'flights-delay'" in " ".join(listed.stderr.split())
    assert not list((project / ".modelyard/cache").glob("fit/*"))
    assert runs_by_status(project) == {"FAILED": 1}


def test_kill_9_during_fit_then_train_resumes(tmp_path: Path, flights_template: Path) -> None:
    project = tmp_path / "flights"
    shutil.copytree(flights_template, project)
    set_params(project, SLOW)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelyard", "train"], cwd=project, env=environ,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        fit_dir = project / ".modelyard/cache/fit"
        deadline = time.monotonic() + 120
        while not (fit_dir.is_dir() and any(fit_dir.iterdir())):
            assert proc.poll() is None, "train ended before fitting"
            assert time.monotonic() < deadline, "fitting never started"
            time.sleep(0.2)
        time.sleep(2.0)  # well inside a fit of 3000 trees
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert runs_by_status(project) == {"KILLED": 1}  # the reaper found the dead owner
    set_params(project, FAST)
    resumed, _ = train_json(project)
    cached = {step["name"] for step in resumed["steps"] if step["cached"]}
    assert {"ingest", "split"} <= cached
    assert resumed["version"] == 1  # the killed run left no half-made version
    assert runs_by_status(project) == {"KILLED": 1, "FINISHED": 1}
    db = project / ".modelyard/mlflow.db"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
