"""Small fitted model versions and input files for the batch scoring tests (no MLflow needed).

A version folder is what `modelyard train` registers: model.skops, model.onnx when exported,
features.json and the SHA-256 manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from modelyard.features.pipeline import make_pipeline
from modelyard.features.spec import FeatureSpec
from modelyard.features.transform import prepare_frame
from modelyard.inference.model import BatchModel
from modelyard.models.catalog import make_estimator
from modelyard.models.onnx import try_export
from modelyard.tracking.artifacts import save_model
from modelyard.tracking.manifest import write_manifest

SPEC = FeatureSpec(numeric=("amount", "visits"), categorical=("city", "plan"), datetime=("signup",))
CITIES = ["paris", "lyon", "lille", "nice"]
BuildVersion = Callable[..., Path]


def make_rows(rows: int, seed: int = 7) -> pd.DataFrame:
    """Rows with every feature kind, missing values, and columns the model does not read."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "row_id": np.arange(rows, dtype=np.int64),
            "amount": rng.lognormal(3, 1, rows),
            "visits": rng.poisson(3, rows).astype(np.int64),
            "city": rng.choice(CITIES, size=rows),
            "plan": rng.integers(1, 4, rows),
            "signup": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 400 * 86400, rows), unit="s"),
            "note": [f"n{i % 13}" for i in range(rows)],
        }
    )
    frame.loc[rng.random(rows) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "city"] = None
    return frame


def targets(frame: pd.DataFrame) -> dict[str, pd.Series]:
    score = (
        np.log1p(frame["amount"].fillna(20)) * 0.8
        + 0.3 * frame["visits"]
        + frame["city"].map({"paris": 0.8, "lyon": -0.5}).fillna(0.0)
        + 0.2 * frame["plan"]
    )
    return {
        "binary_classification": (score > score.median()).astype(int),
        "multiclass_classification": pd.Series(
            pd.qcut(score, 3, labels=["low", "mid", "high"]).astype(str), index=frame.index
        ),
        "regression": score * 10.0,
    }


def build_version(
    folder: Path, task: str, *, onnx: bool, model: str = "lightgbm", params: dict | None = None
) -> Path:
    """Fit a small pipeline for ``task`` and write it as a registered version folder."""
    frame = make_rows(600, seed=11)
    x = prepare_frame(frame, SPEC)
    y = targets(frame)[task]
    estimator_params = params if params is not None else {"n_estimators": 15, "num_leaves": 7}
    with threadpool_limits(limits=1):
        pipeline = make_pipeline(
            SPEC, make_estimator(model, task=task, params=estimator_params, seed=3)
        ).fit(x, y)
    save_model(pipeline, folder)
    if onnx:
        exported = try_export(pipeline, x, task)
        assert exported.model is not None, exported.reason
        (folder / "model.onnx").write_bytes(exported.model)
    classes = getattr(pipeline, "classes_", None)
    features = {
        "spec": SPEC.to_dict(),
        "target": "y",
        "task": task,
        "classes": None
        if classes is None
        else [c.item() if hasattr(c, "item") else c for c in classes],
    }
    (folder / "features.json").write_text(json.dumps(features))
    write_manifest(folder)
    return folder


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP on one thread: spinning threads stall when test processes share cores."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Version folders, fitted once: a native and an ONNX binary classifier, a native
    multiclass classifier with text labels, a native regressor, and a second classifier."""
    root = tmp_path_factory.mktemp("versions")
    return {
        "binary": build_version(root / "binary", "binary_classification", onnx=False),
        "binary_onnx": build_version(root / "binary_onnx", "binary_classification", onnx=True),
        "multiclass": build_version(root / "multiclass", "multiclass_classification", onnx=False),
        "regression": build_version(root / "regression", "regression", onnx=False),
        "other": build_version(
            root / "other", "binary_classification", onnx=False, params={"n_estimators": 5}
        ),
    }


@pytest.fixture(scope="session")
def classifier(versions: dict[str, Path]) -> BatchModel:
    """The ONNX binary classifier as version 1 of model 'm'."""
    return BatchModel(versions["binary_onnx"], name="m", version=1)


@pytest.fixture
def rows() -> Callable[..., pd.DataFrame]:
    """``make_rows``, for tests that write their own inputs."""
    return make_rows


@pytest.fixture
def rows_file(tmp_path: Path) -> Path:
    """95 rows in a Parquet file of row groups of 20 rows."""
    path = tmp_path / "in" / "rows.parquet"
    path.parent.mkdir()
    make_rows(95).to_parquet(path, row_group_size=20)
    return path
