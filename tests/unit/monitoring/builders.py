"""Typed monitoring results for the renderers' tests: real drift reports, chosen verdicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from modelyard.monitoring.histograms import Distribution
from modelyard.monitoring.quality import MetricComparison, QualityReport, QualityWindow
from modelyard.monitoring.report import ColumnDrift, DriftReport
from modelyard.monitoring.result import (
    Action,
    Breach,
    CurrentWindow,
    MonitoredModel,
    MonitorResult,
    ReferenceWindow,
    Verdict,
)

GENERATED = dt.datetime(2026, 11, 26, 1, 2, 3, tzinfo=dt.UTC)
BOTH = Breach.DRIFT | Breach.DEGRADED


def comparison(
    metric: str, promised: float, observed: float, *, tolerance: float = 0.05
) -> MetricComparison:
    change = observed - promised
    return MetricComparison(
        metric=metric,
        promised=promised,
        observed=observed,
        change=change,
        tolerance=tolerance,
        higher_is_better=True,
        degraded=-change > tolerance,
    )


def quality_report(
    *,
    comparisons: Sequence[MetricComparison] = (),
    metrics: Mapping[str, float] | None = None,
    promised: Mapping[str, float] | None = None,
    windows: Sequence[QualityWindow] = (),
    labelled: int = 350,
    unlabelled: int = 50,
    degraded: bool | None = None,
) -> QualityReport:
    return QualityReport(
        task="binary_classification",
        labelled_rows=labelled,
        unlabelled_rows=unlabelled,
        unusable_rows=0,
        unusable_examples=(),
        metrics=metrics if metrics is not None else {c.metric: c.observed for c in comparisons},
        promised=promised if promised is not None else {c.metric: c.promised for c in comparisons},
        comparisons=tuple(comparisons),
        degraded=any(c.degraded for c in comparisons) if degraded is None else degraded,
        windows=tuple(windows),
    )


def daily_windows(values: Sequence[Mapping[str, float]], rows: int = 700) -> list[QualityWindow]:
    start = dt.datetime(2013, 7, 1, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    return [
        QualityWindow(start=start + i * day, end=start + (i + 1) * day, rows=rows, metrics=metrics)
        for i, metrics in enumerate(values)
    ]


def monitor_result(
    drift: DriftReport,
    *,
    prediction: ColumnDrift | None = None,
    distributions: Mapping[str, Distribution] | None = None,
    quality: QualityReport | None = None,
    breaches: Breach = BOTH,
    enough_rows: bool = True,
    reasons: Sequence[str] = (),
    actions: Sequence[Action] = (),
    alias: str | None = "champion",
    rows: tuple[int, int] = (600, 300),
) -> MonitorResult:
    return MonitorResult(
        model=MonitoredModel(
            name="flights-delay", version=3, alias=alias, task="binary_classification"
        ),
        generated_at=GENERATED,
        reference=ReferenceWindow(
            description="training split of flights-delay v3", rows=rows[0], data_digest="ab" * 32
        ),
        current=CurrentWindow(
            description="prediction log 2013-07-01 to 2013-07-08",
            rows=rows[1],
            rows_of_this_version=rows[1],
            since=dt.datetime(2013, 7, 1, tzinfo=dt.UTC),
            until=None,
        ),
        verdict=Verdict(breaches=breaches, enough_rows=enough_rows, reasons=tuple(reasons)),
        drift=drift,
        prediction_drift=prediction,
        distributions=dict(distributions or {}),
        quality=quality,
        actions=tuple(actions),
    )
