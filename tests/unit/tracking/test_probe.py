"""The read-only registry probe agrees with MLflow's registry, and steps aside when unsure."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.tracking._backend import open_client, sqlite_path
from modelyard.tracking.artifacts import save_model
from modelyard.tracking.mlflow_store import Tracker
from modelyard.tracking.probe import SqliteRegistryProbe, open_probe, version_identity
from modelyard.tracking.registry import Registry


@pytest.fixture
def registered(
    store: tuple[str, Path],
    tracker: Tracker,
    tmp_path: Path,
    frame: tuple[pd.DataFrame, np.ndarray],
) -> tuple[Registry, str, str]:
    """Two versions of a fresh model from one run, version 2 champion, version 1 challenger."""
    data, target = frame
    save_model(LogisticRegression().fit(data[["hour"]], target), tmp_path / "model")
    with tracker.start_run("train") as run:
        run.log_artifacts(tmp_path / "model", "model")
    registry, name = Registry(store[0]), f"probe-{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        registry.register(name, run_id=run.run_id)
    registry.set_alias(name, "champion", 2)
    registry.set_alias(name, "challenger", 1)
    return registry, name, run.run_id


def test_the_probe_reads_what_mlflow_reports(registered: tuple[Registry, str, str]) -> None:
    registry, name, run_id = registered
    probe = open_probe(registry.tracking_uri)
    assert probe is not None
    snapshot = probe.read(name)
    assert snapshot is not None
    assert snapshot.aliases == registry.aliases(name) == {"champion": 2, "challenger": 1}
    for info in registry.versions(name):
        probed = snapshot.versions[info.version]
        assert (probed.run_id, probed.status) == (run_id, "READY")
        assert snapshot.identity(info.version) == version_identity(info.run_id, info.tags)
    assert snapshot.identity(1) != snapshot.identity(2)  # one token per registration


def test_a_deleted_version_and_a_re_created_model_are_told_apart(
    registered: tuple[Registry, str, str],
) -> None:
    registry, name, run_id = registered
    probe = SqliteRegistryProbe(sqlite_path(registry.tracking_uri))
    before = probe.read(name)
    assert before is not None
    client = open_client(registry.tracking_uri)
    client.delete_model_version(name, "2")  # MLflow keeps the row, moved to a deleted stage
    after = probe.read(name)
    assert after is not None
    assert sorted(after.versions) == [1]
    assert after.aliases == {"challenger": 1}
    client.delete_registered_model(name)
    assert probe.read(name) is None
    registry.register(name, run_id=run_id)  # a new version 1 of a new model of the same name
    recreated = probe.read(name)
    assert recreated is not None
    assert recreated.identity(1) is not None
    assert recreated.identity(1) != before.identity(1)


def test_the_probe_steps_aside_when_unsure(
    registered: tuple[Registry, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, name, _ = registered
    assert open_probe("postgresql://user@127.0.0.1:5432/mlflow") is None
    assert open_probe("http://127.0.0.1:5000") is None
    assert SqliteRegistryProbe(tmp_path / "missing.db").read(name) is None
    database = sqlite_path(registry.tracking_uri)
    probe = SqliteRegistryProbe(database)
    assert probe.read("no-such-model") is None
    monkeypatch.setenv("MLFLOW_WORKSPACE", "team-a")
    assert probe.read(name) is None
    monkeypatch.delenv("MLFLOW_WORKSPACE")
    copy = tmp_path / "newer.db"
    with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'from-a-newer-mlflow'")
    assert SqliteRegistryProbe(copy).read(name) is None  # an unknown schema revision
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    assert SqliteRegistryProbe(garbage).read(name) is None


def test_the_probe_only_reads(registered: tuple[Registry, str, str], tmp_path: Path) -> None:
    registry, name, _ = registered
    folder = tmp_path / "readonly"
    folder.mkdir()
    database = folder / "mlflow.db"
    with (
        sqlite3.connect(sqlite_path(registry.tracking_uri)) as source,
        sqlite3.connect(database) as target,
    ):
        source.backup(target)
    before = database.read_bytes()
    database.chmod(0o444)
    try:
        assert SqliteRegistryProbe(database).read(name) is not None
    finally:
        database.chmod(0o644)
    assert database.read_bytes() == before
    shutil.rmtree(folder)
