"""The model card: what a model is for, what it was trained on, how well it does, and where not.

``render_markdown`` and ``render_html`` format the same content (see ``_card_sections``). The
HTML page is self-contained: inline CSS, plots embedded as base64 data URIs, no script and no
external URL, and a Content-Security-Policy that forbids loading anything. Every string that
comes from the user or the data is escaped, so a feature named ``<script>`` stays text.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from modelyard.evaluation._card_html import CSS, escape, html_figure, html_table
from modelyard.evaluation._card_sections import Table, card_sections, format_value
from modelyard.evaluation.gates import GateReport
from modelyard.evaluation.metrics import PRIMARY_METRIC
from modelyard.evaluation.slices import (
    SliceMetrics,
    count_skipped_slices,
    find_underperforming_slices,
)

SLICE_TOLERANCE = 0.05
MAX_SLICES_LISTED = 10
MARKDOWN_SPECIAL = "\\`*[]<>|"


@dataclass(frozen=True, slots=True)
class TrainingData:
    """What the model was trained on.

    Attributes:
        source: Where the data came from (a path, URI or query), for readers.
        digest: The content digest of the training snapshot.
        rows: Training rows.
        time_range: First and last timestamp of the training rows, or None without a time
            column.
    """

    source: str
    digest: str
    rows: int
    time_range: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ChampionComparison:
    """The previous champion, scored on the same test data as this model.

    Attributes:
        version: The champion's registry version.
        metrics: Its test metrics.
    """

    version: str
    metrics: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ModelCard:
    """Everything the card says about one model version.

    Attributes:
        name: Registered model name.
        version: Registry version (e.g. ``"3"``).
        task: The task name.
        created_at: When the model was trained.
        intended_use: What the model is for and who should use it (blank lines split paragraphs).
        training_data: What it was trained on.
        features: Feature kind (``numeric``, ``categorical``...) -> column names.
        target: The target column.
        metrics: Split (``valid``, ``test``...) -> metric name -> value.
        slices: Slice metrics on the test split, skipped slices included.
        gates: The promotion gates, or None when they were not checked.
        champion: The previous champion on the same test data, or None when there is none.
        limitations: Known limitations; None derives them from the facts above (see
            ``default_limitations``).
        lineage: Git commit, dirty flag, config hash, data digest, package versions...
        plots: PNG files to show, as from ``write_plots``.
        primary_metric: The metric slices are compared on; None uses the task's default.
    """

    name: str
    version: str
    task: str
    created_at: dt.datetime
    intended_use: str
    training_data: TrainingData
    features: Mapping[str, Sequence[str]]
    target: str
    metrics: Mapping[str, Mapping[str, float]]
    slices: Sequence[SliceMetrics] = ()
    gates: GateReport | None = None
    champion: ChampionComparison | None = None
    limitations: Sequence[str] | None = None
    lineage: Mapping[str, str] = field(default_factory=dict)
    plots: Sequence[Path] = ()
    primary_metric: str | None = None


def default_limitations(card: ModelCard) -> list[str]:
    """Return limitations that follow from the card's facts.

    They cover: the training time range; slices whose primary metric is more than 0.05 worse
    than on the whole test split; slices too small to evaluate; and failed gates.
    """
    found: list[str] = []
    span = card.training_data.time_range
    if span is None:
        found.append("The training data has no recorded time range, so ageing is unmeasured.")
    else:
        found.append(
            f"Trained on data from {span[0]} to {span[1]}; quality on data after {span[1]} "
            "has not been measured."
        )
    found += _weak_slices(card)
    skipped = count_skipped_slices(card.slices)
    if skipped:
        counts = ", ".join(f"{column}: {count}" for column, count in skipped.items())
        total = sum(skipped.values())
        found.append(
            f"{_count(total, 'slice')} had too few rows to evaluate ({counts}); "
            "quality on them is unknown."
        )
    elif not card.slices:
        found.append("No slice metrics were computed, so quality on subgroups is unknown.")
    if card.gates is not None and card.gates.failures:
        names = ", ".join(result.name for result in card.gates.failures)
        found.append(f"It failed {_count(len(card.gates.failures), 'promotion gate')}: {names}.")
    return found


def render_markdown(card: ModelCard, *, relative_to: Path | None = None) -> str:
    """Return the card as Markdown; plots are linked, relative to ``relative_to`` if given."""
    blocks = [f"# Model card: {_md(card.name)} v{_md(card.version)}", _md(_subtitle(card))]
    for section in card_sections(card, _limitations(card)):
        blocks.append(f"## {section.title}")
        blocks += [_md(paragraph) for paragraph in section.paragraphs]
        if section.items:
            blocks.append("\n".join(f"- {_md(item)}" for item in section.items))
        blocks += ["\n".join(_md_table(table)) for table in section.tables]
    if card.plots:
        blocks.append("## Plots")
        for plot in card.plots:
            target = Path(os.path.relpath(plot, relative_to)) if relative_to else plot
            blocks.append(f"![{_md(plot.stem)}]({quote(target.as_posix())})")
    return "\n\n".join(blocks) + "\n"


def render_html(card: ModelCard) -> str:
    """Return the card as one self-contained HTML page (plots inline, no external resource).

    Raises:
        TrainingError: A plot file is missing or is not a PNG.
    """
    title = escape(f"Model card: {card.name} v{card.version}")
    body = [f"<h1>{title}</h1>", f'<p class="meta">{escape(_subtitle(card))}</p>']
    for section in card_sections(card, _limitations(card)):
        body.append(f"<section><h2>{escape(section.title)}</h2>")
        body += [f"<p>{escape(paragraph)}</p>" for paragraph in section.paragraphs]
        if section.items:
            body.append(
                "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in section.items) + "</ul>"
            )
        body += [html_table(table) for table in section.tables]
        body.append("</section>")
    if card.plots:
        body.append("<section><h2>Plots</h2>")
        body += [html_figure(plot) for plot in card.plots]
        body.append("</section>")
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title><style>{CSS}</style></head>",
            "<body><main>",
            *body,
            "</main></body></html>",
            "",
        ]
    )


def write_card(card: ModelCard, out_dir: Path) -> tuple[Path, Path]:
    """Write ``model_card.md`` and ``model_card.html`` into ``out_dir`` (created if missing).

    Returns:
        The Markdown path and the HTML path.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, page = out_dir / "model_card.md", out_dir / "model_card.html"
    markdown.write_text(render_markdown(card, relative_to=out_dir), encoding="utf-8")
    page.write_text(render_html(card), encoding="utf-8")
    return markdown, page


def _limitations(card: ModelCard) -> list[str]:
    return default_limitations(card) if card.limitations is None else list(card.limitations)


def _weak_slices(card: ModelCard) -> list[str]:
    if not card.metrics:
        return []
    overall = card.metrics.get("test") or list(card.metrics.values())[-1]
    metric = card.primary_metric or PRIMARY_METRIC.get(card.task, "")
    if metric not in overall:
        return []
    worse = find_underperforming_slices(
        card.slices, overall, metric=metric, tolerance=SLICE_TOLERANCE
    )
    found = [
        f"Weaker on {found.column} = {_shown(found.value)} ({found.rows:,} rows): {metric} "
        f"{format_value(found.metrics[metric])} against {format_value(overall[metric])} overall."
        for found, _ in worse[:MAX_SLICES_LISTED]
    ]
    if len(worse) > MAX_SLICES_LISTED:
        found.append(
            f"{len(worse) - MAX_SLICES_LISTED} more slices have {metric} more than "
            f"{SLICE_TOLERANCE} worse than overall."
        )
    return found


def _shown(value: object) -> str:
    return "(missing)" if value is None else str(value)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _subtitle(card: ModelCard) -> str:
    created = card.created_at.isoformat(timespec="seconds")
    return f"Task: {card.task}. Target: {card.target}. Created: {created}."


def _md(text: str) -> str:
    """Escape ``text`` so Markdown shows it literally (no HTML, links, emphasis or cells)."""
    escaped = "".join(f"\\{char}" if char in MARKDOWN_SPECIAL else char for char in text)
    return " ".join(escaped.splitlines())


def _md_table(table: Table) -> list[str]:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(_md(cell) for cell in cells) + " |"

    return [row(table.headers), row(["---"] * len(table.headers)), *map(row, table.rows)]
