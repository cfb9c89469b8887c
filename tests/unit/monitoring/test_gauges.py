"""Monitoring gauges: values from a real report, the names deploy/ reads, and the server."""

from __future__ import annotations

import math
import re
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from modelyard.errors import ServingError
from modelyard.monitoring.drift import detect_drift, prediction_drift
from modelyard.monitoring.gauges import GaugeServer, monitor_registry
from modelyard.monitoring.quality import QualityReport
from modelyard.monitoring.result import Breach, MonitorResult

from .builders import monitor_result, quality_report

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"

QUALITY = quality_report(
    metrics={"roc_auc": 0.64, "accuracy": 0.79, "log_loss": math.nan},
    promised={"roc_auc": 0.69, "accuracy": 0.80},
    degraded=True,
)


def monitor_report(
    seed: int, shift: float = 1.0, quality: QualityReport | None = QUALITY
) -> MonitorResult:
    rng = np.random.default_rng(seed)
    rows = 300
    reference = pd.DataFrame(
        {
            "distance": rng.normal(size=rows),
            "dep_hour": rng.normal(12, 3, size=rows),
            "carrier": rng.choice(["AA", "UA", "DL"], size=rows),
        }
    )
    current = pd.DataFrame(
        {
            "distance": rng.normal(shift, size=rows),
            "dep_hour": rng.normal(12, 3, size=rows),
            "carrier": rng.choice(["AA", "UA", "DL"], size=rows),
        }
    )
    prediction = prediction_drift(rng.uniform(size=rows), rng.uniform(size=rows) ** 2, "numeric")
    return monitor_result(
        detect_drift(reference, current),
        prediction=prediction,
        quality=quality,
        breaches=Breach.DRIFT,
    )


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found[(name, frozenset(labels.items()))]


def scrape(url: str, accept: str | None = None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode()


# --- the registry ----------------------------------------------------------------------------


def test_gauges_hold_the_report_values(seed: int) -> None:
    report = monitor_report(seed)
    drift, prediction = report.drift, report.prediction_drift
    assert prediction is not None

    found = samples(generate_latest(monitor_registry(report)).decode())

    assert value(found, "modelyard_drift_share") == pytest.approx(drift.share_drifted)
    assert value(found, "modelyard_dataset_drift") == float(drift.dataset_drifted)
    for column in drift.columns:
        name, method = column.column, column.method
        assert value(found, "modelyard_feature_drift", feature=name) == float(column.drifted)
        assert value(
            found, "modelyard_feature_drift_score", feature=name, method=method
        ) == pytest.approx(column.statistic)
    assert value(found, "modelyard_feature_drift", feature="distance") == 1.0  # shifted by 1 sd
    assert value(found, "modelyard_prediction_drift") == float(prediction.drifted)
    assert value(
        found, "modelyard_prediction_drift_score", method=prediction.method
    ) == pytest.approx(prediction.statistic)
    assert value(found, "modelyard_quality_metric", metric="roc_auc") == 0.64
    assert value(found, "modelyard_quality_promised", metric="accuracy") == 0.80
    assert ("modelyard_quality_metric", frozenset({("metric", "log_loss")})) not in found
    assert value(found, "modelyard_quality_degraded") == 1.0
    assert (
        value(
            found,
            "modelyard_monitor_info",
            model="flights-delay",
            model_version="3",
            alias="champion",
        )
        == 1.0
    )
    assert value(found, "modelyard_monitor_last_run_timestamp_seconds") == (
        report.generated_at.timestamp()
    )


def test_a_report_without_labels_has_no_quality_gauges(seed: int) -> None:
    found = samples(generate_latest(monitor_registry(monitor_report(seed, quality=None))).decode())

    assert not [name for name, _ in found if name.startswith("modelyard_quality_")]
    assert value(found, "modelyard_drift_share") >= 0.0


def test_a_column_without_a_statistic_keeps_its_flag_but_no_score(seed: int) -> None:
    report = monitor_report(seed)
    first, *rest = report.drift.columns
    empty = replace(first, statistic=math.nan, drifted=True)
    report = replace(report, drift=replace(report.drift, columns=(empty, *rest)))

    found = samples(generate_latest(monitor_registry(report)).decode())

    name = first.column
    assert value(found, "modelyard_feature_drift", feature=name) == 1.0
    assert not [
        key
        for key in found
        if key[0] == "modelyard_feature_drift_score" and ("feature", name) in key[1]
    ]


def test_every_monitoring_metric_deploy_reads_is_exported_with_its_labels(seed: int) -> None:
    table = re.findall(
        r"^\| `(modelyard_[a-z0-9_]+)` \|[^|]*\| ([^|]*) \| monitoring \|",
        (DEPLOY / "README.md").read_text(),
        re.M,
    )
    families = {
        family.name: family
        for family in text_string_to_metric_families(
            generate_latest(monitor_registry(monitor_report(seed))).decode()
        )
    }

    assert {name for name, _ in table} >= {"modelyard_drift_share", "modelyard_feature_drift"}
    for name, labels in table:
        expected = set() if labels.strip() == "—" else {s.strip() for s in labels.split(",")}
        assert name in families, f"{name} is read by deploy/ but not exported"
        assert {k for s in families[name].samples for k in s.labels} == expected, name


# --- the server ------------------------------------------------------------------------------


def test_server_answers_metrics_on_loopback_and_reflects_updates(seed: int) -> None:
    with GaugeServer(monitor_report(seed, shift=0.0)) as server:
        assert server.host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        content_type, before = scrape(server.url)
        server.update(monitor_report(seed, shift=2.0))
        _, after = scrape(server.url)

    assert content_type.startswith("text/plain")
    assert value(samples(before), "modelyard_feature_drift", feature="distance") == 0.0
    assert value(samples(after), "modelyard_feature_drift", feature="distance") == 1.0


def test_server_speaks_openmetrics_when_asked(seed: int) -> None:
    with GaugeServer(monitor_report(seed)) as server:
        content_type, body = scrape(server.url, "application/openmetrics-text; version=1.0.0")

    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith("# EOF")


def test_server_without_a_report_serves_an_empty_page() -> None:
    with GaugeServer() as server:
        _, body = scrape(server.url)

    assert body == ""


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [("/", "GET", 404), ("/metricsx", "GET", 404), ("/metrics", "POST", 501)],
)
def test_server_serves_only_get_metrics(seed: int, path: str, method: str, status: int) -> None:
    with GaugeServer(monitor_report(seed)) as server:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}{path}",
            method=method,
            data=b"" if method == "POST" else None,
        )
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=5)

    answer.value.close()
    assert answer.value.code == status


def test_scrapes_during_updates_see_one_whole_report(seed: int) -> None:
    reports = [monitor_report(seed + i, shift=i * 0.5) for i in range(4)]
    shares = {r.drift.share_drifted for r in reports}
    seen: list[float] = []
    with GaugeServer(reports[0]) as server:
        stop = threading.Event()

        def update_forever() -> None:
            for i in range(400):  # bounded: about 2 s at most
                if stop.is_set():
                    break
                server.update(reports[i % len(reports)])

        worker = threading.Thread(target=update_forever)
        worker.start()
        try:
            for _ in range(30):
                found = samples(scrape(server.url)[1])
                seen.append(value(found, "modelyard_drift_share"))
                assert len([k for k in found if k[0] == "modelyard_feature_drift"]) == 3
        finally:
            stop.set()
            worker.join(10)

    assert set(seen) <= shares


def test_close_frees_the_port(seed: int) -> None:
    server = GaugeServer(monitor_report(seed))
    port = server.port
    server.close()
    server.close()  # twice is fine

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # would raise EADDRINUSE if still held


def test_a_port_in_use_is_a_serving_error(seed: int) -> None:
    with GaugeServer() as first, pytest.raises(ServingError, match=f"127.0.0.1:{first.port}"):
        GaugeServer(port=first.port)
