"""The gate scores a champion once per version, test split and scoring code."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from modelyard.pipelines import code_version, score_memo
from modelyard.pipelines.registry_steps import score_version
from modelyard.pipelines.score_memo import ScoreMemo
from modelyard.pipelines.train import train

from .fakes import MemoryRegistry
from .toy import Toy, make_toy


class CountingRegistry(MemoryRegistry):
    """Counts downloads: each one is a version scored from its files."""

    downloads = 0

    def download(self, name: str, version: int, dest: Path) -> Path:
        self.downloads += 1
        return super().download(name, version, dest)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Toy, CountingRegistry, Path]:
    """A toy trained once (version 1), and its test split."""
    toy = make_toy(tmp_path_factory.mktemp("memo") / "toy", seed=20131)
    registry = CountingRegistry(toy.tracker)
    train(toy.specs, tracker=toy.tracker, registry=registry)
    [test] = (toy.specs.cache_dir / "split").glob("*/test.parquet")
    return toy, registry, test


def score(
    toy: Toy, registry: CountingRegistry, test: Path, memo: ScoreMemo
) -> tuple[dict[str, float], int]:
    """Version 1's metrics on ``test``, and how many downloads scoring it took."""
    before = registry.downloads
    metrics = score_version(toy.specs.gate, registry, 1, test, memo=memo)
    assert metrics is not None
    return metrics, registry.downloads - before


def test_a_second_score_of_the_same_version_comes_from_the_memo(
    scored: tuple[Toy, CountingRegistry, Path], tmp_path: Path
) -> None:
    toy, registry, test = scored
    memo = ScoreMemo(tmp_path / "scores")
    first, downloads = score(toy, registry, test, memo)
    assert downloads == 1
    again, downloads = score(toy, registry, test, memo)
    assert downloads == 0
    assert again == pytest.approx(first)
    assert first == pytest.approx(score_version(toy.specs.gate, registry, 1, test))  # no memo


def test_another_test_split_is_scored_again(
    scored: tuple[Toy, CountingRegistry, Path], tmp_path: Path
) -> None:
    toy, registry, test = scored
    memo = ScoreMemo(tmp_path / "scores")
    first, _ = score(toy, registry, test, memo)
    frame = pd.read_parquet(test)
    fewer = tmp_path / "test.parquet"
    frame.iloc[: 2 * len(frame) // 3].to_parquet(fewer)
    other, downloads = score(toy, registry, fewer, memo)
    assert downloads == 1
    assert other != first


def test_another_registration_under_the_same_number_is_scored_again(
    scored: tuple[Toy, CountingRegistry, Path], tmp_path: Path
) -> None:
    toy, registry, test = scored
    memo = ScoreMemo(tmp_path / "scores")
    score(toy, registry, test, memo)
    tags = registry.version("toy", 1).tags
    tags["modelyard.register_token"] = "re-created"  # a deleted and re-created model's v1
    try:
        _, downloads = score(toy, registry, test, memo)
    finally:
        del tags["modelyard.register_token"]
    assert downloads == 1


def test_changed_scoring_code_scores_again(
    scored: tuple[Toy, CountingRegistry, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toy, registry, test = scored
    memo = ScoreMemo(tmp_path / "scores")
    score(toy, registry, test, memo)
    real = code_version.code_version
    monkeypatch.setattr(code_version, "code_version", lambda function: "x" + real(function))
    _, downloads = score(toy, registry, test, memo)
    assert downloads == 1


def test_a_damaged_memo_file_is_ignored(
    scored: tuple[Toy, CountingRegistry, Path], tmp_path: Path
) -> None:
    toy, registry, test = scored
    memo = ScoreMemo(tmp_path / "scores")
    first, _ = score(toy, registry, test, memo)
    [written] = memo.folder.glob("*.json")
    written.write_text("{not json")
    again, downloads = score(toy, registry, test, memo)
    assert again == pytest.approx(first)
    assert downloads == 1


def test_the_gate_scores_the_champion_once(tmp_path: Path) -> None:
    toy = make_toy(tmp_path / "toy", seed=20131)
    registry = CountingRegistry(toy.tracker)
    train(toy.specs, tracker=toy.tracker, registry=registry)  # version 1: champion
    specs = toy.specs
    unbeatable = dataclasses.replace(  # version 2 must beat the champion by a full point
        specs,
        fit=dataclasses.replace(specs.fit, params={"C": 0.5}),
        gate=dataclasses.replace(specs.gate, champion_min_delta=1.0),
    )
    second = train(unbeatable, tracker=toy.tracker, registry=registry)
    assert (second.version, second.champion, registry.downloads) == (2, 1, 1)
    again = train(unbeatable, tracker=toy.tracker, registry=registry)  # the gate runs again
    assert again.gates == second.gates
    assert registry.downloads == 1  # champion 1 came from the memo


def test_another_library_version_scores_again(
    scored: tuple[Toy, CountingRegistry, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toy, registry, test = scored
    memo = ScoreMemo(tmp_path / "scores")
    score(toy, registry, test, memo)
    real = score_memo._installed
    monkeypatch.setattr(
        score_memo, "_installed", lambda name: "9.9" if name == "scikit-learn" else real(name)
    )
    _, downloads = score(toy, registry, test, memo)
    assert downloads == 1


def test_no_cache_scores_again_and_remembers_the_new_result(
    scored: tuple[Toy, CountingRegistry, Path], tmp_path: Path
) -> None:
    toy, registry, test = scored
    folder = tmp_path / "scores"
    first, _ = score(toy, registry, test, ScoreMemo(folder))
    [written] = folder.glob("*.json")
    recorded = json.loads(written.read_text())
    recorded["metrics"]["roc_auc"] = 0.123  # as if a library upgrade had changed the score
    written.write_text(json.dumps(recorded))
    assert score(toy, registry, test, ScoreMemo(folder))[0]["roc_auc"] == 0.123
    _, downloads = score(toy, registry, test, ScoreMemo(folder, reuse=False))
    assert downloads == 1
    again, downloads = score(toy, registry, test, ScoreMemo(folder))
    assert downloads == 0
    assert again == pytest.approx(first)
