"""R5/R6: the champion alias moves under load without a failed or torn response, and a tampered
version is refused while the old one keeps serving."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from serve_support import MODEL, Outcome, Server, Trained, hammer, trained_flights

from modelyard.serving.model import load_served_model
from modelyard.tracking.mlflow_store import Tracker
from modelyard.tracking.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WATCH = {"MODELYARD__SERVING__WATCH_INTERVAL_S": "0.1"}
LOAD_S = 30.0
CLIENTS = 16


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> Trained:
    return trained_flights(tmp_path_factory, flights_template)


def expected_outputs(trained: Trained, folder: Path, probe: dict[str, Any]) -> dict[int, Any]:
    """Each version's prediction for the probe, computed here from a verified download."""
    registry = Registry(trained.tracking_uri)
    outputs = {}
    for version in (1, 2):
        local = registry.download(MODEL, version, folder / f"v{version}")
        model = load_served_model(local, name=MODEL, version=version)
        outputs[version] = model.predict([probe])[0]
    return outputs


def move_alias_until(registry: Registry, deadline: float, moves: list[int]) -> None:
    target = 2
    while time.monotonic() < deadline:
        registry.set_alias(MODEL, "champion", target)
        moves.append(target)
        target = 3 - target
        time.sleep(0.5)


def check_consistent(outcome: Outcome, expected: dict[int, Any]) -> int:
    assert outcome.error is None, outcome.error
    assert outcome.status == 200, outcome
    assert outcome.body is not None
    version = outcome.header_version
    assert version in (1, 2)
    assert outcome.body["model"]["version"] == version
    assert outcome.body["predictions"][0] == expected[version]  # the probe's answer of *that* model
    return version


def test_alias_moves_under_load_with_no_error_and_no_torn_response(
    trained: Trained, tmp_path: Path
) -> None:
    registry = Registry(trained.tracking_uri)
    registry.set_alias(MODEL, "champion", 1)
    probe = trained.example
    expected = expected_outputs(trained, tmp_path, probe)
    assert expected[1] != expected[2]
    batch = {"records": [probe, {**probe, "origin": "JFK"}, {**probe, "month": 1}]}
    bodies = [{"records": [probe]} if i % 2 else batch for i in range(CLIENTS)]
    moves: list[int] = []

    with Server(trained.root, env=WATCH) as server:
        deadline = time.monotonic() + LOAD_S
        mover = threading.Thread(target=move_alias_until, args=(registry, deadline - 1.5, moves))
        mover.start()
        outcomes = hammer(f"{server.url}/v1/predict", bodies, seconds=LOAD_S, max_requests=60_000)
        mover.join(30)
        final = moves[-1]
        time.sleep(1.0)  # the last move lands within a poll or two
        settled = hammer(
            f"{server.url}/v1/predict", [{"records": [probe]}], seconds=1.0, max_requests=20
        )

    versions = [check_consistent(outcome, expected) for outcome in outcomes]
    swaps = sum(1 for a, b in itertools.pairwise(versions) if a != b)
    assert len(outcomes) > 2000
    assert set(versions) == {1, 2}
    assert len(moves) >= 20
    assert swaps >= 10, f"only {swaps} version changes seen over {len(moves)} alias moves"
    assert {check_consistent(o, expected) for o in settled} == {final}


def register_tampered(trained: Trained, folder: Path) -> int:
    """Register version 2's files again as a new version, then flip one byte of its ONNX model
    in the artifact store (where the server downloads from)."""
    registry = Registry(trained.tracking_uri)
    copy = registry.download(MODEL, 2, folder / "v2")
    tracker = Tracker(trained.tracking_uri, experiment=MODEL)
    with tracker.start_run("tampered") as run:
        run.log_artifacts(copy, "model")
    version = registry.register(MODEL, run_id=run.run_id, artifact_path="model")
    source = Path(registry.version(MODEL, version).source.removeprefix("file://"))
    onnx = source / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0x01
    onnx.write_bytes(bytes(data))
    return version


def test_tampered_version_is_refused_and_the_old_one_keeps_serving(
    trained: Trained, tmp_path: Path
) -> None:
    registry = Registry(trained.tracking_uri)
    registry.set_alias(MODEL, "champion", 2)
    tampered = register_tampered(trained, tmp_path)
    stop = threading.Event()
    try:
        with Server(trained.root, env=WATCH) as server:
            loads: list[list[Outcome]] = []
            load = threading.Thread(
                target=lambda: loads.append(
                    hammer(
                        f"{server.url}/v1/predict",
                        [{"records": [trained.example]}] * 4,
                        seconds=20,
                        max_requests=20_000,
                        stop=stop,
                    )
                )
            )
            load.start()
            time.sleep(1.0)
            registry.set_alias(MODEL, "champion", tampered)
            readiness, refused = [], False
            for _ in range(100):  # up to 10 s for the watcher to try and refuse it
                readiness.append(httpx.get(f"{server.url}/health/ready").status_code)
                metrics = httpx.get(f"{server.url}/metrics").text
                if 'modelyard_model_loads_total{outcome="integrity_error"} 1.0' in metrics:
                    refused = True
                    break
                time.sleep(0.1)
            time.sleep(1.0)  # it stays refused, and the old version keeps answering
            readiness.append(httpx.get(f"{server.url}/health/ready").status_code)
            stop.set()
            load.join(30)
            log = server.log.read_text(errors="replace")
    finally:
        registry.set_alias(MODEL, "champion", 1)
        shutil.rmtree(trained.store / "serving" / MODEL / f"v{tampered}", ignore_errors=True)

    assert refused
    assert set(readiness) == {200}
    (outcomes,) = loads
    assert len(outcomes) > 100
    assert {(o.status, o.header_version, o.error) for o in outcomes} == {(200, 2, None)}
    assert f"refused version {tampered} of {MODEL}, still serving version 2" in log
    assert "does not match its SHA-256 in the manifest" in log
