"""The training pipeline's cacheable steps: ingest, split, search, fit, evaluate, export.

Each step reads its declared inputs and writes its declared outputs; ``TrainSettings`` holds
everything a step needs from the config, as plain values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.pipelines.runner import StepContext

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modelyard.data.source_spec import SourceSpec
    from modelyard.features.spec import FeatureSpec
    from modelyard.training.search import TrialRecord


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """Everything the training pipeline needs, taken from the config by ``project``."""

    root: Path
    model_name: str
    task: str
    source: SourceSpec
    contract: Path | None
    target: str
    timestamp: str | None
    split: Mapping[str, Any]
    features: FeatureSpec
    model_type: str
    params: Mapping[str, Any]
    seed: int
    search: bool
    search_trials: int
    search_timeout_s: float
    search_space: Mapping[str, Any]
    validation: str
    folds: int
    primary_metric: str
    slices: tuple[str, ...]
    gates: Mapping[str, tuple[float | None, float | None]]
    champion_metric: str
    champion_min_delta: float
    tracking_uri: str
    artifact_root: Path
    cache_dir: Path
    cards_dir: Path
    export_onnx: bool
    config_hash: str
    lineage: Mapping[str, str] = field(default_factory=dict)
    window: str | None = None
    """Train on the source's latest ``window`` only (``monitoring.retrain.window``)."""


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- ingest and split --------------------------------------------------------------------------


def ingest(s: TrainSettings, ctx: StepContext) -> None:
    """Read the source, enforce the contract (nothing downstream runs on bad data), snapshot."""
    from modelyard.pipelines.data import ingest as ingest_source

    ingest_source(
        s.source,
        base_dir=s.root,
        contract_path=s.contract,
        out=ctx.output("dataset.parquet"),
        snapshot_path=ctx.output("snapshot.json"),
        window=s.window,
        timestamp=s.timestamp,
    )


def split(s: TrainSettings, ctx: StepContext) -> None:
    """Split the dataset into train, valid and test Parquet files."""
    from modelyard.pipelines.data import split_dataset

    split_dataset(
        ctx.input("dataset.parquet"),
        ctx.out,
        strategy=s.split["strategy"],
        valid=s.split["valid"],
        test=s.split["test"],
        seed=s.split["seed"],
        target=s.target,
        timestamp=s.timestamp,
        group=s.split.get("group"),
    )


# --- search and fit ------------------------------------------------------------------------------


def model_factory(s: TrainSettings) -> Callable[[Mapping[str, Any]], Any]:
    """Return params -> an unfitted preprocess + model pipeline."""
    from modelyard.features.pipeline import make_pipeline
    from modelyard.models.catalog import make_estimator

    def make(params: Mapping[str, Any]) -> Any:
        estimator = make_estimator(s.model_type, task=s.task, params=params, seed=s.seed)
        return make_pipeline(s.features, estimator)

    return make


def xy(s: TrainSettings, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Split a frame into prepared features and the target."""
    from modelyard.errors import FeatureError
    from modelyard.features.transform import prepare_frame

    if s.target not in frame.columns:
        raise FeatureError(f"The target column {s.target!r} is not in the data.")
    return prepare_frame(frame, s.features), frame[s.target].to_numpy()


def search(s: TrainSettings, ctx: StepContext, on_trial: Callable[[TrialRecord], None]) -> None:
    """Search hyper-parameters with Optuna; write the best params and every trial."""
    import pandas as pd

    from modelyard.training.search import search as run_search
    from modelyard.training.validation import holdout_fold, make_folds

    train = pd.read_parquet(ctx.input("train.parquet"))
    valid = pd.read_parquet(ctx.input("valid.parquet"))
    both = pd.concat([train, valid], ignore_index=True)
    x, y = xy(s, both)
    if s.validation == "holdout" and len(valid):
        folds = [holdout_fold(len(train), len(valid))]
    else:
        order = both[s.timestamp].to_numpy() if s.timestamp else None
        stratify = y if s.task != "regression" and s.validation == "kfold" else None
        folds = make_folds(
            s.validation, len(both), folds=s.folds, seed=s.seed, order=order, stratify=stratify
        )
    result = run_search(
        model_factory(s), s.params, s.search_space, x, y, folds,
        scorer=s.primary_metric, trials=s.search_trials, timeout_s=s.search_timeout_s,
        seed=s.seed, on_trial=on_trial,
    )  # fmt: skip
    write_json(ctx.output("best_params.json"), result.best_params)
    write_json(ctx.output("trials.json"), [asdict(trial) for trial in result.trials])


def fit(s: TrainSettings, ctx: StepContext) -> None:
    """Fit the pipeline: on train, or on train + valid after a search picked the params."""
    import pandas as pd

    from modelyard.tracking.artifacts import save_model
    from modelyard.tracking.manifest import write_manifest

    frame = pd.read_parquet(ctx.input("train.parquet"))
    params = dict(s.params)
    if "best_params.json" in ctx.inputs:
        params = read_json(ctx.input("best_params.json"))
        frame = pd.concat([frame, pd.read_parquet(ctx.input("valid.parquet"))], ignore_index=True)
    x, y = xy(s, frame)
    start = time.perf_counter()
    pipeline = model_factory(s)(params).fit(x, y)
    seconds = time.perf_counter() - start
    folder = ctx.output("model")
    save_model(pipeline, folder)
    write_manifest(folder)
    refit = "best_params.json" in ctx.inputs
    classes = getattr(pipeline, "classes_", None)
    write_json(
        ctx.output("fit.json"),
        {
            "params": params,
            "rows": len(frame),
            "seconds": seconds,
            "refit_on_valid": refit,
            "classes": None
            if classes is None
            else [c.item() if hasattr(c, "item") else c for c in classes],
        },
    )


# --- evaluate and export -------------------------------------------------------------------------


def scores(s: TrainSettings, model: Any, x: pd.DataFrame) -> tuple[Any, Any, list[Any] | None]:
    """Return predictions, scores (positive-class or class probabilities) and class labels."""
    y_pred = model.predict(x)
    if s.task == "regression":
        return y_pred, None, None
    proba = model.predict_proba(x)
    labels = list(model.classes_)
    y_score = proba[:, 1] if s.task == "binary_classification" else proba
    return y_pred, y_score, labels


def evaluate(s: TrainSettings, ctx: StepContext) -> None:
    """Metrics on valid and test, per slice on test, plots, feature importances, and the test
    split's outputs (``test_predictions.parquet``: ``prediction``, the target, and ``score``,
    the positive-class probability, for binary classifiers)."""
    import pandas as pd

    from modelyard.evaluation.metrics import compute_metrics
    from modelyard.evaluation.plots import feature_importances, write_plots
    from modelyard.evaluation.slices import slice_metrics
    from modelyard.tracking.artifacts import load_model

    model = load_model(ctx.input("model"))
    searched = read_json(ctx.input("fit.json"))["refit_on_valid"]
    metrics: dict[str, dict[str, float]] = {}
    test = pd.read_parquet(ctx.input("test.parquet"))
    x, y = xy(s, test)
    y_pred, y_score, labels = scores(s, model, x)
    if not searched:  # after a search the refit saw the validation rows: only test is unseen
        valid = pd.read_parquet(ctx.input("valid.parquet"))
        if len(valid):
            vx, vy = xy(s, valid)
            v_pred, v_score, _ = scores(s, model, vx)
            metrics["valid"] = compute_metrics(
                s.task, vy, y_pred=v_pred, y_score=v_score, labels=labels
            )
    metrics["test"] = compute_metrics(s.task, y, y_pred=y_pred, y_score=y_score, labels=labels)
    slices = slice_metrics(
        s.task, test, y, y_pred=y_pred, y_score=y_score, columns=list(s.slices), labels=labels
    )
    importances = feature_importances(model, list(s.features.columns))
    write_plots(
        s.task, ctx.output("plots"), y,
        y_pred=y_pred, y_score=y_score, importances=importances, labels=labels,
    )  # fmt: skip
    outputs = pd.DataFrame({"prediction": y_pred, s.target: y})
    if s.task == "binary_classification":
        outputs["score"] = y_score
    outputs.to_parquet(ctx.output("test_predictions.parquet"), index=False)
    write_json(ctx.output("metrics.json"), metrics)
    write_json(ctx.output("slices.json"), [item.to_dict() for item in slices])
    write_json(ctx.output("importances.json"), importances)


def export(s: TrainSettings, ctx: StepContext) -> None:
    """Export the whole pipeline to ONNX and check parity on the test split."""
    import pandas as pd

    from modelyard.models.onnx import try_export
    from modelyard.tracking.artifacts import load_model

    folder = ctx.output("onnx")
    folder.mkdir()
    if not s.export_onnx:
        write_json(folder / "onnx.json", {"parity": None, "reason": "registry.export_onnx is off"})
        return
    model = load_model(ctx.input("model"))
    x, _ = xy(s, pd.read_parquet(ctx.input("test.parquet")))
    result = try_export(model, x, s.task)
    if result.model is not None:
        (folder / "model.onnx").write_bytes(result.model)
    write_json(
        folder / "onnx.json",
        {"parity": result.parity, "reason": result.reason, "rows": len(x), "tolerance": 1e-5},
    )
