"""render_report_html and write_report_html: a self-contained, escaped, complete report page."""

from __future__ import annotations

import math
import os
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard.monitoring.drift import detect_drift, prediction_drift
from modelyard.monitoring.histograms import column_distribution, distributions
from modelyard.monitoring.html import render_report_html, write_report_html
from modelyard.monitoring.quality import QualityReport
from modelyard.monitoring.report import DriftReport
from modelyard.monitoring.result import (
    AlertAction,
    Breach,
    MonitorResult,
    RetrainAction,
    Verdict,
)

from .builders import comparison, daily_windows, monitor_result, quality_report

EVIL = "<script>alert(1)</script>"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
RESOURCE_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "action", "poster", "data"}


class Page(HTMLParser):
    """Parses a page strictly: every end tag must close the innermost open element."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self.texts: dict[str, list[str]] = {}
        self.title = ""  # the page's, not the tooltips' <title> inside SVG
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.rows[-1].append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if {"td", "th"} & set(self.stack):
            self.rows[-1][-1] += data
        for tag in self.stack:
            self.texts.setdefault(tag, []).append(data)
        if self.stack[-2:] == ["head", "title"]:
            self.title += data

    def text(self, tag: str) -> str:
        return " ".join(" ".join(self.texts.get(tag, [])).split())

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def windows(seed: int, rows: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(shift: float, colours: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "distance": rng.uniform(100, 2500, rows),
                "temp": rng.normal(50 + 20 * shift, 10, rows),
                "carrier": rng.choice(["AA", "B6", "DL", "UA"], rows, p=colours),
                EVIL: rng.normal(shift, 1, rows),
            }
        )

    return frame(0.0, [0.4, 0.3, 0.2, 0.1]), frame(1.0, [0.1, 0.2, 0.3, 0.4])


def quality() -> QualityReport:
    values = [{"roc_auc": 0.68 - 0.02 * i, "accuracy": 0.79} for i in range(5)]
    del values[2]["roc_auc"]  # no value in the third window: its line breaks there
    return quality_report(
        comparisons=[comparison("roc_auc", 0.69, 0.61), comparison("accuracy", 0.8, 0.79)],
        metrics={"roc_auc": 0.61, "accuracy": 0.79, "log_loss": math.nan},
        labelled=3500,
        unlabelled=500,
        windows=daily_windows(values),
    )


def build_result(seed: int, *, with_quality: bool = True) -> MonitorResult:
    reference, current = windows(seed)
    kinds = {"distance": "numeric", "temp": "numeric", "carrier": "categorical", EVIL: "numeric"}
    drift = detect_drift(reference, current, columns=kinds)
    rng = np.random.default_rng(seed + 1)
    scores = rng.beta(2, 5, 600), rng.beta(2.6, 5, 300)
    shown = distributions(reference, current, kinds)
    shown["prediction"] = column_distribution(pd.Series(scores[0]), pd.Series(scores[1]), "numeric")
    return monitor_result(
        drift,
        prediction=prediction_drift(*scores),
        distributions=shown,
        quality=quality() if with_quality else None,
        reasons=[
            f"{drift.n_drifted} of {len(drift.columns)} features drifted",
            "roc_auc 0.61 is 0.08 below the card's 0.69",
        ],
        actions=[
            AlertAction(target="https://hooks.slack.com", ok=True, detail="sent", trigger="drift"),
            retrain_action(),
        ],
    )


def retrain_action() -> RetrainAction:
    return RetrainAction(
        trigger="modelyard monitor: drift+degraded on flights-delay v3: ...",
        run_id="3f2a9c",
        version=4,
        promoted=True,
        champion=4,
        gates="all gates passed",
        why="beats the champion",
        metrics={"roc_auc": 0.7},
        window=None,
        detail="gates passed",
    )


@pytest.fixture
def report(seed: int) -> MonitorResult:
    return build_result(seed)


def test_the_page_is_well_formed_and_titled(report: MonitorResult) -> None:
    page = Page(render_report_html(report))

    assert page.problems == []
    assert page.title == "Monitoring report: flights-delay v3"
    assert "Data drift and quality degraded" in page.text("main")


def test_the_page_loads_nothing_from_anywhere(report: MonitorResult) -> None:
    text = render_report_html(report)
    page = Page(text)

    resources = [
        (tag, name, value)
        for tag, attrs in page.tags
        for name, value in attrs.items()
        if name in RESOURCE_ATTRIBUTES and not (value or "").startswith("data:")
    ]
    assert resources == []
    assert not {"script", "link", "iframe", "object", "embed", "img"} & {t for t, _ in page.tags}
    assert not re.search(r"@import|url\(", page.text("style"))
    policy = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert len(policy) == 1
    assert "default-src 'none'" in str(policy[0])
    # The only "https://" is the alert target, shown as text.
    assert text.count("https://") == 1
    assert ">https://hooks.slack.com<" in text


def test_column_names_from_the_data_stay_text(report: MonitorResult) -> None:
    text = render_report_html(report)
    page = Page(text)

    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert page.count("script") == 0
    assert any(row and row[0] == EVIL for row in page.rows)


def test_every_drifted_column_is_listed_first_and_marked(report: MonitorResult) -> None:
    page = Page(render_report_html(report))
    verdicts = {column.column: column.drifted for column in report.drift.columns}
    header = ["Column", "Kind", "Method", "Statistic", "p-value", "Threshold", "Drifted"]
    tables = [i for i, row in enumerate(page.rows) if row[:7] == header]
    assert len(tables) == 2  # the prediction, then the features

    features = page.rows[tables[1] + 1 : tables[1] + 1 + len(verdicts)]
    assert [row[0] for row in features] == sorted(verdicts, key=lambda c: not verdicts[c])
    assert {row[0]: row[6] == "drifted" for row in features} == verdicts
    assert sum(verdicts.values()) >= 2
    assert not all(verdicts.values())
    assert page.rows[tables[0] + 1][0] == "prediction"


def test_missing_numbers_show_as_a_dash(report: MonitorResult) -> None:
    first, *rest = report.drift.columns
    unmeasured = replace(first, statistic=math.nan, p_value=None)
    report = replace(report, drift=replace(report.drift, columns=(unmeasured, *rest)))
    page = Page(render_report_html(report))

    row = next(row for row in page.rows if row[0] == first.column)
    assert row[3:5] == ["\u2014", "\u2014"]
    assert "nan" not in " ".join(" ".join(row) for row in page.rows).lower()
    log_loss = next(row for row in page.rows if row[0] == "log_loss")
    assert log_loss[2] == "\u2014"


def test_each_distribution_is_drawn_with_both_windows(report: MonitorResult) -> None:
    page = Page(render_report_html(report))
    fills = [attrs.get("fill") for tag, attrs in page.tags if tag == "rect"]

    bars = sum(len(shown.reference) for shown in report.distributions.values())
    assert len(fills) == 2 * bars
    assert len(set(fills)) == 2
    captions = page.text("figcaption")
    for column in report.distributions:
        assert column in captions


def test_quality_compares_with_the_card_and_charts_each_metric(report: MonitorResult) -> None:
    page = Page(render_report_html(report))

    roc = next(row for row in page.rows if row[0] == "roc_auc")
    assert roc[1:4] == ["0.69", "0.61", "-0.08"]
    assert roc[-1] == "degraded"
    assert next(row for row in page.rows if row[0] == "accuracy")[-1] == "ok"
    # Two metrics over five windows; roc_auc has no value in the third, so its line breaks.
    assert page.count("circle") == 4 + 5
    assert page.count("polyline") == 2 + 1
    assert page.count("svg") == len(report.distributions) + 2


def test_without_labels_the_page_says_so(seed: int) -> None:
    page = Page(render_report_html(build_result(seed, with_quality=False)))

    assert "No labels yet" in page.text("main")
    assert page.count("polyline") == 0


@pytest.mark.parametrize(
    ("breaches", "enough_rows", "status", "css_class"),
    [
        pytest.param(Breach(0), True, "ok", "ok", id="ok"),
        pytest.param(Breach.DRIFT, True, "drift", "warn", id="drift"),
        pytest.param(Breach.DEGRADED, True, "degraded", "bad", id="degraded"),
        pytest.param(Breach.DEGRADED, False, "degraded", "bad", id="degraded-few-rows"),
        pytest.param(Breach(0), False, "not_enough_data", "unknown", id="not-enough-data"),
    ],
)
def test_the_banner_is_coloured_by_the_verdict(
    report: MonitorResult, breaches: Breach, enough_rows: bool, status: str, css_class: str
) -> None:
    verdict = Verdict(breaches=breaches, enough_rows=enough_rows, reasons=('"><b>odd',))
    page = Page(render_report_html(replace(report, verdict=verdict)))

    banners = [attrs["class"] for tag, attrs in page.tags if "verdict" in str(attrs.get("class"))]
    assert banners == [f"verdict {css_class}"]
    assert f"(status: {status})" in page.text("div")
    assert page.count("b") == 0  # a reason is text, never markup


def test_actions_show_what_was_done(report: MonitorResult) -> None:
    page = Page(render_report_html(report))

    assert ["alert", "https://hooks.slack.com", "sent", "sent"] in page.rows
    assert ["retrain", "run 3f2a9c, version 4", "promoted", "gates passed"] in page.rows
    failed = AlertAction(target="https://hooks.slack.com", ok=False, detail="HTTP 500", trigger="")
    page = Page(render_report_html(replace(report, actions=(failed,))))
    assert ["alert", "https://hooks.slack.com", "failed", "HTTP 500"] in page.rows
    assert "No actions taken." in Page(render_report_html(replace(report, actions=()))).text("main")


def test_a_sparse_result_still_renders() -> None:
    empty = DriftReport(
        columns=(), drift_share=0.3, dataset_drifted=False, n_drifted=0,
        reference_rows=10, current_rows=10,
    )  # fmt: skip
    page = Page(render_report_html(monitor_result(empty, breaches=Breach(0), alias=None)))

    assert page.problems == []
    assert "No feature drift was computed." in page.text("main")
    assert "No distributions were recorded." in page.text("main")
    assert "No labels yet" in page.text("main")


def test_write_replaces_the_page_whole(report: MonitorResult, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "monitor.html"
    target.parent.mkdir()
    target.write_text("old page", encoding="utf-8")

    written = write_report_html(report, target)

    assert written == target
    assert target.read_text(encoding="utf-8") == render_report_html(report)
    assert os.listdir(target.parent) == ["monitor.html"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_no_temporary_file(
    report: MonitorResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: object, destination: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)

    with pytest.raises(OSError, match="No space left"):
        write_report_html(report, tmp_path / "monitor.html")
    assert os.listdir(tmp_path) == []
