"""R4: SIGTERM under load turns readiness to 503 at once, fails no request sent before it, and
the server exits 0 within its grace period."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from serve_support import MODEL, Outcome, Server, Trained, hammer, trained_flights

from modelyard.tracking.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]
GRACE_S = 10.0
DRAIN_S = 1.0


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> Trained:
    project = trained_flights(tmp_path_factory, flights_template)
    Registry(project.tracking_uri).set_alias(MODEL, "champion", 1)
    return project


def test_sigterm_under_load_drains_and_exits_0(trained: Trained) -> None:
    env = {
        "MODELYARD__SERVING__GRACE_PERIOD_S": str(GRACE_S),
        "MODELYARD__SERVING__DRAIN_DELAY_S": str(DRAIN_S),
    }
    server = Server(trained.root, env=env)
    with server:
        bodies = [{"records": [trained.example] * (1 + i % 3)} for i in range(16)]
        results: list[list[Outcome]] = []
        load = threading.Thread(
            target=lambda: results.append(
                hammer(
                    f"{server.url}/v1/predict",
                    bodies,
                    seconds=3.0 + DRAIN_S + 4.0,
                    max_requests=50_000,
                )
            )
        )
        load.start()
        time.sleep(3.0)
        signalled = time.monotonic()
        server.terminate()
        ready_503_after = None
        while time.monotonic() - signalled < DRAIN_S:  # new connections still answered
            try:
                if httpx.get(f"{server.url}/health/ready", timeout=1).status_code == 503:
                    ready_503_after = time.monotonic() - signalled
                    break
            except httpx.TransportError:
                break
            time.sleep(0.05)
        code = server.wait(timeout=GRACE_S + 5)
        exited_after = time.monotonic() - signalled
        load.join(30)

    (outcomes,) = results
    before = [o for o in outcomes if o.start < signalled]
    assert len(before) > 300
    failed = [o for o in before if o.status != 200]
    assert failed == [], failed[:3]
    assert ready_503_after is not None
    assert ready_503_after < 1.0
    assert code == 0
    assert exited_after < GRACE_S
    after = [o for o in outcomes if o.start >= signalled + DRAIN_S + 0.5]
    assert all(o.error is not None or o.status == 200 for o in after)  # refused, or finished
