"""The training pipeline's cacheable steps: ingest, split, search, fit, evaluate, export.

Each step is ``step(spec, ctx)``: it reads its spec (``pipelines.specs``) and its declared
inputs, and writes its declared outputs. Nothing else reaches it, so its cache key (spec
fields, input digests, code version) covers everything its outputs depend on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.pipelines.runner import StepContext

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from modelyard.features.spec import FeatureSpec
    from modelyard.pipelines.specs import (
        EvalSpec,
        ExportSpec,
        FitSpec,
        IngestSpec,
        SearchSpec,
        SplitSpec,
    )
    from modelyard.training.search import TrialRecord


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- ingest and split --------------------------------------------------------------------------


def ingest(spec: IngestSpec, ctx: StepContext) -> None:
    """Read the source, enforce the contract (nothing downstream runs on bad data), snapshot.

    A local source file is the input ``source`` (keyed by content); the contract, when there
    is one, is the input ``contract``.
    """
    from modelyard.pipelines.data import ingest as ingest_source

    ingest_source(
        spec,
        contract_path=ctx.input("contract") if "contract" in ctx.inputs else None,
        out=ctx.output("dataset.parquet"),
        snapshot_path=ctx.output("snapshot.json"),
    )


def split(spec: SplitSpec, ctx: StepContext) -> None:
    """Split the dataset into train, valid and test Parquet files."""
    from modelyard.pipelines.data import split_dataset

    split_dataset(spec, ctx.input("dataset.parquet"), ctx.out)


# --- search and fit ------------------------------------------------------------------------------


def model_factory(spec: FitSpec) -> Callable[[Mapping[str, Any]], Any]:
    """Return params -> an unfitted preprocess + model pipeline."""
    from modelyard.features.pipeline import make_pipeline
    from modelyard.models.catalog import make_estimator

    def make(params: Mapping[str, Any]) -> Any:
        estimator = make_estimator(spec.model_type, task=spec.task, params=params, seed=spec.seed)
        return make_pipeline(spec.features, estimator)

    return make


def xy(features: FeatureSpec, target: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Split a frame into prepared features and the target."""
    from modelyard.errors import FeatureError
    from modelyard.features.transform import prepare_frame

    if target not in frame.columns:
        raise FeatureError(f"The target column {target!r} is not in the data.")
    return prepare_frame(frame, features), frame[target].to_numpy()


def search(spec: SearchSpec, ctx: StepContext, *, on_trial: Callable[[TrialRecord], None]) -> None:
    """Search hyper-parameters with Optuna; write the best params and every trial.

    ``on_trial`` (a port) hears about each finished trial: the pipeline logs it as a nested run.
    """
    import pandas as pd

    from modelyard.training.search import search as run_search
    from modelyard.training.validation import holdout_fold, make_folds

    model = spec.fit
    train = pd.read_parquet(ctx.input("train.parquet"))
    valid = pd.read_parquet(ctx.input("valid.parquet"))
    both = pd.concat([train, valid], ignore_index=True)
    x, y = xy(model.features, model.target, both)
    if spec.validation == "holdout" and len(valid):
        folds = [holdout_fold(len(train), len(valid))]
    else:
        order = both[spec.timestamp].to_numpy() if spec.timestamp else None
        stratify = y if model.task != "regression" and spec.validation == "kfold" else None
        folds = make_folds(
            spec.validation, len(both), folds=spec.folds, seed=model.seed, order=order,
            stratify=stratify,
        )  # fmt: skip
    result = run_search(
        model_factory(model), model.params, spec.space, x, y, folds,
        scorer=spec.metric, trials=spec.trials, timeout_s=spec.timeout_s,
        seed=model.seed, on_trial=on_trial,
    )  # fmt: skip
    write_json(ctx.output("best_params.json"), result.best_params)
    write_json(ctx.output("trials.json"), [asdict(trial) for trial in result.trials])


def fit(spec: FitSpec, ctx: StepContext) -> None:
    """Fit the pipeline: on train, or on train + valid with the params a search picked
    (the input ``best_params.json``)."""
    import pandas as pd

    from modelyard.tracking.artifacts import save_model
    from modelyard.tracking.manifest import write_manifest

    frame = pd.read_parquet(ctx.input("train.parquet"))
    params = dict(spec.params)
    refit = "best_params.json" in ctx.inputs
    if refit:
        params = read_json(ctx.input("best_params.json"))
        frame = pd.concat([frame, pd.read_parquet(ctx.input("valid.parquet"))], ignore_index=True)
    x, y = xy(spec.features, spec.target, frame)
    start = time.perf_counter()
    pipeline = model_factory(spec)(params).fit(x, y)
    seconds = time.perf_counter() - start
    folder = ctx.output("model")
    save_model(pipeline, folder)
    write_manifest(folder)
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


def scores(task: str, model: Any, x: pd.DataFrame) -> tuple[Any, Any, list[Any] | None]:
    """Return predictions, scores (positive-class or class probabilities) and class labels.

    A classifier runs once: its prediction is the most probable class, as ONNX's ``label``.
    """
    import numpy as np

    if task == "regression":
        return model.predict(x), None, None
    proba = model.predict_proba(x)
    classes = np.asarray(model.classes_)
    y_score = proba[:, 1] if task == "binary_classification" else proba
    return classes[np.argmax(proba, axis=1)], y_score, list(classes)


def evaluate(spec: EvalSpec, ctx: StepContext) -> None:
    """Metrics on valid and test, per slice on test, plots, feature importances, and the test
    split's outputs (``test_predictions.parquet``: ``prediction``, the target, and ``score``,
    the positive-class probability, for binary classifiers)."""
    import pandas as pd

    from modelyard.evaluation.metrics import compute_metrics
    from modelyard.evaluation.plots import feature_importances, write_plots
    from modelyard.evaluation.slices import slice_metrics
    from modelyard.tracking.artifacts import load_model

    task = spec.task
    model = load_model(ctx.input("model"))
    searched = read_json(ctx.input("fit.json"))["refit_on_valid"]
    metrics: dict[str, dict[str, float]] = {}
    test = pd.read_parquet(ctx.input("test.parquet"))
    x, y = xy(spec.features, spec.target, test)
    y_pred, y_score, labels = scores(task, model, x)
    if not searched:  # after a search the refit saw the validation rows: only test is unseen
        valid = pd.read_parquet(ctx.input("valid.parquet"))
        if len(valid):
            vx, vy = xy(spec.features, spec.target, valid)
            v_pred, v_score, _ = scores(task, model, vx)
            metrics["valid"] = compute_metrics(
                task, vy, y_pred=v_pred, y_score=v_score, labels=labels
            )
    metrics["test"] = compute_metrics(task, y, y_pred=y_pred, y_score=y_score, labels=labels)
    slices = slice_metrics(
        task, test, y, y_pred=y_pred, y_score=y_score, columns=list(spec.slices), labels=labels
    )
    importances = feature_importances(model, list(spec.features.columns))
    write_plots(
        task, ctx.output("plots"), y,
        y_pred=y_pred, y_score=y_score, importances=importances, labels=labels,
    )  # fmt: skip
    outputs = pd.DataFrame({"prediction": y_pred, spec.target: y})
    if task == "binary_classification":
        outputs["score"] = y_score
    outputs.to_parquet(ctx.output("test_predictions.parquet"), index=False)
    write_json(ctx.output("metrics.json"), metrics)
    write_json(ctx.output("slices.json"), [item.to_dict() for item in slices])
    write_json(ctx.output("importances.json"), importances)


def export(spec: ExportSpec, ctx: StepContext) -> None:
    """Export the whole pipeline to ONNX and check parity on the test split."""
    import pandas as pd

    from modelyard.features.transform import prepare_frame
    from modelyard.models.onnx import try_export
    from modelyard.tracking.artifacts import load_model

    folder = ctx.output("onnx")
    folder.mkdir()
    if not spec.enabled:
        write_json(folder / "onnx.json", {"parity": None, "reason": "registry.export_onnx is off"})
        return
    model = load_model(ctx.input("model"))
    x = prepare_frame(pd.read_parquet(ctx.input("test.parquet")), spec.features)
    result = try_export(model, x, spec.task)
    if result.model is not None:
        (folder / "model.onnx").write_bytes(result.model)
    write_json(
        folder / "onnx.json",
        {"parity": result.parity, "reason": result.reason, "rows": result.rows, "tolerance": 1e-5},
    )
