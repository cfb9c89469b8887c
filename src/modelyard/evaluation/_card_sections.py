"""The content of a model card as titled sections of plain text and tables.

Both renderers (Markdown and HTML) format these same sections, so the two documents always say
the same thing. Everything here is plain, unescaped text: escaping is the renderer's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelyard.evaluation.metrics import HIGHER_IS_BETTER, TASK_METRICS
from modelyard.evaluation.slices import SliceMetrics, count_skipped_slices

if TYPE_CHECKING:
    from modelyard.evaluation.card import ModelCard


@dataclass(frozen=True, slots=True)
class Table:
    """A table of text cells; ``row_status`` optionally marks rows ``pass`` or ``fail``."""

    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    row_status: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of the card: paragraphs, then bullet items, then tables."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def card_sections(card: ModelCard, limitations: Sequence[str]) -> list[Section]:
    """Return the sections of ``card`` in reading order (plots are left to the renderer)."""
    return [
        Section("Intended use", paragraphs=_paragraphs(card.intended_use)),
        _training_data(card),
        _features(card),
        Section("Metrics", tables=[_metrics_table(card.metrics)]),
        _champion(card),
        _gates(card),
        _slices(card.slices),
        Section("Limitations", items=list(limitations) or ["None recorded."]),
        Section("Lineage", tables=[_key_values(card.lineage.items())] if card.lineage else []),
    ]


def format_value(value: float | None) -> str:
    """Return a metric value with four decimals, or ``n/a``."""
    return "n/a" if value is None or value != value else f"{value:.4f}"


def ordered_metrics(names: Iterable[str]) -> list[str]:
    """Return metric names in report order: known metrics first, then the rest sorted."""
    seen = set(names)
    known = [name for names_ in TASK_METRICS.values() for name in names_ if name in seen]
    known = list(dict.fromkeys(known))
    return known + sorted(seen - set(known))


def _paragraphs(text: str) -> list[str]:
    blocks = [" ".join(block.split()) for block in text.split("\n\n")]
    return [block for block in blocks if block] or ["Not stated."]


def _training_data(card: ModelCard) -> Section:
    data = card.training_data
    span = "not recorded"
    if data.time_range is not None:
        span = f"{data.time_range[0]} to {data.time_range[1]}"
    rows = [
        ("Source", data.source),
        ("Digest", data.digest),
        ("Rows", f"{data.rows:,}"),
        ("Time range", span),
        ("Target", card.target),
    ]
    return Section("Training data", tables=[_key_values(rows)])


def _features(card: ModelCard) -> Section:
    rows = [
        (kind, str(len(names)), ", ".join(names)) for kind, names in card.features.items() if names
    ]
    if not rows:
        return Section("Features", paragraphs=["No features recorded."])
    return Section("Features", tables=[Table(("Kind", "Count", "Columns"), rows)])


def _metrics_table(metrics: Mapping[str, Mapping[str, float]]) -> Table:
    names = ordered_metrics(name for values in metrics.values() for name in values)
    rows = [
        (name, *(format_value(values.get(name)) for values in metrics.values())) for name in names
    ]
    return Table(("Metric", *metrics), rows)


def _champion(card: ModelCard) -> Section:
    title = "Champion comparison"
    champion = card.champion
    if champion is None:
        return Section(title, paragraphs=["No champion yet: nothing to compare with."])
    mine = card.metrics.get("test", {})
    rows, status = [], []
    for name in ordered_metrics(champion.metrics):
        ours, theirs = mine.get(name), champion.metrics[name]
        change, verdict = "n/a", ""
        if ours is not None:
            gain = (ours - theirs) * (1 if HIGHER_IS_BETTER.get(name, True) else -1)
            word = "better" if gain > 0 else "worse" if gain < 0 else "same"
            change = f"{ours - theirs:+.4f} ({word})"
            verdict = "fail" if gain < 0 else "pass"
        rows.append((name, format_value(ours), format_value(theirs), change))
        status.append(verdict)
    headers = ("Metric", "This model (test)", f"Champion v{champion.version}", "Change")
    note = f"Both models scored on the same test data; the champion is version {champion.version}."
    return Section(title, paragraphs=[note], tables=[Table(headers, rows, status)])


def _gates(card: ModelCard) -> Section:
    report = card.gates
    if report is None:
        return Section("Gates", paragraphs=["Gates were not checked."])
    if not report.results:
        return Section("Gates", paragraphs=["No gates configured."])
    failed = len(report.failures)
    verdict = (
        "Passed every gate." if report.passed else f"Failed {failed} of {len(report.results)}."
    )
    rows = [(r.name, "pass" if r.passed else "FAIL", r.message) for r in report.results]
    status = ["pass" if r.passed else "fail" for r in report.results]
    table = Table(("Gate", "Result", "Detail"), rows, status)
    return Section("Gates", paragraphs=[verdict], tables=[table])


def _slices(slices: Sequence[SliceMetrics]) -> Section:
    if not slices:
        return Section("Slices", paragraphs=["No slice metrics were computed."])
    evaluated = [found for found in slices if not found.is_skipped]
    names = ordered_metrics(name for found in evaluated for name in found.metrics)
    rows = [
        (
            found.column,
            "(missing)" if found.value is None else str(found.value),
            f"{found.rows:,}",
            *(format_value(found.metrics.get(name)) for name in names),
        )
        for found in evaluated
    ]
    paragraphs = []
    skipped = count_skipped_slices(slices)
    if skipped:
        counts = ", ".join(f"{column}: {count}" for column, count in skipped.items())
        paragraphs.append(f"Too small to evaluate, not shown: {counts}.")
    tables = [Table(("Column", "Value", "Rows", *names), rows)] if rows else []
    return Section("Slices", paragraphs=paragraphs, tables=tables)


def _key_values(pairs: Iterable[tuple[str, str]]) -> Table:
    return Table(("Field", "Value"), [(str(key), str(value)) for key, value in pairs])
