"""Bounded admission (503 + Retry-After) and per-request timeouts (504), in-process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx2 as httpx
import pytest
from serving_support import RECORD

from modelyard.serving.admission import Admission, OverloadedError
from modelyard.serving.app import create_app
from modelyard.serving.model import ServedModel
from modelyard.serving.settings import ServeSettings

SLOW = {**RECORD, "hour": 23}


async def burst(app: object, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await asyncio.gather(*(client.post("/v1/predict", json=b) for b in bodies))


def test_burst_beyond_slots_and_queue_gets_503_with_retry_after(
    slow_model: Callable[[float], ServedModel], settings: ServeSettings
) -> None:
    app = create_app(settings.with_overrides(max_concurrency=2, max_queue=3), model=slow_model(0.3))

    started = time.perf_counter()
    responses = asyncio.run(burst(app, [{"records": [SLOW]}] * 12))
    elapsed = time.perf_counter() - started

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [503] * 7  # 2 running + 3 queued; the rest refused at once
    for response in responses:
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1"
            assert response.json()["error"]["type"] == "overloaded"
    assert elapsed < 2.0
    metrics = app.state.serving.metrics.render().decode()
    assert "modelyard_admission_rejections_total 7.0" in metrics


def test_slow_prediction_gets_504_and_frees_its_slot(
    slow_model: Callable[[float], ServedModel], settings: ServeSettings
) -> None:
    app = create_app(
        settings.with_overrides(request_timeout_s=0.3, max_concurrency=1), model=slow_model(1.0)
    )

    async def scenario() -> tuple[httpx.Response, httpx.Response, float]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            started = time.perf_counter()
            slow = await c.post("/v1/predict", json={"records": [SLOW]})
            took = time.perf_counter() - started
            fast = await c.post("/v1/predict", json={"records": [RECORD]})
            return slow, fast, took

    slow, fast, took = asyncio.run(scenario())

    assert slow.status_code == 504
    assert slow.json()["error"]["type"] == "timeout"
    assert slow.headers["x-model-version"] == "7"
    assert took < 0.6
    assert fast.status_code == 200  # the timed-out request gave its slot back


def test_waiting_for_a_slot_counts_against_the_timeout(
    slow_model: Callable[[float], ServedModel], settings: ServeSettings
) -> None:
    app = create_app(
        settings.with_overrides(request_timeout_s=0.4, max_concurrency=1, max_queue=5),
        model=slow_model(0.3),
    )

    responses = asyncio.run(burst(app, [{"records": [SLOW]}] * 4))

    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200
    assert 504 in statuses
    assert 503 not in statuses


async def hold(admission: Admission, seconds: float, log: list[str], name: str) -> None:
    await admission.acquire()
    log.append(name)
    try:
        await asyncio.sleep(seconds)
    finally:
        admission.release()


def test_admission_serves_waiters_first_come_first_served() -> None:
    async def scenario() -> list[str]:
        admission, log = Admission(1, 3), []
        tasks = [asyncio.create_task(hold(admission, 0.02, log, str(i))) for i in range(4)]
        await asyncio.gather(*tasks)
        assert (admission.running, admission.waiting) == (0, 0)
        return log

    assert asyncio.run(scenario()) == ["0", "1", "2", "3"]


def test_admission_refuses_beyond_the_queue_and_survives_cancelled_waiters() -> None:
    async def scenario() -> None:
        admission = Admission(1, 1)
        assert admission.try_acquire()
        waiter = asyncio.create_task(admission.acquire())
        await asyncio.sleep(0)
        with pytest.raises(OverloadedError):
            await admission.acquire()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        admission.release()
        assert (admission.running, admission.waiting) == (0, 0)
        assert admission.try_acquire()

    asyncio.run(scenario())
