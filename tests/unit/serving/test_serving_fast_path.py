"""The hot path: POST /v1/predict answered by the guard's plain ASGI endpoint, one record fed
to ONNX Runtime without the batch code, and the access log written off the request."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serving_support import API_KEY, RECORD, SPEC

from modelyard.config.secrets import MASK, RedactingFilter
from modelyard.errors import FeatureError
from modelyard.features.transform import onnx_feed
from modelyard.serving.access_log import MAX_LOGGED_PATH, AccessLog
from modelyard.serving.app import create_app
from modelyard.serving.model import ServedModel, record_feed
from modelyard.serving.settings import ServeSettings

Serve = Callable[..., TestClient]


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(RECORD, id="validated"),
        pytest.param({**RECORD, "plane_age": None, "hour": 3}, id="null-and-int"),
        pytest.param({**RECORD, "distance": "1200.5", "hour": True}, id="text-and-bool-numbers"),
        pytest.param(
            {**RECORD, "distance": np.float32(3.5), "plane_age": math.nan}, id="numpy-nan"
        ),
        pytest.param({**RECORD, "carrier": 7, "dest": 2.0}, id="numbers-as-categories"),
        pytest.param({**RECORD, "carrier": None, "dest": False}, id="missing-and-bool-category"),
        pytest.param({**RECORD, "extra": "ignored"}, id="extra-field"),
    ],
)
def test_one_record_feeds_onnx_as_the_batch_path_does(record: dict[str, Any]) -> None:
    expected = onnx_feed([record], SPEC)

    fed = record_feed(SPEC)(record)

    assert list(fed) == list(expected)
    for column, values in expected.items():
        assert fed[column].dtype == values.dtype, column
        assert fed[column].shape == values.shape == (1, 1), column
        if values.dtype == np.float64:
            np.testing.assert_array_equal(fed[column], values)  # NaN equals NaN here
        else:
            assert fed[column].tolist() == values.tolist(), column


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({k: v for k, v in RECORD.items() if k != "hour"}, id="missing-field"),
        pytest.param({**RECORD, "distance": "far"}, id="not-a-number"),
    ],
)
def test_one_record_fails_as_the_batch_path_does(record: dict[str, Any]) -> None:
    with pytest.raises(FeatureError) as batch:
        onnx_feed([record], SPEC)

    with pytest.raises(FeatureError) as single:
        record_feed(SPEC)(record)

    assert str(single.value) == str(batch.value)


@pytest.fixture
def both_paths(
    load: Callable[..., ServedModel], settings: ServeSettings
) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """Clients of one app: at its own root (the guard's fast path answers /v1/predict), and
    mounted under /api (the guard leaves the request to FastAPI's route)."""
    app = create_app(settings.with_overrides(api_keys=(API_KEY,)), model=load())
    with TestClient(app, raise_server_exceptions=False) as fast:
        routed = TestClient(app, root_path="/api", raise_server_exceptions=False)
        yield {"fast": (fast, "/v1/predict"), "routed": (routed, "/api/v1/predict")}


def answers(client: TestClient, path: str) -> list[tuple[int, dict[str, Any], str | None]]:
    key = {"x-api-key": API_KEY}
    requests = [
        ({"x-api-key": API_KEY}, {"records": [RECORD]}),
        ({}, {"records": [RECORD]}),
        ({"authorization": "Bearer wrong-key-0123456789abcdef"}, {"records": [RECORD]}),
        (key, {"records": [{**RECORD, "hour": 99}]}),
        (key, {"records": []}),
        (key, {"rows": [RECORD]}),
    ]
    found = []
    for headers, body in requests:
        response = client.post(path, headers=headers, json=body)
        payload = response.json()
        if response.status_code == 200:
            assert payload["request_id"] == response.headers["x-request-id"]
            payload["request_id"] = "<id>"
        found.append((response.status_code, payload, response.headers.get("x-model-version")))
    unsupported = client.post(path, headers=key, content=json.dumps({"records": [RECORD]}))
    found.append((unsupported.status_code, unsupported.json(), None))
    return found


def test_fast_path_answers_as_the_fastapi_route(
    both_paths: dict[str, tuple[TestClient, str]],
) -> None:
    fast, routed = (answers(client, path) for client, path in both_paths.values())

    assert [status for status, _, _ in fast] == [200, 401, 401, 422, 422, 422, 415]
    assert fast == routed
    assert fast[0][2] == "1"


@pytest.fixture
def access_on() -> Iterator[None]:
    """Let the access logger take INFO, as ``modelyard serve`` does."""
    logger = logging.getLogger("modelyard.serving.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


def written_lines(capsys: pytest.CaptureFixture[str], count: int) -> list[dict[str, Any]]:
    """The JSON lines on stderr, waiting up to 5 s for ``count`` (the writer runs every 0.1 s)."""
    text = ""
    deadline = time.monotonic() + 5.0
    while text.count("\n") < count and time.monotonic() < deadline:
        time.sleep(0.02)
        text += capsys.readouterr().err
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("access_on")
def test_each_request_is_one_json_access_line_without_secrets(
    load: Callable[..., ServedModel], serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    project_secret = "db-password-0123456789"
    handler = logging.NullHandler()  # as the CLI's handler: it masks the project's secrets
    handler.addFilter(RedactingFilter([project_secret]))
    logging.getLogger("modelyard").addHandler(handler)
    try:
        client = serve(load(), api_keys=(API_KEY,))
        capsys.readouterr()
        began = time.time()
        key = {"x-api-key": API_KEY}
        predicted = client.post("/v1/predict", headers=key, json={"records": [RECORD]})
        lost = client.get(f"/nope/{API_KEY}/{project_secret}/{'x' * 300}?token=abc", headers=key)
        ended = time.time()
        lines = written_lines(capsys, 2)
    finally:
        logging.getLogger("modelyard").removeHandler(handler)

    assert len(lines) == 2
    first, second = lines
    assert first == {
        "time": first["time"],
        "request_id": predicted.headers["x-request-id"],
        "method": "POST",
        "path": "/v1/predict",
        "status": 200,
        "ms": first["ms"],
        "model_version": "1",
        "client": "testclient",
    }
    assert 0 < first["ms"] < (ended - began) * 1000
    answered = dt.datetime.fromisoformat(first["time"]).timestamp()
    assert began - 0.001 <= answered <= ended  # dated when answered, not when written
    assert second["status"] == lost.status_code == 404
    assert second["request_id"] == lost.headers["x-request-id"]
    shown = f"/nope/{MASK}/{MASK}/"
    assert second["path"] == shown + "x" * (MAX_LOGGED_PATH - len(shown))
    assert "token" not in json.dumps(second)


def test_access_log_writes_what_it_queued_when_closed(access_on: None) -> None:
    stream = io.StringIO()
    access = AccessLog(["secret-key-0123456789"], stream=stream, flush_s=60.0)
    entry = (time.time(), "a" * 32, "GET", "/x/secret-key-0123456789", False, 404, 0.001, "", None)
    access.start()
    for _ in range(3):
        access.put(entry)
    assert stream.getvalue() == ""  # queued, not written on the request's time

    access.close(timeout=5.0)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["path"] for line in lines] == [f"/x/{MASK}"] * 3
    access.put(entry)  # closed: written at once
    assert len(stream.getvalue().splitlines()) == 4
