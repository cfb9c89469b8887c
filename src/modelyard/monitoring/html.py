"""The monitor report as one self-contained HTML page that opens offline.

``render_report_html(result)`` formats a ``MonitorResult``: the verdict, the two windows, drift
per feature, reference-versus-current distributions, quality over time, and the actions taken.
Charts are inline SVG drawn here; the stylesheet is inline; there is no script and no external
URL, and a Content-Security-Policy forbids loading anything.
Every string that comes from the data (column names, categories, descriptions) is escaped, so
a column named ``<script>`` stays text. Missing numbers show as an em dash.
"""

from __future__ import annotations

import html
import math
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.monitoring.result import RetrainAction

if TYPE_CHECKING:
    from modelyard.monitoring.histograms import Distribution
    from modelyard.monitoring.quality import MetricComparison, QualityReport, QualityWindow
    from modelyard.monitoring.report import ColumnDrift, DriftReport
    from modelyard.monitoring.result import Action, MonitorResult, Verdict

__all__ = ["render_report_html", "write_report_html"]

DASH = "\u2014"
REFERENCE_COLOUR, CURRENT_COLOUR, PROMISE_COLOUR = "#0969da", "#e16f24", "#59636e"
CSS = """
body{font:15px/1.5 system-ui,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px 32px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#59636e;margin:0 0 16px}.muted{color:#59636e}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.fail td:first-child{border-left:4px solid #cf222e}
tr.pass td:first-child{border-left:4px solid #1a7f37}
.verdict{border:1px solid;border-left-width:8px;border-radius:6px;padding:10px 16px;margin:12px 0}
.verdict strong{font-size:1.2em}.verdict ul{margin:4px 0 0;padding-left:20px}
.ok{background:#dafbe1;border-color:#1a7f37}.warn{background:#fff8c5;border-color:#9a6700}
.bad{background:#ffebe9;border-color:#cf222e}.unknown{background:#f6f8fa;border-color:#59636e}
.tag{display:inline-block;border-radius:10px;padding:0 8px;font-size:.85em;font-weight:600}
.tag.yes{background:#ffebe9;color:#a40e26}.tag.no{background:#dafbe1;color:#116329}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:8px;width:500px}
figcaption{font-weight:600;margin-bottom:4px;overflow-wrap:anywhere}
figcaption span{font-weight:400;color:#59636e}
.key{display:inline-block;width:12px;height:12px;vertical-align:-1px;margin:0 4px 0 12px}
svg text{font:11px system-ui,sans-serif;fill:#59636e}
""".strip()


def render_report_html(result: MonitorResult) -> str:
    """Return the monitoring result as one self-contained HTML page (no external resource)."""
    model = result.model
    title = f"Monitoring report: {model.name} v{model.version}"
    body = [
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">{_esc(_subtitle(result))}</p>',
        _verdict(result.verdict),
        _section("Data", _windows(result)),
        _section("Drift", _drift(result.drift, result.prediction_drift)),
        _section("Distributions", _distributions(result)),
        _section("Quality", _quality(result.quality)),
        _section("Actions", _actions(result.actions)),
    ]
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title><style>{CSS}</style></head>",
            "<body><main>",
            *body,
            "</main></body></html>",
            "",
        ]
    )


def write_report_html(result: MonitorResult, path: Path) -> Path:
    """Write the page to ``path`` (parent folders created) atomically, and return ``path``.

    A reader never sees half a page: it is written to a temporary file beside ``path`` and
    moved into place.
    """
    page = render_report_html(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    # open(..., "x") rather than mkstemp, so the page gets the usual umask-based permissions.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as stream:
            stream.write(page)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


# --- sections ---------------------------------------------------------------------------------


def _subtitle(result: MonitorResult) -> str:
    parts = [f"Task: {result.model.task}."]
    if result.model.alias:
        parts.append(f"Alias: {result.model.alias}.")
    parts.append(f"Generated: {result.generated_at.isoformat(timespec='seconds')}.")
    return " ".join(parts)


def _banner(verdict: Verdict) -> tuple[str, str]:
    """The banner's CSS class and title."""
    if verdict.is_drifted and verdict.is_degraded:
        return "bad", "Data drift and quality degraded"
    if verdict.is_degraded:
        return "bad", "Quality degraded"
    if verdict.is_drifted:
        return "warn", "Data drift"
    if verdict.enough_rows:
        return "ok", "No drift, no degradation"
    return "unknown", "Not enough data for a drift verdict"


def _verdict(verdict: Verdict) -> str:
    css, title = _banner(verdict)
    items = "".join(f"<li>{_esc(reason)}</li>" for reason in verdict.reasons)
    return (
        f'<div class="verdict {css}">'
        f"<strong>{_esc(title)}</strong> "
        f'<span class="muted">(status: {_esc(verdict.status)})</span>'
        + (f"<ul>{items}</ul>" if items else "")
        + "</div>"
    )


def _windows(result: MonitorResult) -> str:
    reference, current = result.reference, result.current
    digest = f"data digest {reference.data_digest[:12]}" if reference.data_digest else ""
    period = ""
    if current.since is not None or current.until is not None:
        period = " to ".join(
            moment.isoformat() if moment is not None else "…"
            for moment in (current.since, current.until)
        )
    rows = [
        ["Reference", reference.description, _int(reference.rows), digest],
        ["Current", current.description, _int(current.rows), period],
    ]
    return _table(["Window", "Description", "Rows", "Period / data"], rows, numeric={2})


def _drift(drift: DriftReport, prediction: ColumnDrift | None) -> str:
    if not drift.columns:
        return '<p class="muted">No feature drift was computed.</p>'
    summary = (
        f"{_int(drift.n_drifted)} of {_int(len(drift.columns))} "
        f"features drifted ({_pct(drift.share_drifted)}); the dataset counts as drifted from "
        f"{_pct(drift.drift_share)}: "
        + ("<strong>drifted</strong>." if drift.dataset_drifted else "not drifted.")
    )
    parts = [f"<p>{summary}</p>"]
    if prediction is not None:
        parts += ["<h3>Prediction</h3>", _drift_table([prediction])]
    ordered = sorted(drift.columns, key=lambda column: not column.drifted)
    parts += ["<h3>Features</h3>", _drift_table(ordered)]
    return "".join(parts)


def _drift_table(columns: Sequence[ColumnDrift]) -> str:
    headers = ["Column", "Kind", "Method", "Statistic", "p-value", "Threshold", "Drifted"]
    headers += ["Missing (ref → cur)", "Unseen categories"]
    rows, status = [], []
    for column in columns:
        unseen = [str(value) for value in column.unseen_categories]
        shown = ", ".join(unseen[:10]) + (
            f" (+{len(unseen) - 10} more)" if len(unseen) > 10 else ""
        )
        rows.append(
            [
                column.column,
                column.kind,
                column.method,
                _num(column.statistic),
                _num(column.p_value),
                _num(column.threshold),
                _Raw(
                    f'<span class="tag {"yes" if column.drifted else "no"}">'
                    f"{'drifted' if column.drifted else 'stable'}</span>"
                ),
                f"{_pct(column.reference_missing_rate)} → {_pct(column.current_missing_rate)}",
                shown or DASH,
            ]
        )
        status.append("fail" if column.drifted else "pass")
    return _table(headers, rows, numeric={3, 4, 5}, status=status)


def _distributions(result: MonitorResult) -> str:
    distributions = result.distributions
    if not distributions:
        return '<p class="muted">No distributions were recorded.</p>'
    drifted = set(result.drift.drifted_columns)
    if result.prediction_drift is not None and result.prediction_drift.drifted:
        drifted.add("prediction")
    names = sorted(distributions, key=lambda name: (name != "prediction", name not in drifted))
    legend = (
        f'<p><span class="key" style="background:{REFERENCE_COLOUR}"></span>reference'
        f'<span class="key" style="background:{CURRENT_COLOUR}"></span>current '
        '<span class="muted">— shares of each window\'s non-missing values; numeric bins are '
        "the reference's quantiles, drawn equally wide.</span></p>"
    )
    figures = []
    for name in names:
        data = distributions[name]
        note = "drifted" if name in drifted else "stable"
        missing = f"missing {_pct(data.reference_missing)} → {_pct(data.current_missing)}"
        figures.append(
            f"<figure><figcaption>{_esc(name)} <span>({note}; {_esc(missing)})</span>"
            f"</figcaption>{_bar_chart(data)}</figure>"
        )
    return legend + f'<div class="charts">{"".join(figures)}</div>'


def _quality(quality: QualityReport | None) -> str:
    if quality is None:
        return (
            '<p class="muted">No labels yet: quality is unmeasured until labels arrive '
            "(through <code>/v1/feedback</code> or a labelled file).</p>"
        )
    degraded = "degraded" if quality.degraded else "within tolerance"
    parts = [
        f"<p>{_int(quality.labelled_rows)} labelled rows, {_int(quality.unlabelled_rows)} still "
        f"without a label. Quality against the model card: <strong>{degraded}</strong>.</p>"
    ]
    comparisons = quality.comparisons
    compared = {c.metric for c in comparisons}
    rows, status = [], []
    for comparison in comparisons:
        better = "higher" if comparison.higher_is_better else "lower"
        rows.append(
            [
                comparison.metric,
                _num(comparison.promised),
                _num(comparison.observed),
                _signed(comparison.change),
                _num(comparison.tolerance),
                f"{better} is better",
                "degraded" if comparison.degraded else "ok",
            ]
        )
        status.append("fail" if comparison.degraded else "pass")
    for metric, value in quality.metrics.items():
        if metric not in compared:
            rows.append([metric, DASH, _num(value), DASH, DASH, DASH, "not promised"])
            status.append("")
    headers = ["Metric", "Promised", "Observed", "Change", "Tolerance", "Direction", "Verdict"]
    parts.append(_table(headers, rows, numeric={1, 2, 3, 4}, status=status))
    windows = quality.windows
    if windows:
        by_metric = {c.metric: c for c in comparisons}
        metrics = list(dict.fromkeys(m for w in windows for m in w.metrics))
        charts = [
            f"<figure><figcaption>{_esc(metric)} <span>per window</span></figcaption>"
            f"{_line_chart(windows, metric, by_metric.get(metric))}</figure>"
            for metric in metrics
        ]
        parts.append(
            "<h3>Over time</h3>"
            f'<p><span class="key" style="background:{CURRENT_COLOUR}"></span>observed'
            f'<span class="key" style="background:{PROMISE_COLOUR}"></span>promised (dashed), '
            "tolerance limit (dotted)</p>"
            f'<div class="charts">{"".join(charts)}</div>'
        )
    return "".join(parts)


def _actions(actions: Sequence[Action]) -> str:
    if not actions:
        return '<p class="muted">No actions taken.</p>'
    rows, status = [], []
    for action in actions:
        if isinstance(action, RetrainAction):
            target = f"run {action.run_id or DASH}, version {action.version}"
            good = action.promoted
            outcome = "promoted" if good else "not promoted"
        else:
            target, good = action.target or DASH, action.ok
            outcome = "sent" if good else "failed"
        rows.append([action.kind, target, outcome, action.detail or DASH])
        status.append("pass" if good else "fail")
    return _table(["Action", "Target", "Outcome", "Detail"], rows, status=status)


# --- charts -----------------------------------------------------------------------------------

WIDTH, LEFT, RIGHT, TOP = 480, 44, 8, 10
PLOT_HEIGHT = 160
"""Height of the plotting area; below it go the axis labels (rotated ones for categories)."""


def _bar_chart(data: Distribution) -> str:
    numeric = data.is_numeric
    reference = [_float(v) for v in data.reference]
    current = [_float(v) for v in data.current]
    n = min(len(reference), len(current))
    if not n:
        return '<p class="muted">No values in either window.</p>'
    labels = (
        [_bin_label(data.edges, i) for i in range(n)]
        if numeric
        else [str(c) for c in data.categories[:n]]
    )
    labels += [""] * (n - len(labels))
    top = _nice_top(max(reference[:n] + current[:n] + [0.01]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, PLOT_HEIGHT
    slot = plot_w / n
    parts = _y_axis(0.0, top, percent=True)
    for i in range(n):
        x0 = LEFT + i * slot
        for offset, values, colour, side in (
            (0.1, reference, REFERENCE_COLOUR, "reference"),
            (0.5, current, CURRENT_COLOUR, "current"),
        ):
            h = plot_h * min(values[i], top) / top
            tip = f"{labels[i]}: {side} {_pct(values[i])}"
            parts.append(
                f'<rect x="{x0 + offset * slot:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{0.4 * slot:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{_esc(tip)}</title></rect>"
            )
    parts += _x_labels(labels, slot, numeric, data.edges)
    return _svg(parts, bottom=26 if numeric else 62)


def _x_labels(labels: list[str], slot: float, numeric: bool, edges: Sequence[Any]) -> list[str]:
    base = TOP + PLOT_HEIGHT
    out = []
    if numeric:
        step = max(1, math.ceil(len(labels) / 5))
        for i in range(0, len(edges), step):
            out.append(
                f'<text x="{LEFT + i * slot:.1f}" y="{base + 16}" '
                f'text-anchor="{_anchor(i, len(edges))}">'
                f"{_esc(_num(_float(edges[i]), digits=3))}</text>"
            )
        return out
    step = max(1, math.ceil(len(labels) / 24))
    for i in range(0, len(labels), step):
        x = LEFT + (i + 0.5) * slot
        short = labels[i] if len(labels[i]) <= 12 else labels[i][:11] + "…"
        out.append(
            f'<text x="{x:.1f}" y="{base + 12}" text-anchor="end" '
            f'transform="rotate(-40 {x:.1f} {base + 12})">{_esc(short)}'
            f"<title>{_esc(labels[i])}</title></text>"
        )
    return out


def _line_chart(
    windows: Sequence[QualityWindow], metric: str, comparison: MetricComparison | None
) -> str:
    values = [_float(w.metrics.get(metric)) for w in windows]
    promised = math.nan if comparison is None else _float(comparison.promised)
    limit = math.nan
    if comparison is not None and math.isfinite(promised):
        sign = -1.0 if comparison.higher_is_better else 1.0
        limit = promised + sign * _float(comparison.tolerance)
    known = [v for v in [*values, promised, limit] if math.isfinite(v)]
    if not known:
        return '<p class="muted">No values for this metric yet.</p>'
    low, high = min(known), max(known)
    pad = (high - low) * 0.1 or max(abs(high) * 0.05, 0.01)
    low, high = low - pad, high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, PLOT_HEIGHT

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(values) == 1 else i * plot_w / (len(values) - 1))

    def y(v: float) -> float:
        return TOP + plot_h * (high - v) / (high - low)

    parts = _y_axis(low, high, percent=False)
    for level, dash in ((promised, "6 4"), (limit, "2 3")):
        if math.isfinite(level):
            parts.append(
                f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                f'stroke="{PROMISE_COLOUR}" stroke-dasharray="{dash}"/>'
            )
    segment: list[str] = []
    for i, v in enumerate([*values, math.nan]):
        if math.isfinite(v):
            segment.append(f"{x(i):.1f},{y(v):.1f}")
            continue
        if len(segment) > 1:
            points = " ".join(segment)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{CURRENT_COLOUR}" '
                'stroke-width="2"/>'
            )
        segment = []
    for i, (window, v) in enumerate(zip(windows, values, strict=True)):
        if math.isfinite(v):
            tip = f"{window.start.isoformat()} to {window.end.isoformat()}: {metric} {_num(v)}, "
            tip += f"{_int(window.rows)} rows"
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{CURRENT_COLOUR}">'
                f"<title>{_esc(tip)}</title></circle>"
            )
    base = TOP + plot_h
    step = max(1, math.ceil(len(windows) / 5))
    for i in range(0, len(windows), step):
        day = windows[i].start.isoformat()[:10]
        anchor = "middle" if len(windows) == 1 else _anchor(i, len(windows))
        parts.append(
            f'<text x="{x(i):.1f}" y="{base + 16}" text-anchor="{anchor}">{_esc(day)}</text>'
        )
    return _svg(parts, bottom=26)


def _y_axis(low: float, high: float, *, percent: bool) -> list[str]:
    plot_w = WIDTH - LEFT - RIGHT
    parts = []
    for k in range(5):
        value = low + (high - low) * k / 4
        y = TOP + PLOT_HEIGHT * (1 - k / 4)
        label = f"{value * 100:.3g}%" if percent else _num(value, digits=3)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaeef2"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_esc(label)}</text>'
        )
    return parts


def _svg(parts: Sequence[str], *, bottom: int) -> str:
    height = TOP + PLOT_HEIGHT + bottom
    return (
        f'<svg width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img">{"".join(parts)}</svg>'
    )


def _anchor(i: int, count: int) -> str:
    """Keep the end labels of an axis inside the chart."""
    return "start" if i == 0 else "end" if i == count - 1 else "middle"


def _nice_top(value: float) -> float:
    for top in (0.02, 0.04, 0.08, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0):
        if value <= top:
            return top
    return 1.0


def _bin_label(edges: Sequence[Any], i: int) -> str:
    if i + 1 >= len(edges):
        return f"bin {i + 1}"
    return f"[{_num(_float(edges[i]), digits=3)}, {_num(_float(edges[i + 1]), digits=3)}]"


# --- cells and numbers ------------------------------------------------------------------------


class _Raw(str):
    """Markup built here from escaped pieces, put in a cell as is."""

    __slots__ = ()


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    numeric: set[int] | frozenset[int] = frozenset(),
    status: Sequence[str] = (),
) -> str:
    head = "".join(f"<th>{_esc(cell)}</th>" for cell in headers)
    body = []
    for index, cells in enumerate(rows):
        mark = status[index] if index < len(status) else ""
        attribute = f' class="{mark}"' if mark in ("pass", "fail") else ""
        shown = "".join(
            ("<td class=num>" if j in numeric else "<td>")
            + (cell if isinstance(cell, _Raw) else _esc(cell))
            + "</td>"
            for j, cell in enumerate(cells)
        )
        body.append(f"<tr{attribute}>{shown}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(title: str, content: str) -> str:
    return f"<section><h2>{_esc(title)}</h2>{content}</section>"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _num(value: Any, *, digits: int = 4) -> str:
    number = _float(value)
    if not math.isfinite(number):
        return DASH
    if number == 0:
        return "0"
    if abs(number) < 10 ** -(digits - 1):
        return f"{number:.2e}"
    if abs(number) >= 10**digits:
        return f"{number:,.0f}"
    return f"{number:.{digits}g}"


def _signed(value: Any) -> str:
    number = _float(value)
    return _num(number) if not math.isfinite(number) or number <= 0 else "+" + _num(number)


def _pct(value: Any) -> str:
    number = _float(value)
    return DASH if not math.isfinite(number) else f"{number:.1%}"


def _int(value: Any) -> str:
    number = _float(value)
    return DASH if not math.isfinite(number) else f"{int(number):,}"
