"""`modelyard monitor`'s console rendering, from a typed result (cli/monitor_cmd.render)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from modelyard.cli.monitor_cmd import render
from modelyard.monitoring.drift import detect_drift
from modelyard.monitoring.result import AlertAction, Breach, MonitorResult, RetrainAction

from .builders import comparison, monitor_result, quality_report


def shown(result: MonitorResult, root: Path = Path("/project")) -> str:
    out = io.StringIO()
    render(Console(file=out, width=120, color_system=None), result, root)
    return out.getvalue()


def drifted(seed: int) -> MonitorResult:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"temp": rng.normal(50, 10, 500), "dist": rng.normal(size=500)})
    current = pd.DataFrame({"temp": rng.normal(65, 10, 300), "dist": rng.normal(size=300)})
    return monitor_result(
        detect_drift(reference, current),
        breaches=Breach.DRIFT,
        reasons=["1 of 2 features drifted (50% >= 30%): temp"],
    )


def test_the_verdict_drifted_features_and_missing_labels_are_shown(seed: int) -> None:
    text = shown(drifted(seed))

    assert text.startswith("flights-delay version 3: drift\n")
    assert "reference: training split of flights-delay v3 (600 rows)" in text
    assert "• 1 of 2 features drifted (50% >= 30%): temp" in text
    lines = text.splitlines()
    temp = next(i for i, line in enumerate(lines) if line.startswith("temp"))
    dist = next(i for i, line in enumerate(lines) if line.startswith("dist"))
    assert temp < dist  # drifted first
    assert lines[temp].rstrip().endswith("yes")
    assert "quality: no labels yet" in text


def test_quality_and_actions_and_the_report_path_are_shown(seed: int) -> None:
    quality = quality_report(
        comparisons=[comparison("roc_auc", 0.69, 0.6), comparison("recall", 0.5, 0.49)]
    )
    retrain = RetrainAction(
        trigger="t", run_id="r", version=4, promoted=False, champion=3, gates="g", why="w",
        metrics={}, window=None, detail="v4 trained on the whole source, not promoted: g",
    )  # fmt: skip
    alert = AlertAction(target="https://hooks.example.com", ok=False, detail="timeout", trigger="")
    result = replace(drifted(seed), quality=quality, actions=(alert, retrain)).written_to(
        Path("/project/reports/x.json"), Path("/project/reports/x.html")
    )

    text = shown(result)

    assert "quality on 350 labelled rows (50 without a label yet):" in text
    assert "✗ roc_auc 0.6 (card: 0.69)" in text
    assert "✓ recall 0.49 (card: 0.5)" in text
    assert "alert to https://hooks.example.com: failed (timeout)" in text
    assert "retrained: v4 trained on the whole source, not promoted: g" in text
    assert text.rstrip().endswith("report: reports/x.html")
