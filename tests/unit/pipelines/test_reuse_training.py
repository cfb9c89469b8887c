"""A rerun with nothing changed reuses the last gate and card and opens no tracking run."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from modelyard.pipelines.runner import Observer, Step, StepResult
from modelyard.pipelines.specs import TrainSpecs
from modelyard.pipelines.train import TrainResult, train

from .fakes import MemoryRegistryProbe
from .toy import Toy, make_toy


class Seen(Observer):
    def __init__(self) -> None:
        self.ran: list[str] = []
        self.finished_steps: list[str] = []

    def started(self, step: Step) -> None:
        self.ran.append(step.name)

    def finished(self, result: StepResult) -> None:
        self.finished_steps.append(result.name)


def run(
    toy: Toy, probe: MemoryRegistryProbe, specs: TrainSpecs | None = None
) -> tuple[TrainResult, Seen]:
    seen = Seen()
    result = train(
        specs or toy.specs, tracker=toy.tracker, registry=toy.registry, probe=probe, observer=seen
    )
    return result, seen


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Toy, MemoryRegistryProbe, TrainResult]:
    """A tiny project trained once: version 1, promoted to champion."""
    toy = make_toy(tmp_path / "toy", seed=20131)
    probe = MemoryRegistryProbe(toy.registry)
    first, _ = run(toy, probe)
    assert (first.version, first.promoted, first.reused) == (1, True, False)
    return toy, probe, first


def test_an_unchanged_rerun_runs_nothing_and_opens_no_run(
    trained: tuple[Toy, MemoryRegistryProbe, TrainResult],
) -> None:
    toy, probe, first = trained
    runs = len(toy.tracker.runs)
    again, seen = run(toy, probe)
    assert seen.ran == []
    assert seen.finished_steps == [step.name for step in first.steps]
    assert again.reused
    assert all(step.cached for step in again.steps)
    assert len(toy.tracker.runs) == runs  # no new tracking run
    assert (again.version, again.metrics, again.onnx, again.card) == (
        first.version, first.metrics, first.onnx, first.card
    )  # fmt: skip
    assert again.gates == first.gates  # the report the version was gated with
    assert (again.promoted, again.champion, again.alias) == (False, 1, "champion")
    assert again.run_id == first.run_id  # the run that logged the card shown
    assert again.to_dict()["reused"] is True


def test_a_moved_champion_alias_takes_the_normal_path(
    trained: tuple[Toy, MemoryRegistryProbe, TrainResult],
) -> None:
    toy, probe, first = trained
    specs = toy.specs
    weaker = dataclasses.replace(specs, fit=dataclasses.replace(specs.fit, params={"C": 0.001}))
    challenger, _ = run(toy, probe, weaker)  # version 2, gated against champion 1
    moved = first.version if challenger.champion == challenger.version else challenger.version
    toy.registry.set_alias("toy", "champion", moved)  # by hand, after the gate
    again, seen = run(toy, probe, weaker)
    assert seen.ran == ["gate", "card"]
    assert not again.reused


def test_a_deleted_version_takes_the_normal_path(
    trained: tuple[Toy, MemoryRegistryProbe, TrainResult],
) -> None:
    toy, probe, first = trained
    toy.registry.forget("toy", first.version)
    again, seen = run(toy, probe)
    assert seen.ran == ["register", "gate", "card"]
    assert not again.reused
    assert again.version == 2
    settled, seen = run(toy, probe)  # the new registration replaced the stale one in the cache
    assert seen.ran == []
    assert settled.version == 2
    assert [v.version for v in toy.registry.versions["toy"]] == [2]


def test_a_re_created_version_with_the_same_number_takes_the_normal_path(
    trained: tuple[Toy, MemoryRegistryProbe, TrainResult],
) -> None:
    toy, probe, first = trained
    toy.registry.version("toy", first.version).tags["modelyard.register_token"] = "another"
    again, seen = run(toy, probe)
    assert seen.ran == ["gate", "card"]
    assert not again.reused


def test_a_store_the_probe_cannot_read_takes_the_normal_path(
    trained: tuple[Toy, MemoryRegistryProbe, TrainResult],
) -> None:
    toy, probe, _ = trained
    probe.available = False
    runs = len(toy.tracker.runs)
    again, seen = run(toy, probe)
    assert seen.ran == ["gate", "card"]
    assert not again.reused
    assert len(toy.tracker.runs) == runs + 1


def test_a_removed_published_card_is_written_again(
    trained: tuple[Toy, MemoryRegistryProbe, TrainResult],
) -> None:
    toy, probe, first = trained
    shutil.rmtree(first.card[0].parent)
    again, seen = run(toy, probe)
    assert seen.ran == ["gate", "card"]
    assert not again.reused
    assert again.card[0].is_file()


def test_no_cache_never_reuses(trained: tuple[Toy, MemoryRegistryProbe, TrainResult]) -> None:
    toy, probe, _ = trained
    seen = Seen()
    again = train(
        toy.specs,
        tracker=toy.tracker,
        registry=toy.registry,
        probe=probe,
        use_cache=False,
        observer=seen,
    )
    assert not again.reused
    assert "fit" in seen.ran
    assert probe.reads == 1  # only the first training's look, before anything was cached


def test_a_changed_step_spec_takes_the_normal_path(
    trained: tuple[Toy, MemoryRegistryProbe, TrainResult],
) -> None:
    toy, probe, _ = trained
    specs = toy.specs
    stricter = dataclasses.replace(
        specs, gate=dataclasses.replace(specs.gate, gates={"roc_auc": (0.55, None)})
    )
    again, seen = run(toy, probe, stricter)
    assert seen.ran == ["gate", "card"]
    assert not again.reused
