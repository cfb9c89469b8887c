"""Gates pass or fail with margins and messages a reviewer can act on."""

from __future__ import annotations

import json

import pytest

from modelyard.errors import TrainingError
from modelyard.evaluation.gates import GateReport, check_gates, compare_with_champion


@pytest.mark.parametrize(
    ("metric", "value", "bounds", "passed", "margin", "message"),
    [
        pytest.param(
            "roc_auc",
            0.612,
            (0.65, None),
            False,
            -0.038,
            "roc_auc 0.612 is below the minimum 0.650 (short by 0.038)",
            id="min-fails",
        ),
        pytest.param(
            "roc_auc",
            0.702,
            (0.65, None),
            True,
            0.052,
            "roc_auc 0.702 passes min 0.650 (+0.052)",
            id="min-passes",
        ),
        pytest.param(
            "log_loss",
            0.712,
            (None, 0.6),
            False,
            -0.112,
            "log_loss 0.712 is above the maximum 0.600 (over by 0.112)",
            id="max-fails",
        ),
        pytest.param(
            "log_loss",
            0.512,
            (None, 0.6),
            True,
            0.088,
            "log_loss 0.512 passes max 0.600 (-0.088)",
            id="max-passes",
        ),
        pytest.param(
            "roc_auc",
            0.65,
            (0.65, None),
            True,
            0.0,
            "roc_auc 0.650 passes min 0.650 (+0.000)",
            id="equal-to-min-passes",
        ),
    ],
)
def test_absolute_gate(
    metric: str,
    value: float,
    bounds: tuple[float | None, float | None],
    passed: bool,
    margin: float,
    message: str,
) -> None:
    (result,) = check_gates({metric: value}, {metric: bounds})

    assert result.passed is passed
    assert result.margin == pytest.approx(margin)
    assert result.message == message


def test_min_and_max_on_one_metric_give_two_results() -> None:
    results = check_gates({"rmse": 4.0}, {"rmse": (1.0, 3.0)})

    assert [(r.name, r.passed) for r in results] == [("min rmse", True), ("max rmse", False)]


def test_missing_metric_fails_with_a_suggestion() -> None:
    (result,) = check_gates({"roc_auc": 0.8, "accuracy": 0.7}, {"roc_acu": (0.7, None)})

    assert not result.passed
    assert result.value is None
    assert result.message == (
        "roc_acu was not computed, so the gate 'min roc_acu' fails. "
        "Did you mean 'roc_auc'? Fix the gate's metric name."
    )


def test_undefined_metric_fails_and_lists_what_was_computed() -> None:
    (result,) = check_gates({"accuracy": 1.0, "log_loss": 0.2}, {"roc_auc": (0.7, None)})

    assert not result.passed
    assert "Computed metrics: accuracy, log_loss" in result.message


def test_gate_without_bounds_is_refused() -> None:
    with pytest.raises(TrainingError, match=r"gate on 'roc_auc' sets neither min nor max"):
        check_gates({"roc_auc": 0.8}, {"roc_auc": (None, None)})


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "min_delta", "passed", "margin", "message"),
    [
        pytest.param(
            "roc_auc",
            0.702,
            0.690,
            0.01,
            True,
            0.002,
            "roc_auc 0.702 beats the champion's 0.690 by 0.012 (needed 0.010)",
            id="higher-is-better-beats",
        ),
        pytest.param(
            "roc_auc",
            0.695,
            0.690,
            0.01,
            False,
            -0.005,
            "roc_auc 0.695 does not beat the champion's 0.690 by the required 0.010 "
            "(improved by 0.005)",
            id="higher-is-better-not-enough",
        ),
        pytest.param(
            "log_loss",
            0.412,
            0.450,
            0.01,
            True,
            0.028,
            "log_loss 0.412 beats the champion's 0.450 by 0.038 (needed 0.010)",
            id="lower-is-better-beats",
        ),
        pytest.param(
            "log_loss",
            0.470,
            0.450,
            0.0,
            False,
            -0.020,
            "log_loss 0.470 does not beat the champion's 0.450 by the required 0.000 "
            "(worse by 0.020)",
            id="lower-is-better-worse",
        ),
        pytest.param(
            "log_loss",
            0.450,
            0.450,
            0.0,
            True,
            0.0,
            "log_loss 0.450 beats the champion's 0.450 by 0.000 (needed 0.000)",
            id="tie-passes-without-min-delta",
        ),
        pytest.param(
            "roc_auc",
            0.685,
            0.690,
            -0.01,
            True,
            0.005,
            "roc_auc 0.685 is within the allowed 0.010 of the champion's 0.690 (worse by 0.005)",
            id="negative-min-delta-tolerates-regression",
        ),
    ],
)
def test_champion_comparison(
    metric: str,
    challenger: float,
    champion: float,
    min_delta: float,
    passed: bool,
    margin: float,
    message: str,
) -> None:
    result = compare_with_champion(metric, challenger, champion, min_delta=min_delta)

    assert result.bound == "champion"
    assert result.passed is passed
    assert result.margin == pytest.approx(margin)
    assert result.message == message


def test_no_champion_passes() -> None:
    result = compare_with_champion("roc_auc", 0.61, None, min_delta=0.01)

    assert result.passed
    assert result.threshold is None
    assert "no champion yet" in result.message


def test_champion_comparison_on_unknown_metric_is_refused() -> None:
    with pytest.raises(TrainingError, match=r"Unknown metric 'logloss'\. Did you mean 'log_loss'"):
        compare_with_champion("logloss", 0.4, 0.5, min_delta=0.0)


def test_report_collects_failures_and_serialises() -> None:
    results = check_gates({"roc_auc": 0.62, "brier": 0.1}, {"roc_auc": (0.65, None)})
    results.append(compare_with_champion("brier", 0.1, 0.2, min_delta=0.0))
    report = GateReport(tuple(results))

    assert not report.passed
    assert [r.name for r in report.failures] == ["min roc_auc"]
    assert report.summary().splitlines() == [
        "Gates FAILED (1 of 2):",
        "  FAIL  roc_auc 0.620 is below the minimum 0.650 (short by 0.030)",
        "  pass  brier 0.100 beats the champion's 0.200 by 0.100 (needed 0.000)",
    ]
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["passed"] is False
    assert payload["results"][0]["message"].startswith("roc_auc 0.620 is below")


def test_empty_report_passes() -> None:
    report = GateReport(())

    assert report.passed
    assert report.summary() == "No gates configured: passed."
