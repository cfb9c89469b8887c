"""The monitor report opens in headless Chromium, offline, with no failed or external request.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: commands
on fd 3, replies and events on fd 4, each a JSON message ended by a NUL byte), so every request
the page makes, blocked or not, is seen. Host names resolve to nothing, so nothing could leave
the machine even if the page asked. Install Chromium with ``make browser-tools``.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from modelyard.monitoring.drift import detect_drift, prediction_drift
from modelyard.monitoring.histograms import column_distribution, distributions
from modelyard.monitoring.html import (
    CURRENT_COLOUR,
    REFERENCE_COLOUR,
    render_report_html,
    write_report_html,
)
from modelyard.monitoring.methods import Kind
from modelyard.monitoring.quality import MetricComparison, QualityReport, QualityWindow
from modelyard.monitoring.result import (
    AlertAction,
    Breach,
    CurrentWindow,
    MonitoredModel,
    MonitorResult,
    ReferenceWindow,
    Verdict,
)

pytestmark = pytest.mark.integration

TIMEOUT_S = 60.0
WIDTH, HEIGHT = 1280, 2000
LOCAL_SCHEMES = ("file:", "data:", "about:")
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    f"--window-size={WIDTH},{HEIGHT}",
]  # fmt: skip


PLACE_PIPES = """
import os, sys
commands, replies = (os.dup(int(fd)) for fd in sys.argv[1:3])
os.dup2(commands, 3)
os.dup2(replies, 4)
os.set_inheritable(3, True)  # dup2 onto itself keeps close-on-exec
os.set_inheritable(4, True)
os.closerange(5, 256)
os.execv(sys.argv[3], sys.argv[3:])
"""
"""Runs in the child: puts the pipe ends on fds 3 and 4, where Chromium expects them."""


def browser_required() -> bool:
    """As for PostgreSQL and Redis (tests/conftest.py): in CI a missing browser fails."""
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("MODELYARD_REQUIRE_SERVICES") == "1"
    )


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "chromium is not installed (run `make browser-tools`)"
        if browser_required():
            pytest.fail(f"{message}, and CI requires it", pytrace=False)
        pytest.skip(message)
    return path


@dataclass
class Visit:
    """What Chromium saw while loading one page."""

    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    page: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""

    @property
    def external(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)]


class DevTools:
    """A DevTools protocol client on Chromium's pipe; every wait ends by ``deadline``."""

    def __init__(self, reader: int, writer: int, deadline: float, visit: Visit) -> None:
        self.reader, self.writer, self.deadline, self.visit = reader, writer, deadline, visit
        self.buffer, self.next_id, self.urls = b"", 0, {}
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise AssertionError(f"{method} failed: {reply['error']}")
                return dict(reply.get("result", {}))

    def wait_for(self, event: str) -> dict[str, Any]:
        while True:
            for index, seen in enumerate(self.events):
                if seen["method"] == event:
                    return dict(self.events.pop(index).get("params", {}))
            self._receive()

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            ready, _, _ = select.select([self.reader], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"Chromium did not answer within {TIMEOUT_S:.0f} s")
            chunk = os.read(self.reader, 1 << 20)
            if not chunk:
                raise ConnectionError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        if "method" in message:
            self._record(message)
        return message

    def _record(self, event: dict[str, Any]) -> None:
        method, params = event["method"], event.get("params", {})
        self.events.append(event)
        if method == "Network.requestWillBeSent":
            self.urls[params["requestId"]] = params["request"]["url"]
            self.visit.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            url = self.urls.get(params["requestId"], "?")
            reason = params.get("blockedReason") or params.get("errorText")
            self.visit.failures.append(f"{url}: {reason}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            self.visit.failures.append(f"{params['response']['url']}: HTTP {params['response']}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.visit.errors.append(params["entry"]["text"])
        elif method == "Runtime.exceptionThrown":
            self.visit.errors.append(str(params["exceptionDetails"].get("text")))


def visit(chromium: str, page: Path, profile: Path) -> Visit:
    """Open ``page`` in a fresh headless Chromium; return its requests and a full screenshot."""
    commands_in, commands_out = os.pipe()  # Chromium reads commands on fd 3
    replies_in, replies_out = os.pipe()  # and writes replies and events on fd 4
    log = (profile.parent / "chromium.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", PLACE_PIPES, str(commands_in), str(replies_out), chromium, *FLAGS,
         f"--user-data-dir={profile}"],
        pass_fds=(commands_in, replies_out), stdin=subprocess.DEVNULL,
        stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    os.close(commands_in)
    os.close(replies_out)
    found = Visit()
    try:
        tools = DevTools(replies_in, commands_out, time.monotonic() + TIMEOUT_S, found)
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Page", "Log", "Runtime"):
            tools.call(f"{domain}.enable", session)
        tools.call(
            "Emulation.setDeviceMetricsOverride", session,
            width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False,
        )  # fmt: skip
        navigation = tools.call("Page.navigate", session, url=page.as_uri())
        assert "errorText" not in navigation, navigation
        tools.wait_for("Page.loadEventFired")
        facts = "({title: document.title, scripts: document.scripts.length, svgs: "
        facts += "document.querySelectorAll('svg').length, text: document.body.innerText})"
        found.page = tools.call("Runtime.evaluate", session, expression=facts, returnByValue=True)[
            "result"
        ]["value"]
        size = tools.call("Page.getLayoutMetrics", session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = tools.call(
            "Page.captureScreenshot", session, format="png", clip=clip, captureBeyondViewport=True
        )
        found.screenshot = base64.b64decode(shot["data"])
        tools.call("Browser.close")
        process.wait(timeout=max(tools.deadline - time.monotonic(), 1))
    finally:
        os.close(replies_in)
        os.close(commands_out)
        log.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the group holds only what we started
            process.wait(timeout=10)
    return found


def build_report(seed: int) -> MonitorResult:
    rng = np.random.default_rng(seed)
    rows = 800
    reference = pd.DataFrame(
        {"temp": rng.normal(50, 10, rows), "carrier": rng.choice(["AA", "DL", "UA"], rows),
         "<img src=x onerror=alert(1)>": rng.uniform(0, 1, rows)}
    )  # fmt: skip
    current = pd.DataFrame(
        {"temp": rng.normal(62, 10, rows), "carrier": rng.choice(["AA", "DL", "B6"], rows),
         "<img src=x onerror=alert(1)>": rng.uniform(0, 1, rows)}
    )  # fmt: skip
    kinds: dict[str, Kind] = {column: "numeric" for column in reference}
    kinds["carrier"] = "categorical"
    drift = detect_drift(reference, current, columns=kinds)
    scores = rng.beta(2, 5, rows), rng.beta(3, 5, rows)
    shown = distributions(reference, current, kinds)
    shown["prediction"] = column_distribution(pd.Series(scores[0]), pd.Series(scores[1]), "numeric")
    day = dt.timedelta(days=1)
    first = dt.datetime(2013, 7, 1, tzinfo=dt.UTC)
    windows = tuple(
        QualityWindow(start=first + i * day, end=first + (i + 1) * day, rows=300,
                      metrics={"roc_auc": 0.68 - 0.02 * i})
        for i in range(6)
    )  # fmt: skip
    roc = MetricComparison(metric="roc_auc", promised=0.69, observed=0.58, change=-0.11,
                           tolerance=0.05, higher_is_better=True, degraded=True)  # fmt: skip
    return MonitorResult(
        model=MonitoredModel(name="flights-delay", version=3, alias="champion",
                             task="binary_classification"),
        generated_at=dt.datetime(2026, 11, 26, 1, 2, 3, tzinfo=dt.UTC),
        reference=ReferenceWindow(description="training split of flights-delay v3", rows=rows,
                                  data_digest="0f" * 32),
        current=CurrentWindow(description="prediction log, last 7 days", rows=rows,
                              rows_of_this_version=rows, since=first, until=first + 7 * day),
        verdict=Verdict(breaches=Breach.DRIFT | Breach.DEGRADED, enough_rows=True,
                        reasons=(f"{drift.n_drifted} of {len(drift.columns)} features drifted",
                                 "roc_auc 0.58 is 0.11 below the card's 0.69")),
        drift=drift,
        prediction_drift=prediction_drift(*scores),
        distributions=shown,
        quality=QualityReport(task="binary_classification", labelled_rows=1800,
                              unlabelled_rows=200, unusable_rows=0, unusable_examples=(),
                              metrics={"roc_auc": 0.58}, promised={"roc_auc": 0.69},
                              comparisons=(roc,), degraded=True, windows=windows),
        actions=(AlertAction(target="https://hooks.slack.com", ok=True, detail="posted",
                             trigger="drift+degraded"),),
    )  # fmt: skip


def pixels_near(picture: np.ndarray, colour: str) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return int((np.abs(picture[..., :3] - rgb).max(axis=-1) < 0.03).sum())


def test_the_report_renders_offline_with_no_failed_request(
    chromium: str, seed: int, tmp_path: Path
) -> None:
    report = build_report(seed)
    page = write_report_html(report, tmp_path / "report" / "monitor.html")

    seen = visit(chromium, page, tmp_path / "profile")

    assert seen.requests == [page.as_uri()]  # the page itself, and nothing else
    assert seen.external == []
    assert seen.failures == []
    assert seen.errors == []
    assert seen.page["title"] == "Monitoring report: flights-delay v3"
    assert seen.page["scripts"] == 0  # the column named like an <img onerror> stayed text
    assert "<img src=x onerror=alert(1)>" in seen.page["text"]
    assert seen.page["svgs"] == len(report.distributions) + 1

    shot = tmp_path / "monitor.png"
    shot.write_bytes(seen.screenshot)
    picture = image.imread(io.BytesIO(seen.screenshot), format="png")
    assert picture.shape[1] == WIDTH
    assert picture.shape[0] > 1500  # the whole page, not one screen of it
    assert picture[..., :3].std() > 0.05  # not blank
    # Both windows' bars were drawn, in their colours.
    assert pixels_near(picture, REFERENCE_COLOUR) > 2000
    assert pixels_near(picture, CURRENT_COLOUR) > 2000


def test_an_external_reference_would_be_caught(chromium: str, seed: int, tmp_path: Path) -> None:
    """The check above can fail: a page that asks for remote files is seen doing so."""
    remote = '<img src="https://cdn.example.invalid/logo.png" alt="">'
    remote += '<link rel="stylesheet" href="http://fonts.example.invalid/font.css">'
    page = tmp_path / "leaky.html"
    page.write_text(render_report_html(build_report(seed)).replace("<main>", "<main>" + remote))

    seen = visit(chromium, page, tmp_path / "profile")

    assert sorted(seen.external) == [
        "http://fonts.example.invalid/font.css",
        "https://cdn.example.invalid/logo.png",
    ]
    assert len(seen.failures) == 2, seen.failures
