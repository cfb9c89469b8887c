"""The closed loop, end to end: `modelyard demo`, then `modelyard monitor` on what it left.

The demo is run once, as a user runs it (a child process, default settings): it trains on
January-April, serves, replays May-August over HTTP with labels, monitors, retrains on the
breach, gates, and watches the running server switch. The tests then read what it wrote and
call `modelyard monitor` on the same project for the options the demo does not use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

from modelyard.project import load_project
from modelyard.tracking.registry import Registry

pytestmark = pytest.mark.integration

DEMO_LIMIT_S = 600  # the demo takes ~2.5 min on 2 cores; a bound so a hang fails, not a timing


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}


def modelyard(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        capture_output=True, text=True, timeout=timeout, env=_env(), cwd=cwd, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("demo") / "flights-demo"
    start = time.monotonic()
    done = modelyard("demo", str(root), "--json", timeout=DEMO_LIMIT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    summary["wall_s"] = time.monotonic() - start
    summary["path"] = root
    return summary


def test_the_demo_retrains_on_drift_and_the_server_switches(demo: dict[str, Any]) -> None:
    versions = demo["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    first, second = versions
    assert first["promoted"]
    assert first["trigger"] == "modelyard train"
    # the retraining was automatic, triggered by monitoring, and went through the gates
    assert second["trigger"].startswith("modelyard monitor")
    assert second["promoted"], second["why"]
    assert "beats the champion" in second["why"]
    assert demo["replayed_rows"] == demo["feedback_labels"] == 4000
    # the replayed summer drifted on what changes with the season
    monitor = demo["monitor"]
    assert "drift" in monitor["status"]
    assert {"temp", "dewp", "month"} <= set(monitor["drifted"])
    assert {"origin", "carrier", "sched_dep_hour"}.isdisjoint(monitor["drifted"])
    # live quality was measured from the feedback labels and compared with the card
    assert {"roc_auc", "precision", "recall"} <= set(monitor["quality"])
    switch = demo["switch"]
    assert switch == switch | {"before": 1, "after": 2, "switched": True}
    assert demo["seconds"] < DEMO_LIMIT_S


def test_every_automatic_action_is_recorded(demo: dict[str, Any]) -> None:
    root: Path = demo["path"]
    lines = (root / ".modelyard" / "monitoring" / "actions.jsonl").read_text().splitlines()
    actions = [json.loads(line) for line in lines]
    retrain = [a for a in actions if a["kind"] == "retrain"]
    assert len(retrain) == 1
    record = retrain[0]
    assert record["model"] == "flights-delay"
    assert record["version"] == 2
    assert record["trigger"].startswith("modelyard monitor: drift")
    project = load_project(root, env="demo")
    info = Registry(project.tracking_uri).version("flights-delay", 2)
    assert info.run_id == record["run_id"]
    assert info.tags["modelyard.trigger"] == record["trigger"]


def test_the_report_was_written_and_its_reference_is_the_lineage_snapshot(
    demo: dict[str, Any],
) -> None:
    root: Path = demo["path"]
    report_html = Path(demo["report"])
    assert report_html.is_file()
    assert report_html.read_text().startswith("<!DOCTYPE html>")
    report = json.loads(report_html.with_suffix(".json").read_text())
    assert report["model"] == report["model"] | {"name": "flights-delay", "version": 1}
    project = load_project(root, env="demo")
    tags = Registry(project.tracking_uri).version("flights-delay", 1).tags
    assert report["reference"]["data_digest"] == tags["modelyard.data_digest"]
    assert report["actions"][0]["kind"] == "retrain"
    assert set(report["distributions"]) >= {"temp", "month", "prediction"}


def test_monitor_on_the_old_version_finds_drift_and_decay(demo: dict[str, Any]) -> None:
    root: Path = demo["path"]
    done = modelyard("monitor", "-C", str(root), "--env", "demo", "--model", "flights-delay/1",
                     "--no-retrain", "--json", "--fail-on-breach")  # fmt: skip
    assert done.returncode == 3, done.stderr  # a breach, for CI
    report = json.loads(done.stdout)
    assert report["verdict"]["status"] == "drift+degraded"
    assert report["current"]["rows_of_this_version"] >= 4000  # and the probes before the switch
    quality = report["quality"]
    assert quality["labelled_rows"] == 4000
    degraded = [c for c in quality["comparisons"] if c["degraded"]]
    assert degraded
    for item in degraded:  # worse than the card by more than the tolerance, the right way
        worse = (
            item["promised"] - item["observed"]
            if item["higher_is_better"]
            else (item["observed"] - item["promised"])
        )
        assert worse > item["tolerance"]
    assert report["actions"] == []  # --no-retrain, and no webhook configured


def test_monitor_a_dataset_against_the_champion(demo: dict[str, Any], tmp_path: Path) -> None:
    root: Path = demo["path"]
    future = pd.read_parquet(root / "data" / "external" / "flights-2013-later.parquet")
    december = tmp_path / "december.parquet"
    future[future["month"] == 12].to_parquet(december)
    html = tmp_path / "december.html"
    done = modelyard("monitor", "-C", str(root), "--env", "demo", "--current", str(december),
                     "--no-retrain", "--html", str(html))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "flights-delay version 2" in done.stdout
    assert "temp" in done.stdout
    assert "no labels yet" in done.stdout
    assert html.is_file()


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_a_breach_is_announced_by_webhook_only_to_allowed_hosts(
    demo: dict[str, Any], webhook: str
) -> None:
    root: Path = demo["path"]
    _Hook.received.clear()
    overrides = {"monitoring.alerts.webhook": webhook}
    refused = load_project(root, env="demo", overrides=overrides)
    from modelyard.errors import ModelyardError

    with pytest.raises(ModelyardError, match="allow_hosts"):
        refused.monitor(model="flights-delay/1", retrain=False, write=False)
    assert _Hook.received == []

    allowed = load_project(
        root, env="demo", overrides={**overrides, "monitoring.alerts.allow_hosts": ["127.0.0.1"]}
    )
    result = allowed.monitor(model="flights-delay/1", retrain=False, write=False)
    (alert,) = result.actions
    assert alert.to_dict() == alert.to_dict() | {
        "kind": "alert", "ok": True, "target": webhook.rsplit("/", 1)[0], "trigger": "drift+degraded",
    }  # fmt: skip
    assert len(_Hook.received) == 1
    assert "flights-delay" in _Hook.received[0]["text"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "7x"], "'7x' is not a duration"),
        (["--since", "2001-01-01", "--until", "2001-01-02"], "has no rows"),
        (["--since", "yesterday"], "is not a date or time"),
        (["--model", "flights-delay/9"], "9"),
        (["--current", "missing.parquet"], "missing.parquet"),
    ],
)
def test_monitor_refuses_bad_input_clearly(
    demo: dict[str, Any], args: list[str], message: str
) -> None:
    done = modelyard("monitor", "-C", str(demo["path"]), "--env", "demo", "--no-retrain", *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_monitor_serves_its_results_as_prometheus_gauges(demo: dict[str, Any]) -> None:
    import re
    import signal
    import urllib.request

    argv = [sys.executable, "-m", "modelyard", "monitor", "-C", str(demo["path"]),
            "--env", "demo", "--model", "flights-delay/1", "--no-retrain", "--window", "30d",
            "--serve-metrics", "0", "--every", "3600"]  # fmt: skip
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, env=_env())  # fmt: skip
    assert process.stderr is not None
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            found = re.search(r"http://127\.0\.0\.1:\d+/metrics", line)
            url = found[0] if found else None
        assert url, "no gauges URL announced"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        assert re.search(r"^modelyard_drift_share \d", text, re.MULTILINE)
        assert 'modelyard_feature_drift{feature="temp"}' in text
        assert 'modelyard_quality_metric{metric="roc_auc"}' in text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stderr.close()


def test_the_same_data_on_both_sides_is_no_drift(demo: dict[str, Any]) -> None:
    root: Path = demo["path"]
    history = str(root / "data" / "raw" / "flights-2013-01-04.parquet")
    done = modelyard("monitor", "-C", str(root), "--env", "demo", "--no-retrain", "--json",
                     "--reference", history, "--current", history)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"]["status"] == "ok"
    assert report["drift"]["n_drifted"] == 0
    assert report["reference"]["description"] == f"dataset {history}"


def test_a_labelled_file_overrides_the_feedback(demo: dict[str, Any], tmp_path: Path) -> None:
    from modelyard.serving.prediction_history import read_feedback

    root: Path = demo["path"]
    feedback = read_feedback(root / ".modelyard", "flights-delay")
    flipped = feedback.assign(label=[1 - int(label) for label in feedback["label"]])
    labels = tmp_path / "labels.csv"
    flipped[["request_id", "row", "label"]].to_csv(labels, index=False)
    done = modelyard("monitor", "-C", str(root), "--env", "demo", "--model", "flights-delay/1",
                     "--no-retrain", "--json", "--labels", str(labels))  # fmt: skip
    assert done.returncode == 0, done.stderr
    auc = next(
        c for c in json.loads(done.stdout)["quality"]["comparisons"] if c["metric"] == "roc_auc"
    )
    assert auc["observed"] < 0.5  # every label flipped: the ranking is now backwards
    assert auc["degraded"]
