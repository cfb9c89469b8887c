"""``Project``: the one place the config becomes specs, and what the pipelines get from it."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pipelines.fakes import MemoryRegistry, MemoryTracker
from pipelines.toy import CONTRACT, write_data

from modelyard.config.schema import ModelConfig, SearchConfig, SplitConfig
from modelyard.pipelines.runner import Observer, Step, cache_key
from modelyard.pipelines.train import build_steps, train
from modelyard.project import Project, load_project

CONFIG = """\
name: toy
data:
  source: {uri: data.csv}
  target: {column: label}
  timestamp: when
  contract: contract.yaml
features:
  numeric: [x1, x2]
  categorical: [color]
model:
  type: logistic
  params: {C: 1.0}
registry:
  export_onnx: false
evaluation:
  slices: [color]
  gates:
    roc_auc: {min: 0.5}
"""


@pytest.fixture
def root(tmp_path: Path, seed: int) -> Path:
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "modelyard.yaml").write_text(textwrap.dedent(CONFIG))
    (folder / "contract.yaml").write_text(CONTRACT)
    write_data(folder, seed)
    return folder


def project(root: Path, **overrides: Any) -> Project:
    return load_project(root, overrides=overrides)


def test_specs_take_the_schemas_defaults_for_what_the_file_leaves_out(root: Path) -> None:
    specs = project(root).train_specs()
    split, model, search = SplitConfig(), ModelConfig(), SearchConfig()
    assert (specs.split.strategy, specs.split.valid, specs.split.test, specs.split.seed) == (
        split.strategy, split.valid, split.test, split.seed
    )  # fmt: skip
    assert specs.fit.seed == model.seed
    assert specs.search is None  # model.search.enabled is off by default
    searching = project(root).train_specs(search=True).search
    assert searching is not None
    assert (searching.trials, searching.timeout_s, searching.folds, searching.validation) == (
        search.trials, search.timeout_s, model.folds, model.validation
    )  # fmt: skip


def test_specs_hold_what_the_file_says(root: Path) -> None:
    specs = project(root, **{"data.split.seed": 9, "model.params": {"C": 0.5}}).train_specs()
    assert specs.split == dataclasses.replace(specs.split, seed=9, target="label", timestamp="when")
    assert specs.fit.params == {"C": 0.5}
    assert specs.fit.features.numeric == ("x1", "x2")
    assert specs.evaluate.slices == ("color",)
    assert specs.export.enabled is False
    assert specs.gate.gates == {"roc_auc": (0.5, None)}
    assert specs.ingest.base_dir == root
    assert specs.contract == root / "contract.yaml"
    assert specs.card.cards_dir == root / "docs" / "model_cards"


def test_arguments_override_search_window_and_lineage(root: Path) -> None:
    specs = project(root).train_specs(
        search=True, window="30d", lineage={"modelyard.trigger": "drift"}
    )
    assert specs.search is not None
    assert specs.ingest.window == "30d"
    assert specs.lineage == {"modelyard.env": "none", "modelyard.trigger": "drift"}


def keys(proj: Project) -> dict[str, str]:
    steps = build_steps(proj.train_specs(), run=None, registry=None, on_trial=print)  # type: ignore[arg-type]
    return {step.name: cache_key(step, dict.fromkeys(step.inputs, "same")) for step in steps}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("serving.port", 9001, id="serving.port"),
        pytest.param("serving.log_flush_s", 2.5, id="serving.log_flush_s"),
        pytest.param("monitoring.window", "30d", id="monitoring.window"),
        pytest.param("monitoring.drift.share", 0.5, id="monitoring.drift.share"),
        pytest.param("stores.redis_url", "redis://127.0.0.1:6379/1", id="stores.redis_url"),
    ],
)
def test_a_setting_no_training_step_reads_changes_no_cached_steps_key(
    root: Path, key: str, value: object
) -> None:
    before, after = keys(project(root)), keys(project(root, **{key: value}))
    changed = [name for name in before if before[name] != after[name]]
    assert changed == ["card"]  # the card shows the config's hash; it is never cached


@pytest.mark.parametrize(
    ("key", "value", "step"),
    [
        pytest.param("data.split.test", 0.3, "split", id="data.split.test"),
        pytest.param("features.scale_numeric", False, "fit", id="features.scale_numeric"),
        pytest.param("model.seed", 1, "fit", id="model.seed"),
        pytest.param("evaluation.slices", [], "evaluate", id="evaluation.slices"),
        pytest.param("registry.export_onnx", True, "export", id="registry.export_onnx"),
        pytest.param("data.timestamp", None, "ingest", id="data.timestamp"),
    ],
)
def test_a_setting_a_step_reads_changes_that_steps_key(
    root: Path, key: str, value: object, step: str
) -> None:
    before, after = keys(project(root)), keys(project(root, **{key: value}))
    assert step in [name for name in before if before[name] != after[name]]


class Ran(Observer):
    def __init__(self) -> None:
        self.ran: list[str] = []

    def started(self, step: Step) -> None:
        self.ran.append(step.name)


def test_training_again_after_changing_only_serving_settings_uses_the_cache(root: Path) -> None:
    tracker = MemoryTracker(root / "artifacts")
    registry = MemoryRegistry(tracker)

    def run(proj: Project) -> list[str]:
        observer = Ran()
        train(proj.train_specs(), tracker=tracker, registry=registry, observer=observer)
        return observer.ran

    assert run(project(root))[:2] == ["ingest", "split"]
    assert run(project(root, **{"serving.port": 9001, "monitoring.window": "1d"})) == [
        "gate", "card"
    ]  # fmt: skip
    assert len(registry.versions["toy"]) == 1


def test_data_split_writes_the_splits_the_spec_describes(root: Path) -> None:
    proj = project(root, **{"data.split.seed": 11})
    ingested = proj.ingest()
    assert ingested.report is not None
    assert ingested.report.passed
    result = proj.split()
    assert (result.strategy, result.seed) == ("random", 11)
    assert sum(result.rows.values()) == ingested.snapshot.rows
    assert all(path.is_file() for path in result.paths.values())
