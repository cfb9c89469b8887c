"""The serving tests' model versions: small real LightGBM pipelines written as `modelyard train`
writes a version folder, and a slow stand-in runtime."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelyard.features.pipeline import make_pipeline
from modelyard.features.spec import FeatureSpec
from modelyard.features.transform import prepare_frame
from modelyard.models.catalog import make_estimator
from modelyard.models.onnx import export_onnx
from modelyard.tracking.artifacts import save_model
from modelyard.tracking.manifest import write_manifest

SPEC = FeatureSpec(numeric=("distance", "hour", "plane_age"), categorical=("carrier", "dest"))
CARRIERS = ["AA", "DL", "UA"]
COLUMNS = [
    {
        "name": "distance",
        "kind": "numeric",
        "type": "float",
        "nullable": False,
        "min": 1,
        "max": 5000,
        "allowed": None,
    },
    {
        "name": "hour",
        "kind": "numeric",
        "type": "int",
        "nullable": False,
        "min": 0,
        "max": 23,
        "allowed": None,
    },
    {
        "name": "plane_age",
        "kind": "numeric",
        "type": "float",
        "nullable": True,
        "min": 0,
        "max": 80,
        "allowed": None,
    },
    {
        "name": "carrier",
        "kind": "categorical",
        "type": "string",
        "nullable": False,
        "min": None,
        "max": None,
        "allowed": CARRIERS,
    },
    {
        "name": "dest",
        "kind": "categorical",
        "type": "string",
        "nullable": False,
        "min": None,
        "max": None,
        "allowed": None,
    },
]
RECORD = {"distance": 1200.0, "hour": 17, "plane_age": 9.5, "carrier": "UA", "dest": "LAX"}
API_KEY = "test-key-0123456789abcdef"


def build_version(folder: Path, *, task: str, onnx: bool, seed: int) -> Path:
    """Fit a small LightGBM pipeline and write a version folder as `modelyard train` does."""
    rng = np.random.default_rng(seed)
    rows = 600
    raw = pd.DataFrame(
        {
            "distance": rng.uniform(100, 3000, rows),
            "hour": rng.integers(0, 24, rows),
            "plane_age": np.where(rng.random(rows) < 0.1, np.nan, rng.uniform(0, 30, rows)),
            "carrier": rng.choice(CARRIERS, rows),
            "dest": rng.choice(["LAX", "SFO", "ORD", "ATL"], rows),
        }
    )
    score = raw["hour"] / 24 + (raw["carrier"] == "UA") * 0.5 + rng.normal(0, 0.3, rows)
    target = score * 10 if task == "regression" else (score > score.median()).astype(int)
    frame = prepare_frame(raw, SPEC)
    params = {"n_estimators": 8, "num_leaves": 7, "n_jobs": 1, "verbose": -1}
    estimator = make_estimator("lightgbm", task=task, params=params, seed=seed)
    pipeline = make_pipeline(SPEC, estimator).fit(frame, target)
    folder.mkdir(parents=True)
    save_model(pipeline, folder)
    if onnx:
        (folder / "model.onnx").write_bytes(export_onnx(pipeline, frame))
    features = {
        "spec": SPEC.to_dict(),
        "spec_by_kind": {"numeric": list(SPEC.numeric), "categorical": list(SPEC.categorical)},
        "target": "delayed",
        "task": task,
        "columns": COLUMNS,
        "classes": None if task == "regression" else [0, 1],
        "example": {**RECORD, "hour": 17.0},  # as pandas writes it: ints may come back floats
    }
    (folder / "features.json").write_text(json.dumps(features))
    (folder / "metrics.json").write_text(json.dumps({"test": {"roc_auc": 0.81}}))
    write_manifest(folder)
    return folder


class SlowRuntime:
    """A stand-in model: sleeps ``delay`` seconds for records whose hour is 23, in a thread."""

    name = "stub"
    inline_rows = 0

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def predict(self, records: Any) -> list[dict[str, Any]]:
        if any(record["hour"] == 23 for record in records):
            time.sleep(self.delay)
        return [{"label": 1, "probabilities": {"0": 0.25, "1": 0.75}} for _ in records]
