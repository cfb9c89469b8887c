"""The inferred modelyard.yaml and contract: valid, commented, and consistent with modelyard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from modelyard.config.validate import validate
from modelyard.data.contract import check_contract, load_contract
from modelyard.evaluation.metrics import PRIMARY_METRIC as EVALUATION_PRIMARY_METRIC
from modelyard.scaffold.inference import infer_project
from modelyard.scaffold.inferred_files import PRIMARY_METRIC, render_config, render_contract

ROWS = 120


def messy(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "row id": np.arange(ROWS),
            "when": pd.date_range("2024-01-01", periods=ROWS, freq="h").strftime("%Y-%m-%dT%H:%M"),
            "colour": rng.choice(["red", "yes", "no", "a|b"], ROWS),
            "size": rng.normal(10, 3, ROWS),
            "label": rng.choice(["cat", "dog", "eel"], ROWS),
        }
    )


def test_primary_metrics_match_the_evaluation_defaults() -> None:
    assert PRIMARY_METRIC == EVALUATION_PRIMARY_METRIC


@pytest.mark.parametrize("target", ["label", "size"])
def test_config_validates_and_keeps_its_comments(target: str, seed: int) -> None:
    inferred, _ = infer_project(messy(seed), target)
    text = render_config(inferred, name="p", source_uri="data/raw/x.parquet", origin="`x.csv`")
    config = validate(yaml.safe_load(text), {}, "modelyard.yaml")
    assert config.evaluation.primary_metric == PRIMARY_METRIC[inferred.task]
    assert config.evaluation.gates.champion.metric == config.evaluation.primary_metric
    assert "row id" not in config.features.numeric
    assert "# not a feature: row id" in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_contract_round_trips_and_quotes_what_yaml_would_misread(tmp_path: Path, seed: int) -> None:
    inferred, prepared = infer_project(messy(seed), "label")
    path = tmp_path / "contract.yaml"
    path.write_text(render_contract(inferred, origin="`x.csv`"), encoding="utf-8")
    contract = load_contract(path)
    rules = {rule.name: rule for rule in contract.columns}
    assert rules["colour"].allowed == ("a|b", "no", "red", "yes")
    assert rules["row id"].unique
    assert rules["label"].allowed == ("cat", "dog", "eel")
    assert contract.min_rows == ROWS // 10
    assert check_contract(prepared, contract, source="x").passed
