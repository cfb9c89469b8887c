"""`modelyard serve` saturated: 256 keep-alive clients against 8 slots and 16 queue places, and
20 clients sending 10,000-record bodies against a 1 s deadline.

The server runs on CPU 0 and the load generator (a raw-socket asyncio client in this process)
on CPU 1, so the figures measure admission, not the two fighting for one core. Each test
prints what it measured.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from serve_support import (
    API_KEY,
    MODEL,
    Server,
    Trained,
    closed_loop,
    closed_loop_streams,
    percentile,
    request_bytes,
    trained_flights,
)

from modelyard.tracking.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]
AUTH = {"authorization": f"Bearer {API_KEY}"}
SERVER_CPUS, CLIENT_CPUS = {0}, {1}
QUIET_LOAD = 1.0  # 1-minute load average below which the timing targets are asserted as is


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> Trained:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: one for the server, one for the load generator")
    project = trained_flights(tmp_path_factory, flights_template)
    Registry(project.tracking_uri).set_alias(MODEL, "champion", 1)
    return project


@contextmanager
def on_cpus(cpus: set[int]) -> Iterator[None]:
    """Run this process (the load generator) on ``cpus`` for the block."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def test_overload_is_refused_by_modelyard_fast_and_accepted_requests_stay_fast(
    trained: Trained,
) -> None:
    env = {
        "MODELYARD_API_KEYS": API_KEY,
        "MODELYARD__SERVING__MAX_CONCURRENCY": "8",
        "MODELYARD__SERVING__MAX_QUEUE": "16",
    }
    body = json.dumps({"records": [trained.example]}).encode()
    load_before = os.getloadavg()[0]
    with Server(trained.root, env=env, cpus=SERVER_CPUS) as server:
        request = request_bytes("/v1/predict", body, server.port, AUTH)
        with on_cpus(CLIENT_CPUS):
            closed_loop(server.port, request, connections=4, seconds=1, max_requests=2000)
            unloaded, _ = closed_loop(
                server.port, request, connections=1, seconds=3, max_requests=20_000
            )
            within, _ = closed_loop(
                server.port, request, connections=24, seconds=3, max_requests=100_000
            )
            replies, errors = closed_loop(
                server.port, request, connections=256, seconds=8, max_requests=400_000
            )
        output = server.output()

    statuses = {reply.status for reply in replies}
    accepted = [r.seconds for r in replies if r.status == 200]
    refused = [r for r in replies if r.status == 503]
    figures = {
        "requests": len(replies),
        "accepted": len(accepted),
        "refused": len(refused),
        "unloaded_p99_ms": 1000 * percentile([r.seconds for r in unloaded], 0.99),
        "c24_p99_ms": 1000 * percentile([r.seconds for r in within], 0.99),
        "accepted_p99_ms": 1000 * percentile(accepted, 0.99),
        "refusal_p99_ms": 1000 * percentile([r.seconds for r in refused], 0.99),
    }
    print("overload c=256 vs 8 slots + 16 queued:", json.dumps(figures))
    assert errors == []
    assert statuses <= {200, 503}, statuses
    assert refused, "nothing was refused: the load did not saturate the server"
    assert all(reply.is_json_error_or_ok for reply in replies)
    assert all(r.headers.get("retry-after") == "1" for r in refused)
    assert all(json.loads(r.body)["error"]["type"] == "overloaded" for r in refused)
    # The targets (refusal p99 <= 50 ms; accepted p99 <= 2x the p99 at 24 clients, the most
    # the server admits) hold on a quiet machine; on a shared one the load generator and
    # the server lose their CPUs to other processes, so the bounds widen, and say so.
    quiet = load_before < QUIET_LOAD
    refusal_bound, accepted_factor = (50, 2.0) if quiet else (150, 4.0)
    print(f"load average {load_before:.1f}: bounds {refusal_bound} ms, {accepted_factor}x")
    assert figures["refusal_p99_ms"] <= refusal_bound
    assert figures["accepted_p99_ms"] <= accepted_factor * max(figures["c24_p99_ms"], 1.0)
    assert "ERROR" not in output


def test_a_deadline_of_one_second_holds_under_big_bodies_with_bounded_memory(
    trained: Trained,
) -> None:
    env = {"MODELYARD_API_KEYS": API_KEY, "MODELYARD__SERVING__REQUEST_TIMEOUT_S": "1.0"}
    body = json.dumps({"records": [trained.example] * 10_000}).encode()
    with Server(trained.root, env=env, cpus=SERVER_CPUS) as server:
        request = request_bytes("/v1/predict", body, server.port, AUTH)
        with on_cpus(CLIENT_CPUS):
            closed_loop_streams(server.port, request, connections=1, seconds=2, max_requests=3)
            before = server.rss_bytes()
            peak = [before]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.2):
                    peak.append(server.rss_bytes())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            try:
                replies, errors = closed_loop_streams(
                    server.port, request, connections=20, seconds=15, max_requests=5_000
                )
            finally:
                stop.set()
                sampler.join(5)
        output = server.output()

    by_status: dict[int, list[float]] = {}
    for reply in replies:
        by_status.setdefault(reply.status, []).append(reply.seconds)
    figures = {
        "body_mb": round(len(body) / 1e6, 2),
        "statuses": {status: len(times) for status, times in by_status.items()},
        "slowest_200_s": max(by_status.get(200, [0.0])),
        "slowest_504_s": max(by_status.get(504, [0.0])),
        "rss_before_mb": round(before / 1e6),
        "rss_growth_mb": round((max(peak) - before) / 1e6),
    }
    print("deadline 1 s, 20 x 10,000 records:", json.dumps(figures))
    assert errors == []
    assert set(by_status) <= {200, 504}, by_status.keys()
    assert figures["slowest_200_s"] <= 1.2
    assert figures["slowest_504_s"] <= 1.2
    assert figures["rss_growth_mb"] <= 200
    assert all(reply.is_json_error_or_ok for reply in replies)
    assert "ERROR" not in output
