"""The monitor report as one self-contained HTML page that opens offline.

``render_report_html(report)`` formats the JSON report (see ``modelyard monitor --json``): the
verdict, the two windows, drift per feature, reference-versus-current distributions, quality
over time, and the actions taken. Charts are inline SVG drawn here; the stylesheet is inline;
there is no script and no external URL, and a Content-Security-Policy forbids loading anything.
Every string that comes from the data (column names, categories, descriptions) is escaped, so
a column named ``<script>`` stays text. Missing numbers show as an em dash.
"""

from __future__ import annotations

import html
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["render_report_html", "write_report_html"]

DASH = "\u2014"
REFERENCE_COLOUR, CURRENT_COLOUR, PROMISE_COLOUR = "#0969da", "#e16f24", "#59636e"
STATUS_CLASS = {"ok": "ok", "drift": "warn", "degraded": "bad", "drift+degraded": "bad"}
STATUS_TITLE = {
    "ok": "No drift, no degradation",
    "drift": "Data drift",
    "degraded": "Quality degraded",
    "drift+degraded": "Data drift and quality degraded",
}
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


def render_report_html(report: Mapping[str, Any]) -> str:
    """Return the monitor report as one self-contained HTML page (no external resource)."""
    model = report.get("model") or {}
    title = f"Monitoring report: {model.get('name', '?')} v{model.get('version', '?')}"
    drift = report.get("drift") or {}
    body = [
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">{_esc(_subtitle(report))}</p>',
        _verdict(report.get("verdict") or {}),
        _section("Data", _windows(report)),
        _section("Drift", _drift(drift)),
        _section("Distributions", _distributions(report.get("distributions") or {}, drift)),
        _section("Quality", _quality(report.get("quality"))),
        _section("Actions", _actions(report.get("actions") or [])),
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


def write_report_html(report: Mapping[str, Any], path: Path) -> Path:
    """Write the page to ``path`` (parent folders created) atomically, and return ``path``.

    A reader never sees half a page: it is written to a temporary file beside ``path`` and
    moved into place.
    """
    page = render_report_html(report)
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


def _subtitle(report: Mapping[str, Any]) -> str:
    model = report.get("model") or {}
    parts = [f"Task: {model.get('task', DASH)}."]
    if model.get("alias"):
        parts.append(f"Alias: {model['alias']}.")
    parts.append(f"Generated: {report.get('generated_at') or DASH}.")
    return " ".join(parts)


def _verdict(verdict: Mapping[str, Any]) -> str:
    status = str(verdict.get("status") or "unknown")
    reasons = verdict.get("reasons") or []
    items = "".join(f"<li>{_esc(reason)}</li>" for reason in reasons)
    return (
        f'<div class="verdict {STATUS_CLASS.get(status, "unknown")}">'
        f"<strong>{_esc(STATUS_TITLE.get(status, status))}</strong> "
        f'<span class="muted">(status: {_esc(status)})</span>'
        + (f"<ul>{items}</ul>" if items else "")
        + "</div>"
    )


def _windows(report: Mapping[str, Any]) -> str:
    rows = []
    for name in ("reference", "current"):
        window = report.get(name) or {}
        period = " to ".join(str(window.get(key) or "…") for key in ("since", "until"))
        extra = period if window.get("since") or window.get("until") else ""
        if window.get("data_digest"):
            extra = f"data digest {str(window['data_digest'])[:12]}"
        rows.append(
            [name.capitalize(), window.get("description") or DASH, _int(window.get("rows")), extra]
        )
    return _table(["Window", "Description", "Rows", "Period / data"], rows, numeric={2})


def _drift(drift: Mapping[str, Any]) -> str:
    columns = list(drift.get("columns") or [])
    if not columns:
        return '<p class="muted">No feature drift was computed.</p>'
    share = drift.get("share_drifted")
    summary = (
        f"{_int(drift.get('n_drifted'))} of {_int(drift.get('n_columns', len(columns)))} "
        f"features drifted ({_pct(share)}); the dataset counts as drifted from "
        f"{_pct(drift.get('drift_share'))}: "
        + ("<strong>drifted</strong>." if drift.get("dataset_drifted") else "not drifted.")
    )
    parts = [f"<p>{summary}</p>"]
    prediction = drift.get("prediction")
    if prediction:
        parts += ["<h3>Prediction</h3>", _drift_table([prediction])]
    ordered = sorted(columns, key=lambda column: not column.get("drifted"))
    parts += ["<h3>Features</h3>", _drift_table(ordered)]
    return "".join(parts)


def _drift_table(columns: Sequence[Mapping[str, Any]]) -> str:
    headers = ["Column", "Kind", "Method", "Statistic", "p-value", "Threshold", "Drifted"]
    headers += ["Missing (ref → cur)", "Unseen categories"]
    rows, status = [], []
    for column in columns:
        unseen = [str(value) for value in column.get("unseen_categories") or []]
        shown = ", ".join(unseen[:10]) + (
            f" (+{len(unseen) - 10} more)" if len(unseen) > 10 else ""
        )
        drifted = bool(column.get("drifted"))
        rows.append(
            [
                column.get("column", DASH),
                column.get("kind", DASH),
                column.get("method", DASH),
                _num(column.get("statistic")),
                _num(column.get("p_value")),
                _num(column.get("threshold")),
                _Raw(
                    f'<span class="tag {"yes" if drifted else "no"}">'
                    f"{'drifted' if drifted else 'stable'}</span>"
                ),
                f"{_pct(column.get('reference_missing_rate'))} → "
                f"{_pct(column.get('current_missing_rate'))}",
                shown or DASH,
            ]
        )
        status.append("fail" if drifted else "pass")
    return _table(headers, rows, numeric={3, 4, 5}, status=status)


def _distributions(distributions: Mapping[str, Any], drift: Mapping[str, Any]) -> str:
    if not distributions:
        return '<p class="muted">No distributions were recorded.</p>'
    drifted = {c.get("column") for c in drift.get("columns") or [] if c.get("drifted")}
    if (drift.get("prediction") or {}).get("drifted"):
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
        missing = (
            f"missing {_pct(data.get('reference_missing'))} → {_pct(data.get('current_missing'))}"
        )
        figures.append(
            f"<figure><figcaption>{_esc(name)} <span>({note}; {_esc(missing)})</span>"
            f"</figcaption>{_bar_chart(data)}</figure>"
        )
    return legend + f'<div class="charts">{"".join(figures)}</div>'


def _quality(quality: Mapping[str, Any] | None) -> str:
    if not quality:
        return (
            '<p class="muted">No labels yet: quality is unmeasured until labels arrive '
            "(through <code>/v1/feedback</code> or a labelled file).</p>"
        )
    labelled, unlabelled = quality.get("labelled_rows"), quality.get("unlabelled_rows")
    degraded = "degraded" if quality.get("degraded") else "within tolerance"
    parts = [
        f"<p>{_int(labelled)} labelled rows, {_int(unlabelled)} still without a label. "
        f"Quality against the model card: <strong>{degraded}</strong>.</p>"
    ]
    comparisons = list(quality.get("comparisons") or [])
    compared = {str(c.get("metric")) for c in comparisons}
    rows, status = [], []
    for comparison in comparisons:
        worse = bool(comparison.get("degraded"))
        better = "higher" if comparison.get("higher_is_better", True) else "lower"
        rows.append(
            [
                comparison.get("metric", DASH),
                _num(comparison.get("promised")),
                _num(comparison.get("observed")),
                _signed(comparison.get("change")),
                _num(comparison.get("tolerance")),
                f"{better} is better",
                "degraded" if worse else "ok",
            ]
        )
        status.append("fail" if worse else "pass")
    for metric, value in (quality.get("metrics") or {}).items():
        if metric not in compared:
            rows.append([metric, DASH, _num(value), DASH, DASH, DASH, "not promised"])
            status.append("")
    headers = ["Metric", "Promised", "Observed", "Change", "Tolerance", "Direction", "Verdict"]
    parts.append(_table(headers, rows, numeric={1, 2, 3, 4}, status=status))
    windows = list(quality.get("windows") or [])
    if windows:
        by_metric = {str(c.get("metric")): c for c in comparisons}
        metrics = list(dict.fromkeys(m for w in windows for m in (w.get("metrics") or {})))
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


def _actions(actions: Sequence[Mapping[str, Any]]) -> str:
    if not actions:
        return '<p class="muted">No actions taken.</p>'
    rows, status = [], []
    for action in actions:
        kind = str(action.get("kind") or DASH)
        if kind == "retrain":
            target = f"run {action.get('run_id') or DASH}, version {action.get('version') or DASH}"
            outcome = "promoted" if action.get("promoted") else "not promoted"
            good = bool(action.get("promoted"))
        else:
            target = str(action.get("target") or DASH)
            good = bool(action.get("ok"))
            outcome = "sent" if good else "failed"
        rows.append([kind, target, outcome, action.get("detail") or DASH])
        status.append("pass" if good else "fail")
    return _table(["Action", "Target", "Outcome", "Detail"], rows, status=status)


# --- charts -----------------------------------------------------------------------------------

WIDTH, LEFT, RIGHT, TOP = 480, 44, 8, 10
PLOT_HEIGHT = 160
"""Height of the plotting area; below it go the axis labels (rotated ones for categories)."""


def _bar_chart(data: Mapping[str, Any]) -> str:
    numeric = data.get("kind") == "numeric"
    reference = [_float(v) for v in data.get("reference") or []]
    current = [_float(v) for v in data.get("current") or []]
    n = min(len(reference), len(current))
    if not n:
        return '<p class="muted">No values in either window.</p>'
    labels = (
        [_bin_label(data.get("edges") or [], i) for i in range(n)]
        if numeric
        else [str(c) for c in (data.get("categories") or [])[:n]]
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
    parts += _x_labels(labels, slot, numeric, data.get("edges") or [])
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
    windows: Sequence[Mapping[str, Any]], metric: str, comparison: Mapping[str, Any] | None
) -> str:
    values = [_float((w.get("metrics") or {}).get(metric)) for w in windows]
    promised = _float((comparison or {}).get("promised"))
    limit = math.nan
    if comparison is not None and math.isfinite(promised):
        tolerance = _float(comparison.get("tolerance"))
        sign = -1.0 if comparison.get("higher_is_better", True) else 1.0
        limit = promised + sign * tolerance
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
            tip = f"{window.get('start')} to {window.get('end')}: {metric} {_num(v)}, "
            tip += f"{_int(window.get('rows'))} rows"
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{CURRENT_COLOUR}">'
                f"<title>{_esc(tip)}</title></circle>"
            )
    base = TOP + plot_h
    step = max(1, math.ceil(len(windows) / 5))
    for i in range(0, len(windows), step):
        day = str(windows[i].get("start") or "")[:10]
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
