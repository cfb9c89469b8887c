"""Metrics, the prediction log, feedback, and reading them back for monitoring."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from serving_support import RECORD

from modelyard.serving.model import ServedModel
from modelyard.serving.prediction_history import join_feedback, read_feedback, read_predictions
from modelyard.serving.prediction_log import PREDICTION_SCHEMA, ParquetLog, prediction_rows
from modelyard.serving.settings import ServeSettings

Serve = Callable[..., TestClient]


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_requests_latency_classes_and_model(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    client = serve(load())
    for _ in range(3):
        client.post("/v1/predict", json={"records": [RECORD, RECORD]})
    client.post("/v1/predict", json={"records": [{**RECORD, "hour": 99}]})

    found = samples(client)

    ok = (("method", "POST"), ("model_version", "1"), ("route", "/v1/predict"), ("status", "200"))
    bad = (("method", "POST"), ("model_version", "1"), ("route", "/v1/predict"), ("status", "422"))
    assert found[("modelyard_http_requests_total", ok)] == 3
    assert found[("modelyard_http_requests_total", bad)] == 1
    assert found[("modelyard_http_request_duration_seconds_count", ok)] == 3
    by_class = {
        labels: v for (name, labels), v in found.items() if name == "modelyard_predictions_total"
    }
    assert sum(by_class.values()) == 6
    info = (("model", "m"), ("model_version", "1"), ("runtime", "onnx"))
    assert found[("modelyard_model_info", info)] == 1
    assert found[("modelyard_http_requests_in_flight", ())] == 1  # the /metrics request itself


def test_two_apps_in_one_process_keep_their_own_metrics(
    load: Callable[..., ServedModel], serve: Serve
) -> None:
    first, second = serve(load()), serve(load())
    first.post("/v1/predict", json={"records": [RECORD]})

    key = (
        "modelyard_http_requests_total",
        (("method", "POST"), ("model_version", "1"), ("route", "/v1/predict"), ("status", "200")),
    )
    assert samples(first)[key] == 1
    assert key not in samples(second)


def test_unknown_routes_share_one_label(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())
    for index in range(5):
        client.get(f"/probe/{index}")

    routes = {
        dict(labels).get("route")
        for (name, labels) in samples(client)
        if name == "modelyard_http_requests_total"
    }
    assert "unmatched" in routes
    assert not any(route and route.startswith("/probe") for route in routes)


def test_predictions_and_feedback_are_logged_and_joined(
    load: Callable[..., ServedModel], serve: Serve, settings: ServeSettings
) -> None:
    before = dt.datetime.now(dt.UTC)
    client = serve(load())
    first = client.post("/v1/predict", json={"records": [RECORD, {**RECORD, "hour": 3}]}).json()
    second = client.post("/v1/predict", json={"records": [RECORD]}).json()
    labelled = client.post(
        "/v1/feedback", json={"request_id": first["request_id"], "label": 1, "row": 1}
    )
    stranger = client.post("/v1/feedback", json={"request_id": "f" * 32, "label": 0})
    client.__exit__(None, None, None)  # shutdown writes what is queued

    assert labelled.status_code == 202
    assert labelled.json() == {"request_id": first["request_id"], "accepted": True, "matched": True}
    assert stranger.json()["matched"] is False
    predictions = read_predictions(settings.store, "m")
    assert len(predictions) == 3
    assert set(predictions["request_id"]) == {first["request_id"], second["request_id"]}
    row = predictions[
        (predictions["request_id"] == first["request_id"]) & (predictions["row"] == 1)
    ]
    assert row["hour"].item() == 3
    assert row["carrier"].item() == "UA"
    assert row["version"].item() == 1
    assert row["model"].item() == "m"
    assert row["prediction"].item() == first["predictions"][1]["label"]
    assert row["probabilities"].item() == first["predictions"][1]["probabilities"]
    assert (predictions["timestamp"] >= before).all()
    feedback = read_feedback(settings.store, "m")
    assert sorted(feedback["matched"]) == [False, True]
    joined = join_feedback(predictions, feedback)
    assert len(joined) == 3
    labels = joined.set_index(["request_id", "row"])["label"]
    assert labels[(first["request_id"], 1)] == 1
    assert labels[(first["request_id"], 0)] is None
    files = list((settings.store / "predictions" / "model=m").glob("date=*/part-*.parquet"))
    assert files
    assert not list(settings.store.rglob(".*tmp"))


def test_feedback_label_must_be_a_class(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())

    response = client.post("/v1/feedback", json={"request_id": "a" * 32, "label": 7})
    boolean = client.post("/v1/feedback", json={"request_id": "a" * 32, "label": False})
    integral = client.post("/v1/feedback", json={"request_id": "a" * 32, "label": 1.0, "row": 2.0})
    bad_id = client.post("/v1/feedback", json={"request_id": "../../x", "label": 1})

    assert response.status_code == 422
    assert boolean.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "label"
    assert boolean.json()["error"]["fields"][0]["field"] == "label"
    assert integral.status_code == 202
    assert bad_id.status_code == 422
    assert bad_id.json()["error"]["fields"][0]["field"] == "request_id"


def test_log_can_be_turned_off(
    load: Callable[..., ServedModel], serve: Serve, settings: ServeSettings
) -> None:
    client = serve(load(), prediction_log=False)
    request_id = client.post("/v1/predict", json={"records": [RECORD]}).json()["request_id"]

    feedback = client.post("/v1/feedback", json={"request_id": request_id, "label": 1}).json()

    client.__exit__(None, None, None)
    assert feedback == {"request_id": request_id, "accepted": False, "matched": True}
    assert not (settings.store / "predictions").exists()


def exchange(request_id: str, when: float, value: float) -> tuple[object, ...]:
    """A log entry as the predict route makes it: the request and response bodies."""
    request = json.dumps({"records": [RECORD]}).encode()
    response = json.dumps({"request_id": request_id, "predictions": [{"value": value}]}).encode()
    return (request_id, when, "m", 1, 1, request, response)


def test_window_reads_only_its_rows(tmp_path: Path) -> None:
    log = ParquetLog(
        tmp_path / "predictions",
        "m",
        PREDICTION_SCHEMA,
        prediction_rows,
        flush_rows=1000,
        flush_s=60,
        queue_size=100,
    )
    log.start()
    day = 86_400
    for index, when in enumerate([day * 19_000 + 10, day * 19_001 + 10, day * 19_002 + 10]):
        log.put(exchange(f"{index:032x}", when, float(index)))
    log.close()

    everything = read_predictions(tmp_path, "m")
    middle = read_predictions(tmp_path, "m", since=dt.date(2022, 1, 9), until="2022-01-10")

    assert list(everything["prediction"]) == [0.0, 1.0, 2.0]
    assert list(middle["prediction"]) == [1.0]
    assert len(list(tmp_path.glob("predictions/model=m/date=*"))) == 3
    assert read_predictions(tmp_path, "other").empty


def test_a_full_log_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    dropped: list[int] = []
    log = ParquetLog(
        tmp_path,
        "m",
        PREDICTION_SCHEMA,
        prediction_rows,
        flush_rows=10,
        flush_s=60,
        queue_size=5,
        on_drop=lambda: dropped.append(1),
    )
    entry = exchange("0" * 32, time.time(), 1.0)

    started = time.perf_counter()
    kept = [log.put(entry) for _ in range(50)]  # no writer running: the queue fills

    assert time.perf_counter() - started < 0.1
    assert kept.count(True) == 5
    assert len(dropped) == 45


def test_model_names_in_paths_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Invalid model name"):
        read_predictions(tmp_path, "../etc")
