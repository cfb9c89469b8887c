"""MonitorResult: the verdict's status words, and the JSON shape `modelyard monitor --json` keeps."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from modelyard.monitoring.drift import detect_drift, prediction_drift
from modelyard.monitoring.histograms import distributions
from modelyard.monitoring.methods import Kind
from modelyard.monitoring.result import AlertAction, Breach, MonitorResult, RetrainAction, Verdict

from .builders import comparison, daily_windows, monitor_result, quality_report

TOP_KEYS = [
    "model", "generated_at", "reference", "current", "verdict", "drift", "distributions",
    "quality", "actions",
]  # fmt: skip


@pytest.mark.parametrize(
    ("breaches", "enough_rows", "status"),
    [
        pytest.param(Breach(0), True, "ok", id="ok"),
        pytest.param(Breach(0), False, "not_enough_data", id="too-few-rows"),
        pytest.param(Breach.DRIFT, True, "drift", id="drift"),
        pytest.param(Breach.DEGRADED, True, "degraded", id="degraded"),
        pytest.param(Breach.DEGRADED, False, "degraded", id="degraded-on-few-rows"),
        pytest.param(Breach.DEGRADED | Breach.DRIFT, True, "drift+degraded", id="both"),
    ],
)
def test_the_status_word_follows_the_breaches(
    breaches: Breach, enough_rows: bool, status: str
) -> None:
    verdict = Verdict(breaches=breaches, enough_rows=enough_rows, reasons=())

    assert verdict.status == status
    assert verdict.is_drifted == (Breach.DRIFT in breaches)
    assert verdict.is_degraded == (Breach.DEGRADED in breaches)
    assert verdict.is_breach == bool(breaches)


def result(seed: int) -> MonitorResult:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(list("ab"), 500)})
    current = pd.DataFrame({"x": rng.normal(1, size=300), "c": rng.choice(list("abz"), 300)})
    kinds: dict[str, Kind] = {"x": "numeric", "c": "categorical"}
    drift = detect_drift(reference, current, columns=kinds)
    first, *rest = drift.columns
    drift = replace(drift, columns=(replace(first, statistic=math.nan), *rest))
    quality = quality_report(
        comparisons=[comparison("roc_auc", 0.7, 0.6)],
        windows=daily_windows([{"roc_auc": 0.6}, {"roc_auc": math.nan}]),
    )
    retrained = RetrainAction(
        trigger="modelyard monitor: drift on flights-delay v3: ...", run_id="r1", version=4,
        promoted=False, champion=3, gates="1 of 4 gates failed", why="roc_auc 0.6 < 0.65",
        metrics={"roc_auc": 0.6}, window="180d", detail="v4 trained, not promoted",
    )  # fmt: skip
    return monitor_result(
        drift,
        prediction=prediction_drift(rng.uniform(size=200), rng.uniform(size=200)),
        distributions=distributions(reference, current, kinds),
        quality=quality,
        reasons=["1 of 2 features drifted"],
        actions=[AlertAction("https://hooks.example.com", True, "HTTP 200 OK", "drift"), retrained],
    )


def test_the_json_report_keeps_its_shape(seed: int) -> None:
    found = result(seed).to_dict()

    assert list(found) == TOP_KEYS
    assert found["model"] == {
        "name": "flights-delay", "version": 3, "alias": "champion",
        "task": "binary_classification",
    }  # fmt: skip
    assert found["generated_at"] == "2026-11-26T01:02:03+00:00"
    assert list(found["reference"]) == ["description", "rows", "data_digest"]
    assert list(found["current"]) == [
        "description",
        "rows",
        "rows_of_this_version",
        "since",
        "until",
    ]
    assert found["current"]["since"] == "2013-07-01T00:00:00+00:00"
    assert found["current"]["until"] is None
    assert found["verdict"] == {"status": "drift+degraded", "reasons": ["1 of 2 features drifted"]}
    assert set(found["drift"]) == {
        "dataset_drifted", "n_drifted", "n_columns", "share_drifted", "drift_share",
        "reference_rows", "current_rows", "columns", "prediction",
    }  # fmt: skip
    assert found["drift"]["columns"][0]["statistic"] is None  # NaN becomes null
    assert found["drift"]["prediction"]["column"] == "prediction"
    assert set(found["distributions"]["x"]) == {
        "kind", "edges", "reference", "current", "reference_missing", "current_missing",
    }  # fmt: skip
    assert "categories" in found["distributions"]["c"]
    assert "edges" not in found["distributions"]["c"]
    assert found["quality"]["windows"][1]["metrics"] == {"roc_auc": None}
    alert, retrain = found["actions"]
    assert alert == {
        "kind": "alert", "target": "https://hooks.example.com", "ok": True,
        "detail": "HTTP 200 OK", "trigger": "drift",
    }  # fmt: skip
    assert list(retrain) == [
        "kind", "trigger", "run_id", "version", "promoted", "champion", "gates", "why",
        "metrics", "window", "detail",
    ]  # fmt: skip
    json.dumps(found, allow_nan=False)  # strict JSON: no NaN anywhere


def test_without_labels_or_outputs_the_parts_are_null(seed: int) -> None:
    shown = replace(result(seed), quality=None, prediction_drift=None, actions=())

    found = shown.to_dict()

    assert found["quality"] is None
    assert found["drift"]["prediction"] is None
    assert found["actions"] == []


def test_actions_are_added_in_order_and_read_by_kind(seed: int) -> None:
    looked = result(seed)
    more = looked.with_actions(AlertAction("https://b.example", False, "timeout", "drift"))

    assert len(more.actions) == len(looked.actions) + 1
    assert [a.target for a in more.alerts] == ["https://hooks.example.com", "https://b.example"]
    assert [r.version for r in more.retrainings] == [4]
    assert looked.drifted
    assert looked.degraded
