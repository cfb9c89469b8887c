"""A tiny synthetic binary-classification project: its data, contract, specs and ports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelyard.data.source_spec import SourceSpec
from modelyard.features.spec import FeatureSpec
from modelyard.pipelines import specs as s

from .fakes import MemoryRegistry, MemoryTracker

ROWS = 240
CONTRACT = """\
columns:
  x1: {type: float, nullable: false}
  x2: {type: float, nullable: false, min: -10, max: 10}
  color: {type: string, allowed: [red, green, blue]}
  when: {type: datetime}
  label: {type: int, allowed: [0, 1]}
"""


def write_data(folder: Path, seed: int) -> Path:
    """Write ``data.csv``: a label that depends on x1, x2 and color, with noise."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=ROWS), rng.uniform(-3, 3, size=ROWS)
    color = rng.choice(["red", "green", "blue"], size=ROWS)
    logit = 1.5 * x1 - 0.8 * x2 + np.where(color == "red", 1.0, -0.5)
    label = (logit + rng.logistic(size=ROWS) > 0).astype(int)
    when = pd.date_range("2024-01-01", periods=ROWS, freq="h")
    frame = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "when": when, "label": label})
    path = folder / "data.csv"
    frame.to_csv(path, index=False)
    return path


def make_specs(root: Path, *, contract: Path | None = None) -> s.TrainSpecs:
    """Specs for a logistic model on ``root/data.csv``, as ``Project.train_specs`` would build."""
    features = FeatureSpec(numeric=("x1", "x2"), categorical=("color",))
    fit = s.FitSpec(
        task="binary_classification", model_type="logistic", params={"C": 1.0}, seed=7,
        features=features, target="label",
    )  # fmt: skip
    common = {"task": fit.task, "target": "label"}
    return s.TrainSpecs(
        model_name="toy",
        ingest=s.IngestSpec(
            source=SourceSpec(uri="data.csv"), base_dir=root, timestamp="when", window=None
        ),
        split=s.SplitSpec(
            strategy="random",
            valid=0.2,
            test=0.25,
            seed=3,
            target="label",
            timestamp="when",
            group=None,
        ),
        search=None,
        fit=fit,
        evaluate=s.EvalSpec(**common, features=features, slices=("color",)),
        export=s.ExportSpec(enabled=False, task=fit.task, features=features),
        register=s.RegisterSpec(
            **common,
            model_name="toy",
            model_type="logistic",
            source="data.csv",
            features=features,
            timestamp="when",
            seed=7,
        ),
        gate=s.GateSpec(
            **common,
            model_name="toy",
            gates={"roc_auc": (0.5, None)},
            champion_metric="roc_auc",
            champion_min_delta=0.0,
        ),
        card=s.CardSpec(
            **common,
            model_name="toy",
            timestamp="when",
            features=features,
            source="data.csv",
            primary_metric="roc_auc",
            champion_metric="roc_auc",
            config_hash="c0ffee",
            project_root=root,
            lineage={"modelyard.env": "none"},
            cards_dir=root / "cards",
        ),
        contract=contract,
        cache_dir=root / ".modelyard" / "cache",
        config_hash="c0ffee",
        lineage={"modelyard.env": "none"},
    )


@dataclass
class Toy:
    """A tiny project on disk, its specs and the in-memory ports it trains with."""

    root: Path
    specs: s.TrainSpecs
    tracker: MemoryTracker
    registry: MemoryRegistry


def make_toy(root: Path, seed: int) -> Toy:
    root.mkdir(parents=True, exist_ok=True)
    write_data(root, seed)
    contract = root / "contract.yaml"
    contract.write_text(CONTRACT)
    tracker = MemoryTracker(root / "artifacts")
    return Toy(root, make_specs(root, contract=contract), tracker, MemoryRegistry(tracker))
