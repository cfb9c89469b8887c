"""pipelines.monitor without a registry: a look at a dataset, its typed result, acting on it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard.config.schema import MonitoringConfig
from modelyard.features.spec import FeatureSpec
from modelyard.monitoring.result import Breach, MonitorResult, RetrainAction
from modelyard.pipelines.monitor import (
    ActionSpec,
    CurrentSpec,
    MonitorSpec,
    Reference,
    act,
    monitor,
    write_reports,
)

ROWS = 400


def frame(seed: int, shift: float, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    colour = rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2] if not shift else None)
    return pd.DataFrame(
        {
            "x": x,
            "colour": colour,
            "y": 2 * x + rng.normal(0, 0.1, rows),
            "prediction": 2 * x,
            "timestamp": pd.date_range("2013-07-01", periods=rows, freq="h", tz="UTC"),
        }
    )


def reference(seed: int) -> Reference:
    data = frame(seed, 0.0)
    return Reference(
        name="m",
        version=1,
        task="regression",
        target="y",
        spec=FeatureSpec(numeric=("x",), categorical=("colour",)),
        classes=None,
        features=data[["x", "colour"]],
        predictions=data[["prediction"]],
        promised={"rmse": 0.12, "mae": 0.1},
        info={"data_digest": "ab" * 32},
    )


def spec(**changes: object) -> MonitorSpec:
    return dataclasses.replace(MonitorSpec.from_config(MonitoringConfig()), **changes)  # type: ignore[arg-type]


def dataset(tmp_path: Path, data: pd.DataFrame) -> CurrentSpec:
    path = tmp_path / "current.parquet"
    data.to_parquet(path)
    return CurrentSpec(
        store=tmp_path / "store", window="7d", since=None, until=None, dataset=path, labels=None
    )


def look(tmp_path: Path, seed: int, shift: float, **changes: object) -> MonitorResult:
    return monitor(spec(**changes), dataset(tmp_path, frame(seed + 1, shift)), reference(seed))


def test_a_shifted_dataset_is_drift_with_every_part_typed(tmp_path: Path, seed: int) -> None:
    result = look(tmp_path, seed, shift=1.5)

    assert result.verdict.breaches == Breach.DRIFT
    assert result.verdict.status == "drift"
    assert result.drift.drifted_columns == ("x", "colour")
    assert result.prediction_drift is not None
    assert result.prediction_drift.drifted
    assert set(result.distributions) == {"x", "colour", "prediction"}
    assert result.quality is not None
    assert not result.quality.degraded  # the model is still right on shifted inputs
    assert result.model.name == "m"
    assert result.current.description == f"dataset {tmp_path / 'current.parquet'}"
    assert result.current.rows == result.current.rows_of_this_version == ROWS
    assert result.reference.data_digest == "ab" * 32
    assert result.actions == ()


def test_the_same_data_is_no_breach(tmp_path: Path, seed: int) -> None:
    data = frame(seed, 0.0)
    result = monitor(spec(), dataset(tmp_path, data), reference(seed))

    assert result.verdict.breaches == Breach(0)
    assert result.verdict.status == "ok"
    assert result.verdict.reasons[0].startswith("no breach")


def test_too_few_rows_give_no_drift_verdict(tmp_path: Path, seed: int) -> None:
    result = look(tmp_path, seed, shift=1.5, min_rows=ROWS + 1)

    assert result.drift.dataset_drifted  # measured, but not enough rows to call it
    assert not result.verdict.is_drifted
    assert result.verdict.status == "not_enough_data"
    assert "fewer than monitoring.drift.min_rows=401" in result.verdict.reasons[0]


def test_a_worse_model_is_degraded(tmp_path: Path, seed: int) -> None:
    data = frame(seed + 1, 0.0)
    data["prediction"] = -data["prediction"]
    result = monitor(spec(), dataset(tmp_path, data), reference(seed))

    assert result.verdict.is_degraded
    assert result.quality is not None
    assert any(c.metric == "rmse" and c.degraded for c in result.quality.comparisons)


def test_written_reports_hold_the_json_of_the_result(tmp_path: Path, seed: int) -> None:
    result = write_reports(look(tmp_path, seed, shift=1.5), tmp_path / "reports")

    assert result.json_path is not None
    assert result.html_path is not None
    written = json.loads(result.json_path.read_text())
    assert written == json.loads(json.dumps(result.to_dict()))
    assert (tmp_path / "reports" / "latest.json").read_text() == result.json_path.read_text()
    assert result.html_path.read_text().startswith("<!DOCTYPE html>")


def retrained(trigger: str) -> RetrainAction:
    return RetrainAction(
        trigger=trigger, run_id="r2", version=2, promoted=True, champion=2, gates="all passed",
        why="beats the champion", metrics={"rmse": 0.09}, window=None, detail="v2 promoted",
    )  # fmt: skip


def actions(**changes: object) -> ActionSpec:
    config = MonitoringConfig()
    base = ActionSpec.from_config(config, alert=True, retrain=None, retrainer=retrained)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_breach_retrains_and_the_action_is_recorded(tmp_path: Path, seed: int) -> None:
    audit = tmp_path / "actions.jsonl"

    result = act(look(tmp_path, seed, shift=1.5), actions(retrain_on_drift=True), audit)

    (action,) = result.retrainings
    assert action.trigger.startswith("modelyard monitor: drift on m v1: 2 of 2 features drifted")
    assert result.alerts == ()  # no webhook configured
    (line,) = [json.loads(text) for text in audit.read_text().splitlines()]
    assert line == line | {"model": "m", "status": "drift", "kind": "retrain", "version": 2}
    assert line["trigger"] == action.trigger
    assert result.to_dict()["actions"] == [action.to_dict()]


@pytest.mark.parametrize(
    ("shift", "changes"),
    [
        pytest.param(0.0, {"retrain_on_drift": True}, id="no-breach"),
        pytest.param(1.5, {}, id="retraining-off"),
        pytest.param(1.5, {"retrain_on_drift": True, "retrain": None}, id="no-retrainer"),
    ],
)
def test_nothing_is_done_without_a_breach_and_a_retrainer(
    tmp_path: Path, seed: int, shift: float, changes: dict[str, object]
) -> None:
    audit = tmp_path / "actions.jsonl"

    result = act(look(tmp_path, seed, shift=shift), actions(**changes), audit)

    assert result.actions == ()
    assert not audit.exists()


def test_the_specs_take_every_value_from_the_config() -> None:
    config = MonitoringConfig.model_validate(
        {
            "drift": {"share": 0.5, "alpha": 0.01, "methods": {"x": "psi"},
                      "thresholds": {"psi": 0.2}, "min_rows": 7},
            "quality": {"tolerance": 0.1, "freq": "12h", "min_rows": 3},
            "alerts": {"webhook": "https://hooks.example.com/x", "allow_hosts": ["relay"],
                       "on_drift": False, "on_quality": True, "timeout_s": 2.0},
            "retrain": {"on_drift": True, "on_quality": False},
        }
    )  # fmt: skip

    found = MonitorSpec.from_config(config)
    acting = ActionSpec.from_config(config, alert=True, retrain=None, retrainer=None)

    assert found == MonitorSpec(
        drift_share=0.5, alpha=0.01, methods={"x": "psi"}, thresholds={"psi": 0.2}, min_rows=7,
        quality_tolerance=0.1, quality_freq="12h", quality_min_rows=3,
    )  # fmt: skip
    assert acting == ActionSpec(
        webhook="https://hooks.example.com/x", allow_hosts=("relay",), alert_on_drift=False,
        alert_on_quality=True, timeout_s=2.0, retrain_on_drift=True, retrain_on_quality=False,
        retrain=None,
    )  # fmt: skip
    muted = ActionSpec.from_config(config, alert=False, retrain=False, retrainer=None)
    assert (muted.webhook, muted.retrain_on_drift, muted.retrain_on_quality) == (None, False, False)


@pytest.mark.parametrize("kind", [MonitorSpec, ActionSpec, CurrentSpec])
def test_the_specs_hold_no_default_of_their_own(kind: type) -> None:
    assert [
        f.name
        for f in dataclasses.fields(kind)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ] == []
