"""The model registry with PostgreSQL as MLflow's backend store.

Each module run gets a scratch database (``modelyard_test_<random>``), created through the
``postgres`` maintenance database and dropped afterwards, so runs never see each other's data.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.errors import ModelNotFoundError, TrackingConnectionError
from modelyard.tracking.artifacts import load_model, save_model
from modelyard.tracking.mlflow_store import Tracker
from modelyard.tracking.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def model_run(pg_uri: str, tmp_path: Path, seed: int) -> tuple[str, LogisticRegression]:
    """A run on the PostgreSQL store that logged a fitted model under ``model``."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(60, 2))
    model = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    save_model(model, tmp_path / "model")
    tracker = Tracker(pg_uri, experiment="registry-pg", artifact_root=tmp_path / "artifacts")
    with tracker.start_run("train") as run:
        run.log_artifacts(tmp_path / "model", "model")
    return run.run_id, model


def test_versions_aliases_and_download(
    pg_uri: str, model_run: tuple[str, LogisticRegression], tmp_path: Path
) -> None:
    run_id, model = model_run
    registry = Registry(pg_uri)
    name = f"flights-{uuid.uuid4().hex[:6]}"

    started = time.perf_counter()
    first = registry.register(name, run_id=run_id)
    registry.set_alias(name, "champion", first)
    register_and_alias_s = time.perf_counter() - started
    second = registry.register(name, run_id=run_id)
    registry.set_alias(name, "champion", second)

    assert (first, second) == (1, 2)
    assert registry.get_alias(name, "champion") == 2
    assert [v.aliases for v in registry.versions(name)] == [(), ("champion",)]
    assert register_and_alias_s < 5
    folder = registry.download(name, 2, tmp_path / "download")
    probe = np.array([[0.5, -1.0], [-0.5, 1.0]])
    np.testing.assert_array_equal(load_model(folder).predict(probe), model.predict(probe))
    with pytest.raises(ModelNotFoundError, match=rf"Did you mean '{name}'"):
        registry.versions(name + "s")
    with pytest.raises(ModelNotFoundError, match=r"No version 7 of"):
        registry.version(name, 7)


_REGISTER = textwrap.dedent(
    """
    import sys
    import mlflow.store.model_registry.sqlalchemy_store  # imports happen before the signal
    import mlflow.store.tracking.sqlalchemy_store
    from mlflow import MlflowClient
    from modelyard.tracking.registry import Registry

    uri, name, run_id = sys.argv[1:4]
    print("ready", flush=True)
    sys.stdin.readline()
    print(Registry(uri).register(name, run_id=run_id), flush=True)
    """
)


@pytest.mark.slow
def test_eight_processes_get_versions_one_to_eight(
    pg_uri: str, model_run: tuple[str, LogisticRegression]
) -> None:
    run_id, _ = model_run
    name = f"race-{uuid.uuid4().hex[:6]}"
    argv = [sys.executable, "-c", _REGISTER, pg_uri, name, run_id]
    children = [
        subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
        for child in children:  # all at once: they race for the same registered model
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=90) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    assert [child.returncode for child in children] == [0] * 8, [err for _, err in outputs]
    assert sorted(int(out) for out, _ in outputs) == list(range(1, 9))
    assert [v.version for v in Registry(pg_uri).versions(name)] == list(range(1, 9))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "first_use",
    [
        pytest.param(lambda uri: Registry(uri).models(), id="registry"),
        pytest.param(lambda uri: Tracker(uri, experiment="e").list_runs(), id="tracker"),
    ],
)
def test_unreachable_server_fails_fast_with_the_password_masked(
    postgres_url: str, first_use: Callable[[str], object]
) -> None:
    uri = f"postgresql+psycopg://modelyard:s3cret-pw@127.0.0.1:{_closed_port()}/mlflow"
    started = time.monotonic()

    with pytest.raises(TrackingConnectionError) as caught:
        first_use(uri)

    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "modelyard:********@127.0.0.1" in message
    assert "Cannot reach the tracking store" in message
