"""The training pipeline end to end on a tiny dataset, with in-memory tracking and registry."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from modelyard.errors import ContractViolationError
from modelyard.pipelines.runner import Observer, Step
from modelyard.pipelines.specs import TrainSpecs
from modelyard.pipelines.train import TrainResult, train

from .toy import Toy, make_toy


class Ran(Observer):
    def __init__(self) -> None:
        self.ran: list[str] = []

    def started(self, step: Step) -> None:
        self.ran.append(step.name)


def run(toy: Toy, specs: TrainSpecs | None = None) -> tuple[TrainResult, list[str]]:
    observer = Ran()
    result = train(
        specs or toy.specs, tracker=toy.tracker, registry=toy.registry, observer=observer
    )
    return result, observer.ran


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Toy, TrainResult]:
    """A tiny project trained once."""
    toy = make_toy(tmp_path_factory.mktemp("trained"), seed=20131)
    result, ran = run(toy)
    assert ran == ["ingest", "split", "fit", "evaluate", "export", "register", "gate", "card"]
    return toy, result


def test_first_run_registers_version_1_as_champion(trained: tuple[Toy, TrainResult]) -> None:
    toy, result = trained
    assert (result.version, result.promoted, result.champion, result.alias) == (
        1, True, 1, "champion"
    )  # fmt: skip
    assert result.metrics["test"]["roc_auc"] > 0.7
    assert toy.registry.aliases[("toy", "champion")] == 1
    assert toy.registry.version("toy", 1).tags["modelyard.task"] == "binary_classification"
    assert result.card[0].is_file()
    assert result.card[0] == toy.root / "cards" / "toy" / "v1" / "model_card.md"


def test_the_run_records_params_metrics_data_and_lineage(trained: tuple[Toy, TrainResult]) -> None:
    toy, result = trained
    run_record = toy.tracker.run(result.run_id)
    assert run_record.status == "FINISHED"
    assert run_record.params["model_type"] == "logistic"
    assert run_record.params["model.C"] == 1.0
    assert run_record.metrics["test_roc_auc"] == pytest.approx(result.metrics["test"]["roc_auc"])
    assert run_record.tags["modelyard.version"] == 1
    assert run_record.tags["modelyard.config_hash"] == "c0ffee"
    assert run_record.datasets[0]["source"] == "data.csv"
    assert set(run_record.artifacts) == {"model", "card"}


def test_the_version_carries_its_files_with_the_contracts_rules(
    trained: tuple[Toy, TrainResult],
) -> None:
    toy, _ = trained
    files = toy.registry.version("toy", 1).files
    for name in ("model.skops", "features.json", "reference.parquet", "metrics.json", "plots"):
        assert (files / name).exists(), name
    columns = {c["name"]: c for c in json.loads((files / "features.json").read_text())["columns"]}
    assert (columns["x2"]["min"], columns["x2"]["max"]) == (-10, 10)
    assert columns["color"]["allowed"] == ["red", "green", "blue"]
    reference = pd.read_parquet(files / "reference.parquet")
    assert sorted(reference.columns) == ["color", "label", "when", "x1", "x2"]


def test_an_unchanged_rerun_reuses_every_cached_step(trained: tuple[Toy, TrainResult]) -> None:
    toy, first = trained
    versions = len(toy.registry.versions["toy"])
    again, ran = run(toy)
    assert ran == ["gate", "card"]  # they read the registry's state now: never cached
    assert (again.version, again.metrics) == (first.version, first.metrics)
    assert [step.name for step in again.steps if step.cached] == [
        "ingest", "split", "fit", "evaluate", "export", "register"
    ]  # fmt: skip
    assert len(toy.registry.versions["toy"]) == versions


def test_a_changed_model_param_refits_and_registers_a_new_version(
    trained: tuple[Toy, TrainResult],
) -> None:
    toy, _ = trained
    specs = toy.specs
    weaker = dataclasses.replace(specs, fit=dataclasses.replace(specs.fit, params={"C": 0.001}))
    result, ran = run(toy, weaker)
    assert ran == ["fit", "evaluate", "export", "register", "gate", "card"]
    assert result.version == len(toy.registry.versions["toy"]) > 1


def test_a_changed_contract_rechecks_the_data_and_rewrites_the_versions_rules(
    trained: tuple[Toy, TrainResult],
) -> None:
    toy, _ = trained
    contract = toy.root / "contract.yaml"
    original = contract.read_text()
    try:
        contract.write_text(original.replace("max: 10}", "max: 20}"))
        result, ran = run(toy)
    finally:
        contract.write_text(original)
    assert ran == ["ingest", "register", "gate", "card"]  # the same rows: split stays cached
    files = toy.registry.version("toy", result.version).files
    columns = {c["name"]: c for c in json.loads((files / "features.json").read_text())["columns"]}
    assert columns["x2"]["max"] == 20


def test_data_breaking_the_contract_stops_before_anything_is_fitted(tmp_path: Path) -> None:
    toy = make_toy(tmp_path / "bad", seed=3)
    frame = pd.read_csv(toy.root / "data.csv")
    frame.loc[0, "x2"] = 99.0
    frame.to_csv(toy.root / "data.csv", index=False)
    observer = Ran()
    with pytest.raises(ContractViolationError, match="x2"):
        train(toy.specs, tracker=toy.tracker, registry=toy.registry, observer=observer)
    assert observer.ran == ["ingest"]
    assert toy.registry.versions == {}
    assert [r.status for r in toy.tracker.runs] == ["FAILED"]


def test_a_version_gone_from_the_registry_is_registered_again(
    trained: tuple[Toy, TrainResult],
) -> None:
    """Last in the file: it deletes the version the other tests read."""
    toy, _ = trained
    current, _ = run(toy)
    toy.registry.forget("toy", current.version)
    result, ran = run(toy)
    assert ran == ["register", "gate", "card"]
    assert result.version > current.version
    assert toy.registry.version("toy", result.version).run_id == result.run_id
