"""A real `modelyard serve` on the trained flights model: predict, validate, describe, log."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from serve_support import API_KEY, MODEL, Server, Trained, modelyard_env, trained_flights

from modelyard.serving.prediction_history import join_feedback, read_feedback, read_predictions
from modelyard.tracking.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]
AUTH = {"authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> Trained:
    project = trained_flights(tmp_path_factory, flights_template)
    Registry(project.tracking_uri).set_alias(MODEL, "champion", 1)
    return project


@pytest.fixture(scope="module")
def server(trained: Trained) -> Iterator[Server]:
    env = {"MODELYARD_API_KEYS": API_KEY}
    with Server(trained.root, env=env) as running:
        yield running


def test_predicts_one_and_many_records(server: Server, trained: Trained) -> None:
    one = httpx.post(f"{server.url}/v1/predict", json={"records": [trained.example]}, headers=AUTH)
    many = httpx.post(
        f"{server.url}/v1/predict", json={"records": [trained.example] * 200}, headers=AUTH
    )

    assert one.status_code == 200, one.text
    assert one.headers["x-model-version"] == "1"
    body = one.json()
    assert body["model"] == {"name": MODEL, "version": 1}
    assert body["request_id"] == one.headers["x-request-id"]
    assert set(body["predictions"][0]["probabilities"]) == {"0", "1"}
    assert many.status_code == 200
    assert many.json()["predictions"] == body["predictions"] * 200


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        pytest.param({"carrier": "XX"}, "records[0].carrier", "literal_error", id="not-allowed"),
        pytest.param({"month": 13}, "records[0].month", "less_than_equal", id="out-of-range"),
        pytest.param({"distance": "far"}, "records[0].distance", "float_type", id="wrong-type"),
        pytest.param({"wings": 2}, "records[0].wings", "extra_forbidden", id="extra-field"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    server: Server, trained: Trained, change: dict[str, Any], field: str, rule: str
) -> None:
    response = httpx.post(
        f"{server.url}/v1/predict", json={"records": [{**trained.example, **change}]}, headers=AUTH
    )

    assert response.status_code == 422
    assert (field, rule) in [(f["field"], f["rule"]) for f in response.json()["error"]["fields"]]


def test_missing_field_is_422(server: Server, trained: Trained) -> None:
    record = {k: v for k, v in trained.example.items() if k != "origin"}

    response = httpx.post(f"{server.url}/v1/predict", json={"records": [record]}, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "records[0].origin"


def test_keys_guard_everything_but_health(server: Server, trained: Trained) -> None:
    body = {"records": [trained.example]}

    assert httpx.post(f"{server.url}/v1/predict", json=body).status_code == 401
    assert httpx.get(f"{server.url}/openapi.json").status_code == 401
    assert httpx.get(f"{server.url}/metrics", headers={"x-api-key": "nope"}).status_code == 401
    assert httpx.get(f"{server.url}/health/live").status_code == 200
    assert httpx.get(f"{server.url}/health/ready").status_code == 200
    assert httpx.get(f"{server.url}/v1/model", headers={"x-api-key": API_KEY}).status_code == 200


def test_model_card_and_input_schema(server: Server) -> None:
    body = httpx.get(f"{server.url}/v1/model", headers=AUTH).json()

    assert (body["name"], body["version"], body["runtime"]) == (MODEL, 1, "onnx")
    assert body["card"]["gates"] == "passed"
    assert body["card"]["test_metrics"]["roc_auc"] > 0.55
    carrier = next(c for c in body["inputs"] if c["name"] == "carrier")
    assert "AA" in carrier["allowed"]


def test_metrics_are_exposed(server: Server, trained: Trained) -> None:
    httpx.post(f"{server.url}/v1/predict", json={"records": [trained.example]}, headers=AUTH)

    text = httpx.get(f"{server.url}/metrics", headers=AUTH).text

    assert (
        'modelyard_http_requests_total{method="POST",model_version="1",route="/v1/predict",status="200"}'
        in text
    )
    assert (
        'modelyard_model_info{model="flights-delay",model_version="1",runtime="onnx"} 1.0' in text
    )
    assert "modelyard_predictions_total" in text


def test_oversized_body_is_413(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/v1/predict",
        content=b"x" * (11 * 1024 * 1024),
        headers={**AUTH, "content-type": "application/json"},
    )

    assert response.status_code == 413


def test_listens_on_loopback_only(server: Server) -> None:
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
    ours = [line.split() for line in listening if line.split()[1].endswith(f":{server.port:04X}")]
    assert ours
    assert all(fields[1].startswith("0100007F:") for fields in ours)


def test_log_is_written_and_feedback_joins_after_shutdown(trained: Trained) -> None:
    with Server(trained.root) as server:
        first = httpx.post(
            f"{server.url}/v1/predict", json={"records": [trained.example] * 2}
        ).json()
        feedback = httpx.post(
            f"{server.url}/v1/feedback",
            json={"request_id": first["request_id"], "label": 1, "row": 1},
        )
        assert feedback.status_code == 202
        assert feedback.json()["matched"] is True
        server.terminate()
        assert server.wait(timeout=30) == 0

    predictions = read_predictions(trained.store, MODEL)
    ours = predictions[predictions["request_id"] == first["request_id"]]
    assert list(ours["row"]) == [0, 1]
    assert ours["carrier"].tolist() == [trained.example["carrier"]] * 2
    joined = join_feedback(ours, read_feedback(trained.store, MODEL))
    assert joined.set_index("row")["label"].to_dict() == {0: None, 1: 1}


def test_two_workers_serve_and_stop(trained: Trained) -> None:
    with Server(trained.root, "--workers", "2", "--model", f"{MODEL}/1") as server:
        responses = [
            httpx.post(f"{server.url}/v1/predict", json={"records": [trained.example]})
            for _ in range(20)
        ]
        assert {r.status_code for r in responses} == {200}
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_unknown_model_exits_1_with_the_fix(trained: Trained) -> None:
    server = Server(trained.root, "--model", "flights-dalay@champion")
    code = server.wait(timeout=60)

    assert code == 1
    assert "Did you mean 'flights-delay'?" in server.output()


def test_busy_port_exits_1_before_loading(trained: Trained) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "modelyard", "serve", "--port", str(port)],
            cwd=trained.root,
            env=modelyard_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
