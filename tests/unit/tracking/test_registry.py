"""The model registry on a real SQLite store: versions, aliases, downloads, errors, concurrency."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.errors import ArtifactIntegrityError, ModelNotFoundError, RegistryError
from modelyard.tracking.artifacts import load_model, save_model
from modelyard.tracking.mlflow_store import Tracker
from modelyard.tracking.registry import Registry


@pytest.fixture
def registry(store: tuple[str, Path]) -> Registry:
    return Registry(store[0])


@pytest.fixture
def name() -> str:
    """A model name no other test uses."""
    return f"flights-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def model_run(
    tracker: Tracker, tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray]
) -> tuple[str, LogisticRegression]:
    """A finished run that logged a fitted model folder under ``model``."""
    data, target = frame
    model = LogisticRegression().fit(data[["hour"]], target)
    save_model(model, tmp_path / "model")
    with tracker.start_run("train") as run:
        run.log_artifacts(tmp_path / "model", "model")
    return run.run_id, model


def test_register_creates_numbered_versions(
    registry: Registry, name: str, model_run: tuple[str, LogisticRegression]
) -> None:
    run_id, _ = model_run

    first = registry.register(name, run_id=run_id, tags={"gate": "passed"}, description="v1")
    second = registry.register(name, run_id=run_id)

    assert (first, second) == (1, 2)
    (info, _) = registry.versions(name)
    assert info.run_id == run_id
    assert info.status == "READY"
    assert info.source.endswith(f"/{run_id}/artifacts/model")
    assert info.tags["gate"] == "passed"
    assert info.description == "v1"
    assert name in registry.models()


def test_aliases_move_between_versions(
    registry: Registry, name: str, model_run: tuple[str, LogisticRegression]
) -> None:
    run_id, _ = model_run
    for _ in range(2):
        registry.register(name, run_id=run_id)

    registry.set_alias(name, "champion", 1)
    registry.set_alias(name, "challenger", 2)
    registry.set_alias(name, "champion", 2)
    registry.set_version_tags(name, 2, {"promoted_by": "test"})

    assert registry.get_alias(name, "champion") == 2
    assert registry.aliases(name) == {"champion": 2, "challenger": 2}
    assert [v.aliases for v in registry.versions(name)] == [(), ("challenger", "champion")]
    assert registry.version(name, 2).tags["promoted_by"] == "test"

    registry.delete_alias(name, "challenger")

    assert registry.get_alias(name, "challenger") is None


def test_unknown_names_suggest_a_close_match(
    registry: Registry, name: str, model_run: tuple[str, LogisticRegression]
) -> None:
    registry.register(name, run_id=model_run[0])
    registry.set_alias(name, "champion", 1)

    with pytest.raises(ModelNotFoundError, match=rf"No registered model '{name[:-1]}'\. Did you"):
        registry.versions(name[:-1])
    with pytest.raises(ModelNotFoundError, match=r"No version 9 of .* Versions: 1\."):
        registry.version(name, 9)
    with pytest.raises(ModelNotFoundError, match=r"No version 3 of"):
        registry.set_alias(name, "champion", 3)
    with pytest.raises(ModelNotFoundError, match=r"No alias 'champio' .*Did you mean 'champion'"):
        registry.delete_alias(name, "champio")
    with pytest.raises(ModelNotFoundError, match=rf"Did you mean '{name}'"):
        registry.get_alias(name + "x", "champion")


def test_download_verifies_and_loads(
    registry: Registry,
    name: str,
    model_run: tuple[str, LogisticRegression],
    tmp_path: Path,
    frame: tuple[pd.DataFrame, np.ndarray],
) -> None:
    run_id, model = model_run
    version = registry.register(name, run_id=run_id)

    folder = registry.download(name, version, tmp_path / "serving" / "v1")

    data, _ = frame
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict(data[["hour"]]), model.predict(data[["hour"]]))
    with pytest.raises(RegistryError, match="exists and is not empty"):
        registry.download(name, version, folder)


def test_register_refuses_a_tampered_artifact(
    registry: Registry, name: str, model_run: tuple[str, LogisticRegression], tracker: Tracker
) -> None:
    run_id, _ = model_run
    logged = Path(tracker.get_run(run_id).artifact_uri.removeprefix("file://")) / "model"
    with (logged / "model.skops").open("ab") as handle:
        handle.write(b"\0")

    with pytest.raises(ArtifactIntegrityError, match=r"'model\.skops' has"):
        registry.register(name, run_id=run_id)
    assert name not in registry.models()


def test_register_needs_a_logged_folder(
    registry: Registry, name: str, model_run: tuple[str, LogisticRegression]
) -> None:
    with pytest.raises(RegistryError, match=r"no artifact folder 'onnx'.*log_artifacts"):
        registry.register(name, run_id=model_run[0], artifact_path="onnx")


@pytest.mark.parametrize(
    ("model", "artifact_path", "match"),
    [
        pytest.param("bad name", "model", "Invalid model name", id="space"),
        pytest.param("a%2Fb", "model", "Invalid model name", id="percent"),
        pytest.param("m", "../model", "Invalid artifact path", id="dotdot"),
        pytest.param("m", "/abs", "Invalid artifact path", id="absolute"),
    ],
)
def test_register_refuses_unsafe_names(
    registry: Registry, model: str, artifact_path: str, match: str
) -> None:
    with pytest.raises(RegistryError, match=match):
        registry.register(model, run_id="0" * 32, artifact_path=artifact_path)


_TRAIN_AND_REGISTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import mlflow.store.tracking.sqlalchemy_store  # import before the start signal
    from modelyard.tracking.mlflow_store import Tracker
    from modelyard.tracking.registry import Registry

    uri, folder = sys.argv[1], Path(sys.argv[2])
    print("ready", flush=True)
    sys.stdin.readline()
    tracker = Tracker(uri, experiment="concurrent")
    with tracker.start_run("train") as run:
        run.log_metrics({"loss": 0.5})
        run.log_artifacts(folder, "model")
    print(Registry(uri).register("shared", run_id=run.run_id), flush=True)
    """
)


def _start_together(argv: list[str], count: int) -> list[subprocess.Popen[str]]:
    children = [
        subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    return children


@pytest.mark.slow
def test_processes_starting_together_on_a_fresh_database(
    tmp_path: Path, frame: tuple[pd.DataFrame, np.ndarray]
) -> None:
    data, target = frame
    save_model(LogisticRegression().fit(data[["hour"]], target), tmp_path / "model")
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    argv = [sys.executable, "-c", _TRAIN_AND_REGISTER, uri, str(tmp_path / "model")]

    children = _start_together(argv, 4)
    outputs = [child.communicate(timeout=120) for child in children]

    assert [child.returncode for child in children] == [0] * 4, [err for _, err in outputs]
    assert sorted(int(out) for out, _ in outputs) == [1, 2, 3, 4]
    assert not any("database is locked" in err for _, err in outputs)
    assert [v.version for v in Registry(uri).versions("shared")] == [1, 2, 3, 4]
    with contextlib.closing(sqlite3.connect(tmp_path / "fresh" / "mlflow.db")) as database:
        assert database.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
