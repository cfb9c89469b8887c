"""In-process checks of the hardening: scopes, 401 before routing, public docs from the
package, disconnects as 499, weighted admission, the log's byte bound, the door's answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_support import API_KEY, RECORD

from modelyard.serving.admission import SLOT_BYTES, Admission
from modelyard.serving.app import create_app
from modelyard.serving.model import ServedModel
from modelyard.serving.prediction_log import PREDICTION_SCHEMA, ParquetLog, prediction_rows
from modelyard.serving.protocol import error_bytes
from modelyard.serving.settings import ServeSettings

Serve = Callable[..., TestClient]
METRICS_KEY = "metrics-key-0123456789abcdef"


@pytest.fixture
def scoped(load: Callable[..., ServedModel], serve: Serve) -> TestClient:
    return serve(load(), api_keys=(API_KEY,), metrics_keys=(METRICS_KEY,))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/nope", id="unknown"),
        pytest.param("DELETE", "/v1/predict", id="wrong-method"),
        pytest.param("GET", "/metrics/", id="trailing-slash"),
    ],
)
def test_unknown_routes_and_methods_answer_401_without_a_key(
    scoped: TestClient, method: str, path: str
) -> None:
    anonymous = scoped.request(method, path)
    keyed = scoped.request(method, path, headers={"x-api-key": API_KEY})
    scraper = scoped.request(method, path, headers={"x-api-key": METRICS_KEY})

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "unauthorized"
    assert keyed.status_code in (404, 405)
    assert scraper.status_code in (404, 405)


def test_a_metrics_key_opens_metrics_only(scoped: TestClient) -> None:
    scraper = {"x-api-key": METRICS_KEY}

    assert scoped.get("/metrics", headers=scraper).status_code == 200
    for method, path in [("POST", "/v1/predict"), ("GET", "/v1/model"), ("GET", "/docs"),
                         ("POST", "/v1/feedback"), ("GET", "/openapi.json")]:  # fmt: skip
        response = scoped.request(method, path, headers=scraper, json={"records": [RECORD]})
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["type"] == "forbidden"
    assert (
        scoped.post("/v1/predict", json={"records": [RECORD]}, headers=scraper).status_code == 403
    )
    assert scoped.get("/metrics", headers={"x-api-key": API_KEY}).status_code == 200


def test_metrics_show_process_series_and_zeroed_counters(scoped: TestClient) -> None:
    text = scoped.get("/metrics", headers={"x-api-key": METRICS_KEY}).text

    assert "process_cpu_seconds_total" in text
    assert "python_info{" in text
    assert 'modelyard_model_loads_total{outcome="integrity_error"} 0.0' in text
    assert 'modelyard_log_write_errors_total{log="predictions"} 0.0' in text
    assert 'modelyard_connections_timed_out_total{phase="headers"} 0.0' in text


def test_docs_are_behind_the_key_unless_public(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    private = serve(load(), api_keys=(API_KEY,))
    public = serve(load(), api_keys=(API_KEY,), docs_public=True)

    assert private.get("/docs").status_code == 401
    assert private.get("/openapi.json").status_code == 401
    assert public.get("/docs").status_code == 200
    assert public.get("/openapi.json").json()["paths"]["/v1/predict"]["post"]["security"]
    assert "security" not in public.get("/openapi.json").json()["paths"]["/health/live"]["get"]
    assert public.post("/v1/predict", json={"records": [RECORD]}).status_code == 401


def test_swagger_ui_comes_from_the_package(scoped: TestClient) -> None:
    page = scoped.get("/docs", headers={"x-api-key": API_KEY}).text

    assert "cdn." not in page
    assert "/docs/assets/swagger-ui-bundle.js" in page
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert scoped.get(f"/docs/assets/{name}").status_code == 200  # static, no key
    assert scoped.get("/docs/assets/index.html").status_code == 404
    assert scoped.get("/docs/assets/..%2F..%2F__init__.py").status_code == 401  # no route


def test_a_client_gone_mid_body_is_recorded_as_499(
    load: Callable[..., ServedModel], settings: ServeSettings
) -> None:
    app = create_app(settings.with_overrides(api_keys=(API_KEY,)), model=load())
    sent: list[dict[str, object]] = []
    messages = iter([
        {"type": "http.request", "body": b'{"records": [', "more_body": True},
        {"type": "http.disconnect"},
    ])  # fmt: skip

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/v1/predict", "raw_path": b"/v1/predict",
        "root_path": "", "query_string": b"", "scheme": "http", "http_version": "1.1",
        "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000), "state": {},
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                    (b"authorization", f"Bearer {API_KEY}".encode()),
                    (b"content-length", b"5000")],
    }  # fmt: skip

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]

    assert sent == []
    metrics = app.state.serving.metrics.render().decode()
    assert 'route="/v1/predict",status="499"' in metrics
    assert 'status="500"' not in metrics


def test_duplicate_host_headers_get_400(scoped: TestClient) -> None:
    response = scoped.get("/health/live", headers=[("host", "testserver"), ("host", "testserver")])

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_host"


def test_admission_weighs_bodies_and_serves_in_order() -> None:
    admission = Admission(max_concurrency=8, max_queue=4)
    assert admission.weight(200) == 1
    assert admission.weight(3 * SLOT_BYTES) == 4
    assert admission.weight(100 * SLOT_BYTES) == 8
    assert admission.weight(None) == 8  # chunked: the most it could be

    async def scenario() -> list[str]:
        order: list[str] = []

        async def hold(name: str, weight: int, seconds: float) -> None:
            await admission.acquire(weight)
            order.append(name)
            try:
                await asyncio.sleep(seconds)
            finally:
                admission.release(weight)

        tasks = [
            asyncio.create_task(hold("big", 8, 0.05)),
            asyncio.create_task(hold("small-1", 1, 0.01)),
            asyncio.create_task(hold("half", 4, 0.01)),
            asyncio.create_task(hold("small-2", 1, 0.01)),
        ]
        await asyncio.gather(*tasks)
        assert (admission.running, admission.waiting) == (0, 0)
        return order

    assert asyncio.run(scenario()) == ["big", "small-1", "half", "small-2"]


def test_the_prediction_log_is_bounded_in_bytes(tmp_path: Path) -> None:
    dropped: list[int] = []
    log = ParquetLog(
        tmp_path, "m", PREDICTION_SCHEMA, prediction_rows,
        flush_rows=1000, flush_s=60, queue_size=1000, queue_bytes=10_000,
        on_drop=lambda: dropped.append(1),
    )  # fmt: skip
    entry = ("0" * 32, 0.0, "m", 1, 1, "x" * 3000, "y" * 1000)

    kept = [log.put(entry, 4000) for _ in range(5)]

    assert kept == [True, True, False, False, False]
    assert len(dropped) == 3


def test_the_door_answers_in_the_error_schema() -> None:
    raw = error_bytes(503, "Service Unavailable", "overloaded", "busy", "retry-after: 1")
    head, _, body = raw.partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"retry-after: 1" in head
    assert f"content-length: {len(body)}".encode() in head
    assert json.loads(body) == {"error": {"type": "overloaded", "message": "busy", "fields": []}}
