"""POST /v1/predict on real (small) models: answers, headers, and every way input goes wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_support import RECORD

from modelyard.serving.model import ServedModel

Serve = Callable[..., TestClient]


@pytest.mark.parametrize("key", ["onnx", "native"])
def test_one_record_gets_label_probabilities_version_and_request_id(
    key: str, load: Callable[..., ServedModel], serve: Serve
) -> None:
    model = load(key)
    client = serve(model)

    response = client.post("/v1/predict", json={"records": [RECORD]})

    assert response.status_code == 200
    body = response.json()
    assert body["model"] == {"name": "m", "version": 1}
    assert body["request_id"] == response.headers["x-request-id"]
    assert len(body["request_id"]) == 32
    assert response.headers["x-model-version"] == "1"
    (prediction,) = body["predictions"]
    assert set(prediction) == {"label", "probabilities"}
    assert set(prediction["probabilities"]) == {"0", "1"}
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    best = max(prediction["probabilities"], key=prediction["probabilities"].get)
    assert str(prediction["label"]) == best
    assert model.runtime.name == key


def test_onnx_and_native_runtimes_agree(load: Callable[..., ServedModel]) -> None:
    records = [RECORD, {**RECORD, "plane_age": None, "carrier": "AA", "dest": "unseen"}]
    onnx, native = load("onnx").predict(records), load("native").predict(records)
    for fast, slow in zip(onnx, native, strict=True):
        assert fast["label"] == slow["label"]
        for label in ("0", "1"):
            assert fast["probabilities"][label] == pytest.approx(
                slow["probabilities"][label], abs=1e-5
            )


def test_many_records_answer_in_order(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())
    records = [{**RECORD, "hour": hour} for hour in range(24)] * 3  # 72: runs in a worker thread

    body = client.post("/v1/predict", json={"records": records}).json()

    assert len(body["predictions"]) == 72
    singles = [
        client.post("/v1/predict", json={"records": [r]}).json()["predictions"][0]
        for r in records[:24]
    ]
    assert body["predictions"][:24] == singles


def test_regression_answers_values(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load("regression"))

    body = client.post("/v1/predict", json={"records": [RECORD, RECORD]}).json()

    assert [set(p) for p in body["predictions"]] == [{"value"}, {"value"}]
    assert isinstance(body["predictions"][0]["value"], float)


BAD = [
    pytest.param({"distance": "far"}, "records[0].distance", "float_type", id="wrong-type"),
    pytest.param({"distance": True}, "records[0].distance", "float_type", id="bool-for-number"),
    pytest.param({"hour": 7.5}, "records[0].hour", "int_type", id="float-for-int"),
    pytest.param({"hour": "7"}, "records[0].hour", "int_type", id="text-for-int"),
    pytest.param({"hour": True}, "records[0].hour", "value_error", id="bool-for-int"),
    pytest.param({"hour": 24}, "records[0].hour", "less_than_equal", id="above-max"),
    pytest.param({"distance": 0}, "records[0].distance", "greater_than_equal", id="below-min"),
    pytest.param({"carrier": "ZZ"}, "records[0].carrier", "literal_error", id="not-allowed"),
    pytest.param({"carrier": None}, "records[0].carrier", "literal_error", id="null-not-nullable"),
    pytest.param({"dest": None}, "records[0].dest", "string_type", id="null-string"),
    pytest.param({"surprise": 1}, "records[0].surprise", "extra_forbidden", id="extra-field"),
    pytest.param({"dest": "x" * 2000}, "records[0].dest", "string_too_long", id="long-text"),
]


@pytest.mark.parametrize(("change", "field", "rule"), BAD)
def test_invalid_record_gets_422_naming_field_and_rule(
    change: dict[str, Any], field: str, rule: str, load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())

    response = client.post("/v1/predict", json={"records": [{**RECORD, **change}]})

    assert response.status_code == 422
    assert response.headers["x-model-version"] == "1"
    error = response.json()["error"]
    assert error["type"] == "invalid_input"
    assert {"field": field, "rule": rule} in [
        {"field": f["field"], "rule": f["rule"]} for f in error["fields"]
    ]
    assert field in error["message"]


def test_missing_field_is_named(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())
    record = {k: v for k, v in RECORD.items() if k != "carrier"}

    error = client.post("/v1/predict", json={"records": [record]}).json()["error"]

    assert error["fields"] == [
        {"field": "records[0].carrier", "rule": "missing", "message": "Field required"}
    ]


def test_nullable_field_takes_null(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())

    response = client.post("/v1/predict", json={"records": [{**RECORD, "plane_age": None}]})

    assert response.status_code == 200


def test_integral_numbers_are_integers_as_json_schema_says(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())

    as_float = client.post("/v1/predict", json={"records": [{**RECORD, "hour": 17.0}]})
    as_int = client.post("/v1/predict", json={"records": [RECORD]})

    assert as_float.status_code == 200
    assert as_float.json()["predictions"] == as_int.json()["predictions"]


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        pytest.param({"records": []}, "records", "too_short", id="no-records"),
        pytest.param({"records": [RECORD] * 101}, "records", "too_long", id="over-batch-cap"),
        pytest.param({"record": RECORD}, "records", "missing", id="wrong-envelope"),
        pytest.param([RECORD], "body", "dict_type", id="bare-list"),
        pytest.param({"records": RECORD}, "records", "list_type", id="records-not-a-list"),
    ],
)
def test_request_envelope_is_checked(
    body: Any, field: str, rule: str, load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())

    response = client.post("/v1/predict", json=body)

    assert response.status_code == 422
    assert (field, rule) in [(f["field"], f["rule"]) for f in response.json()["error"]["fields"]]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="malformed"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, id="nested-10k-deep"),
        pytest.param(b'{"records": [{"distance": NaN}]}', id="nan"),
        pytest.param(b"", id="empty"),
    ],
)
def test_bad_json_is_422_never_500(
    raw: bytes, load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())

    response = client.post("/v1/predict", content=raw, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.json()["error"]["type"] == "invalid_input"


def test_body_must_be_json(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())

    response = client.post("/v1/predict", data={"records": "x"})  # a form, as curl -d sends

    assert response.status_code == 415
    assert "application/json" in response.json()["error"]["message"]


def test_oversized_body_is_413_from_content_length(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load(), max_body_bytes=1000)
    body = json.dumps({"records": [RECORD] * 20}).encode()

    response = client.post(
        "/v1/predict", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["error"]["type"] == "body_too_large"


def test_oversized_chunked_body_is_413_while_streaming(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load(), max_body_bytes=1000)
    chunk = json.dumps(RECORD).encode()

    def chunks() -> Any:  # no Content-Length: the cap applies as the body arrives
        yield b'{"records": ['
        for _ in range(50):
            yield chunk + b","
        yield chunk + b"]}"

    response = client.post(
        "/v1/predict", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413


def test_errors_carry_no_trace_path_or_echoed_header(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())
    evil = "<script>alert(1)</script>"

    responses = [
        client.post(
            "/v1/predict",
            json={"records": [{**RECORD, "hour": evil}]},
            headers={"x-evil": evil, "user-agent": evil},
        ),
        client.get("/nowhere", headers={"x-evil": evil}),
        client.put("/v1/predict", headers={"x-evil": evil}),
        client.post("/v1/predict", content=b"{", headers={"content-type": "application/json"}),
    ]

    for response in responses:
        text = response.text
        assert response.status_code in (404, 405, 422)
        assert set(response.json()) == {"error"}
        assert set(response.json()["error"]) == {"type", "message", "fields"}
        assert evil not in text
        assert "Traceback" not in text
        assert "/work" not in text
        assert ".py" not in text


def test_unexpected_failure_is_a_bare_500(
    load: Callable[..., ServedModel], serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load()
    client = serve(model)

    def explode(records: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(model.runtime, "predict", explode)
    response = client.post("/v1/predict", json={"records": [RECORD]})

    assert response.status_code == 500
    assert response.json()["error"]["type"] == "internal_error"
    assert "secret" not in response.text
    assert "/etc" not in response.text
    assert response.headers["x-request-id"] in response.json()["error"]["message"]


def test_foreign_host_gets_400_without_echo(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())

    response = client.get("/health/live", headers={"host": "evil.example"})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_host"
    assert "evil.example" not in response.text


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "[::1]:8000", "LOCALHOST:1"])
def test_loopback_hosts_are_answered(
    host: str, load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())

    assert client.get("/health/live", headers={"host": host}).status_code == 200


def test_no_cors_headers_for_foreign_origins(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())
    origin = {"origin": "http://evil.example", "access-control-request-method": "POST"}

    preflight = client.options("/v1/predict", headers=origin)
    simple = client.post("/v1/predict", json={"records": [RECORD]}, headers=origin)

    for response in (preflight, simple):
        assert "access-control-allow-origin" not in response.headers
