"""`modelyard predict` on the real flights data: score, resume after kill -9 (R16), refuse."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMALL = "params: {n_estimators: 20, num_leaves: 15}"
FLIGHTS = "data/raw/flights.parquet"
SCORES = ["prediction", "proba_0", "proba_1"]


def modelyard(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}


def predict_json(project: Path, *args: str) -> dict[str, Any]:
    result = modelyard("predict", *args, "--json", cwd=project)
    assert result.returncode == 0, result.stderr[-3000:]
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> Path:
    """The flights example, trained once with a small model (version 1, the champion)."""
    root = tmp_path_factory.mktemp("predict") / "flights"
    shutil.copytree(flights_template, root)
    config = root / "modelyard.yaml"
    text = config.read_text()
    start = text.index("  params:")
    config.write_text(text[:start] + "  " + SMALL + text[text.index("\n", start) :])
    trained = modelyard("train", "--json", cwd=root, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def flights(project: Path) -> pd.DataFrame:
    return pd.read_parquet(project / FLIGHTS)


def test_predict_scores_every_flight_with_the_champion(
    project: Path, flights: pd.DataFrame
) -> None:
    summary = predict_json(project, FLIGHTS, "scored", "--chunk-rows", "20000")

    rows = len(flights)
    expected_parts = -(-rows // 20000)
    assert summary["rows"] == summary["scored_rows"] == rows
    assert (summary["model"], summary["version"], summary["engine"]) == ("flights-delay", 1, "onnx")
    assert summary["partitions"] == expected_parts
    assert summary["skipped_partitions"] == []
    assert summary["rows_per_s"] > 0
    out = project / "scored"
    names = sorted(p.name for p in out.glob("part-*.parquet"))
    assert names == [f"part-{i:05d}.parquet" for i in range(expected_parts)]
    assert [pq.ParquetFile(out / n).metadata.num_rows for n in names[:-1]] == [20000] * (
        expected_parts - 1
    )
    scored = pd.read_parquet(out)
    assert list(scored.columns) == [*flights.columns, *SCORES]
    pd.testing.assert_frame_equal(scored[flights.columns], flights)
    assert scored["proba_1"].between(0, 1).all()
    assert set(scored["prediction"]) <= {0, 1}
    success = json.loads((out / "_SUCCESS.json").read_text())
    assert success["rows"] == rows
    assert success["model"]["version"] == 1
    assert success["inputs"][0]["path"] == str(project / FLIGHTS)


def test_kill_9_then_rerun_gives_the_same_bytes(
    project: Path, flights: pd.DataFrame, seed: int
) -> None:
    kill_after = random.Random(seed).randint(2, 20)  # partitions, of 82
    args = [FLIGHTS, "--chunk-rows", "4000", "--model", "flights-delay/1"]
    clean = predict_json(project, args[0], "clean", *args[1:])
    killed = project / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelyard", "predict", args[0], str(killed), *args[1:]],
        cwd=project, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(list(killed.glob("part-*.parquet"))) < kill_after:
            assert proc.poll() is None, "predict ended before it was killed"
            assert time.monotonic() < deadline, "no partitions after 120 s"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    done = len(list(killed.glob("part-*.parquet")))
    assert not (killed / "_SUCCESS.json").exists()
    assert kill_after <= done < clean["partitions"], "the kill came too late to interrupt the run"

    resumed = predict_json(project, args[0], str(killed), *args[1:])

    assert resumed["skipped_partitions"] == list(range(done))
    assert resumed["scored_rows"] < resumed["rows"] == clean["rows"] == len(flights)
    assert digests(killed) == digests(project / "clean")  # every partition, both markers
    assert not [p.name for p in killed.iterdir() if p.name.endswith(".tmp")]
    ids = pd.read_parquet(killed, columns=["flight_id"])["flight_id"]
    assert ids.duplicated().sum() == 0
    assert set(ids) == set(flights["flight_id"])


def test_a_rerun_with_another_chunk_size_is_refused_unless_restart(
    project: Path, flights: pd.DataFrame
) -> None:
    flights.head(3000).to_parquet(project / "few.parquet")
    predict_json(project, "few.parquet", "few", "--chunk-rows", "1000")

    refused = modelyard("predict", "few.parquet", "few", "--chunk-rows", "500", cwd=project)
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "chunk rows 1000 (now 500)" in message
    assert "--restart" in message
    assert "Traceback" not in refused.stderr

    restarted = predict_json(project, "few.parquet", "few", "--chunk-rows", "500", "--restart")
    assert (restarted["partitions"], restarted["skipped_partitions"]) == (6, [])


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param("missing", "No data at 'data/raw/nothing.parquet'", id="missing-input"),
        pytest.param(
            "column", "['carrier'], which the model reads. Did you mean 'carier'?", id="column"
        ),
        pytest.param("corrupt", "Cannot read", id="corrupt-file"),
        pytest.param("empty", "holds no rows", id="no-rows"),
        pytest.param("model", "No registered model 'flights-dleay'", id="unknown-model"),
    ],
)
def test_errors_exit_1_with_a_message_and_no_traceback(
    project: Path, flights: pd.DataFrame, tmp_path: Path, case: str, expected: str
) -> None:
    source, extra = str(tmp_path / f"{case}.parquet"), []
    if case == "missing":
        source = "data/raw/nothing.parquet"
    elif case == "column":
        flights.head(100).rename(columns={"carrier": "carier"}).to_parquet(source)
    elif case == "corrupt":
        Path(source).write_bytes((project / FLIGHTS).read_bytes()[:5000])
    elif case == "empty":
        flights.head(0).to_parquet(source)
    else:
        flights.head(100).to_parquet(source)
        extra = ["--model", "flights-dleay@champion"]

    result = modelyard("predict", source, str(tmp_path / "out"), *extra, cwd=project)

    assert result.returncode == 1, result.stdout
    assert expected in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
