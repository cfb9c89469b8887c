"""The model card: every section, a self-contained HTML page, and user text kept as text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from modelyard.errors import TrainingError
from modelyard.evaluation.card import (
    ChampionComparison,
    ModelCard,
    TrainingData,
    default_limitations,
    render_html,
    render_markdown,
    write_card,
)
from modelyard.evaluation.gates import GateReport, check_gates, compare_with_champion
from modelyard.evaluation.plots import write_plots
from modelyard.evaluation.slices import SliceMetrics

MALICIOUS = "<script>alert(1)</script>"
SECTIONS = [
    "Intended use",
    "Training data",
    "Features",
    "Metrics",
    "Champion comparison",
    "Gates",
    "Slices",
    "Limitations",
    "Lineage",
    "Plots",
]


@pytest.fixture(scope="module")
def plots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real plots, drawn once for the module: drawing is the slow part of these tests."""
    y_score = [0.1, 0.7, 0.4, 0.8, 0.35, 0.2, 0.9, 0.6]
    return write_plots(
        "binary_classification",
        tmp_path_factory.mktemp("card") / "plots",
        [0, 1, 0, 1, 1, 0, 1, 0],
        y_pred=[int(score >= 0.5) for score in y_score],
        y_score=y_score,
        importances={"distance": 0.5, MALICIOUS: 0.3},
    )


@pytest.fixture
def card(plots: list[Path]) -> ModelCard:
    test = {"roc_auc": 0.80, "log_loss": 0.45, "accuracy": 0.74}
    gates = check_gates(test, {"roc_auc": (0.65, None), "log_loss": (None, 0.4)})
    gates.append(compare_with_champion("roc_auc", 0.80, 0.78, min_delta=0.0))
    return ModelCard(
        name="flights-delay",
        version="3",
        task="binary_classification",
        created_at=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        intended_use="Rank departures by delay risk.\n\nNot for pricing & not for <b>crew</b>.",
        training_data=TrainingData(
            source="data/raw/flights.parquet",
            digest="sha256:abc123",
            rows=120_000,
            time_range=("2013-01-01", "2013-10-31"),
        ),
        features={"numeric": ["distance"], "categorical": ["carrier", MALICIOUS]},
        target="arr_delayed",
        metrics={"valid": {"roc_auc": 0.81, "accuracy": 0.75}, "test": test},
        slices=[
            SliceMetrics("carrier", "AA", 900, {"roc_auc": 0.82, "accuracy": 0.76}),
            SliceMetrics("carrier", "HA", 400, {"roc_auc": 0.70, "accuracy": 0.69}),
            SliceMetrics("carrier", "OO", 12, {}, is_skipped=True),
            SliceMetrics("origin", "EWR", 1200, {"roc_auc": 0.79, "accuracy": 0.74}),
        ],
        gates=GateReport(tuple(gates)),
        champion=ChampionComparison("2", {"roc_auc": 0.78, "log_loss": 0.47}),
        lineage={"git_commit": "0123abc", "dirty": "false", "modelyard": "0.1.0"},
        plots=plots,
    )


def test_markdown_has_every_section(card: ModelCard) -> None:
    text = render_markdown(card)

    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == SECTIONS
    assert text.startswith("# Model card: flights-delay v3\n")
    assert "| roc_auc | 0.8100 | 0.8000 |" in text
    assert "| Metric | This model (test) | Champion v2 | Change |" in text
    assert "| log_loss | 0.4500 | 0.4700 | -0.0200 (better) |" in text


def test_html_has_every_section(card: ModelCard) -> None:
    page = render_html(card)

    assert re.findall(r"<h2>(.+?)</h2>", page) == SECTIONS
    assert page.startswith("<!DOCTYPE html>")


def test_html_is_self_contained(card: ModelCard) -> None:
    page = render_html(card).lower()

    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    assert "<link" not in page
    assert page.count('src="data:image/png;base64,') == len(card.plots)
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(source.startswith("data:image/png;base64,") for source in sources)


def test_user_text_is_escaped_in_html(card: ModelCard) -> None:
    page = render_html(card)

    assert MALICIOUS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>crew</b>" not in page
    assert "pricing &amp; not for &lt;b&gt;crew&lt;/b&gt;" in page


def test_user_text_is_escaped_in_markdown(card: ModelCard) -> None:
    text = render_markdown(card)

    assert MALICIOUS not in text
    assert "<b>" not in text
    assert r"\<script\>alert(1)\</script\>" in text


def test_default_limitations_come_from_the_facts(card: ModelCard) -> None:
    found = default_limitations(card)

    assert found == [
        "Trained on data from 2013-01-01 to 2013-10-31; quality on data after 2013-10-31 "
        "has not been measured.",
        "Weaker on carrier = HA (400 rows): roc_auc 0.7000 against 0.8000 overall.",
        "1 slice had too few rows to evaluate (carrier: 1); quality on them is unknown.",
        "It failed 1 promotion gate: max log_loss.",
    ]
    assert "Weaker on carrier = HA" in render_markdown(card)


def test_limitations_given_replace_the_defaults(card: ModelCard) -> None:
    mine = dataclasses.replace(card, limitations=["Not validated outside New York."])

    text = render_markdown(mine)

    assert "- Not validated outside New York." in text
    assert "Weaker on carrier" not in text


def test_card_without_optional_parts_still_renders(card: ModelCard) -> None:
    bare = dataclasses.replace(
        card,
        training_data=TrainingData("q.sql", "sha256:0", 10),
        slices=(),
        gates=None,
        champion=None,
        lineage={},
        plots=(),
    )

    text = render_markdown(bare)

    assert "No champion yet" in text
    assert "Gates were not checked." in text
    assert "No slice metrics were computed" in text
    assert "no recorded time range" in text
    assert "## Plots" not in text
    assert "<h2>Plots</h2>" not in render_html(bare)


def test_missing_plot_is_reported(card: ModelCard, tmp_path: Path) -> None:
    broken = dataclasses.replace(card, plots=[tmp_path / "nowhere.png"])

    with pytest.raises(TrainingError, match=r"Cannot read plot .*nowhere\.png.*write_plots first"):
        render_html(broken)


def test_non_png_plot_is_refused(card: ModelCard, tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("<svg onload=alert(1)>", encoding="utf-8")

    with pytest.raises(TrainingError, match=r"fake\.png' is not a PNG file"):
        render_html(dataclasses.replace(card, plots=[fake]))


def test_write_card_links_plots_relative_to_the_card(card: ModelCard) -> None:
    out_dir = card.plots[0].parent.parent
    markdown, page = write_card(card, out_dir)

    assert (markdown.name, page.name) == ("model_card.md", "model_card.html")
    text = markdown.read_text(encoding="utf-8")
    assert "![roc](plots/roc.png)" in text
    assert page.read_text(encoding="utf-8") == render_html(card)
