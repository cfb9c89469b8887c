"""The training pipeline: ingest → validate → split → (search) → fit → evaluate → export →
register → gate → model card, tracked in one MLflow run.

The data and model steps are cached by content; registering, gating and the card talk to the
registry, whose state can change between runs, so gating and the card always run and a cached
registration is checked against the registry before it is reused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.pipelines import train_steps as steps
from modelyard.pipelines.data import SPLITS
from modelyard.pipelines.registry_steps import (
    CHALLENGER,
    CHAMPION,
    card,
    feature_schema,
    gate,
    register,
    still_registered,
)
from modelyard.pipelines.runner import Observer, Step, StepResult, run_pipeline
from modelyard.pipelines.train_steps import TrainSettings, read_json

if TYPE_CHECKING:
    from modelyard.evaluation.gates import GateReport
    from modelyard.tracking.registry import Registry
    from modelyard.tracking.runs import RunHandle


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What one `modelyard train` did."""

    model: str
    version: int
    run_id: str
    promoted: bool
    champion: int | None
    previous_champion: int | None
    gates: GateReport
    metrics: dict[str, dict[str, float]]
    onnx: dict[str, Any]
    card: tuple[Path, Path]
    steps: tuple[StepResult, ...]
    seconds: float

    @property
    def alias(self) -> str:
        return CHAMPION if self.champion == self.version else CHALLENGER

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "run_id": self.run_id,
            "promoted": self.promoted,
            "champion": self.champion,
            "previous_champion": self.previous_champion,
            "gates": self.gates.to_dict(),
            "metrics": self.metrics,
            "onnx": self.onnx,
            "card": [str(path) for path in self.card],
            "steps": [
                {"name": r.name, "cached": r.cached, "seconds": round(r.seconds, 3)}
                for r in self.steps
            ],
            "seconds": round(self.seconds, 3),
        }


def train(
    s: TrainSettings, *, use_cache: bool = True, observer: Observer | None = None
) -> TrainResult:
    """Run the training pipeline and return what was registered and promoted."""
    from modelyard.tracking.lineage import lineage_tags
    from modelyard.tracking.mlflow_store import Tracker
    from modelyard.tracking.registry import Registry

    start = time.perf_counter()
    tracker = Tracker(s.tracking_uri, experiment=s.model_name, artifact_root=s.artifact_root)
    registry = Registry(s.tracking_uri)
    lineage = lineage_tags(config_hash=s.config_hash, data_digest="pending", project_root=s.root)
    with tracker.start_run("train", tags={**lineage, **s.lineage}) as run:
        run.log_params(_params(s))

        def on_trial(record: Any) -> None:
            with tracker.start_run(f"trial-{record.number}", nested=True) as child:
                child.log_params(record.params)
                child.set_tags({"modelyard.trial_state": record.state})
                if record.value is not None:
                    child.log_metrics({s.primary_metric: record.value})

        pipeline = run_pipeline(
            build_steps(s, run, registry, on_trial),
            cache_dir=s.cache_dir,
            external=_external(s),
            use_cache=use_cache,
            observer=observer,
        )
        registered = read_json(pipeline["registered.json"])
        gate = read_json(pipeline["gate.json"])
        metrics = read_json(pipeline["metrics.json"])
        snapshot = read_json(pipeline["snapshot.json"])
        run.log_metrics({f"{split}_{k}": v for split, ms in metrics.items() for k, v in ms.items()})
        run.log_dataset(name="training", digest=snapshot["digest"], source=_source(s))
        run.set_tags(
            {
                **lineage_tags(
                    config_hash=s.config_hash, data_digest=snapshot["digest"], project_root=s.root
                ),
                "modelyard.model": s.model_name,
                "modelyard.version": registered["version"],
                "modelyard.promoted": gate["promoted"],
                "modelyard.cached": pipeline.all_cached,
            }
        )
    from modelyard.evaluation.gates import GateReport

    report = GateReport.from_dict(gate["report"])
    card_dir = s.cards_dir / s.model_name / f"v{registered['version']}"
    return TrainResult(
        model=s.model_name,
        version=registered["version"],
        run_id=run.run_id,
        promoted=gate["promoted"],
        champion=registry.get_alias(s.model_name, CHAMPION),
        previous_champion=gate["champion_before"],
        gates=report,
        metrics=metrics,
        onnx=read_json(pipeline["onnx"] / "onnx.json"),
        card=(card_dir / "model_card.md", card_dir / "model_card.html"),
        steps=pipeline.steps,
        seconds=time.perf_counter() - start,
    )


SPLIT_FILES = tuple(f"{name}.parquet" for name in SPLITS)


def data_steps(s: TrainSettings) -> list[Step]:
    """Ingest (contract enforced) and split: the steps every pipeline starts with."""
    ingest_inputs = tuple(_external(s))
    return [
        Step(
            "ingest", lambda ctx: steps.ingest(s, ctx), version=_code(steps.ingest),
            inputs=ingest_inputs, outputs=("dataset.parquet", "snapshot.json"),
            params={"source": _source_params(s), **({"window": s.window} if s.window else {})},
            cache="source" in ingest_inputs,
        ),
        Step(
            "split", lambda ctx: steps.split(s, ctx), version=_code(steps.split),
            inputs=("dataset.parquet",), outputs=SPLIT_FILES,
            params={**s.split, "target": s.target, "timestamp": s.timestamp},
        ),
    ]  # fmt: skip


def prepare_splits(s: TrainSettings, observer: Observer | None = None) -> dict[str, Path]:
    """Ingest and split (from cache when unchanged); return each split's file."""
    result = run_pipeline(
        data_steps(s), cache_dir=s.cache_dir, external=_external(s), observer=observer
    )
    return {name.removesuffix(".parquet"): result[name] for name in SPLIT_FILES}


def build_steps(s: TrainSettings, run: RunHandle, registry: Registry, on_trial: Any) -> list[Step]:
    """The pipeline's steps, wired by their inputs and outputs."""
    fit_inputs = ("train.parquet", "valid.parquet") + (("best_params.json",) if s.search else ())
    wanted = (*SPLIT_FILES, "model", "fit.json")
    pipeline = data_steps(s)
    if s.search:
        pipeline.append(
            Step(
                "search", lambda ctx: steps.search(s, ctx, on_trial), version=_code(steps.search),
                inputs=("train.parquet", "valid.parquet"),
                outputs=("best_params.json", "trials.json"), params=_model_params(s, search=True),
            )
        )  # fmt: skip
    pipeline += [
        Step(
            "fit", lambda ctx: steps.fit(s, ctx), version=_code(steps.fit),
            inputs=fit_inputs, outputs=("model", "fit.json"), params=_model_params(s),
        ),
        Step(
            "evaluate", lambda ctx: steps.evaluate(s, ctx), version=_code(steps.evaluate),
            inputs=wanted, outputs=("metrics.json", "slices.json", "importances.json", "plots",
                                    "test_predictions.parquet"),
            params={"slices": list(s.slices), "task": s.task},
        ),
        Step(
            "export", lambda ctx: steps.export(s, ctx), version=_code(steps.export),
            inputs=("model", "test.parquet"), outputs=("onnx",),
            params={"export_onnx": s.export_onnx},
        ),
        Step(
            "register", lambda ctx: register(s, run, registry, ctx), version=_code(register),
            inputs=("model", "onnx", "metrics.json", "slices.json", "importances.json", "plots",
                    "snapshot.json", "fit.json", "train.parquet", "test.parquet",
                    "test_predictions.parquet"),
            outputs=("registered.json",), params={"model": s.model_name},
            is_valid=lambda ctx: still_registered(s, registry, ctx),
        ),
        Step(
            "gate", lambda ctx: gate(s, registry, ctx), version=_code(gate),
            inputs=("registered.json", "metrics.json", "test.parquet"), outputs=("gate.json",),
            cache=False,
        ),
        Step(
            "card", lambda ctx: card(s, run, ctx), version=_code(card),
            inputs=("registered.json", "gate.json", "metrics.json", "slices.json", "plots",
                    "snapshot.json", "train.parquet", "fit.json"),
            outputs=("card",), cache=False,
        ),
    ]  # fmt: skip
    return pipeline


# --- small pieces -------------------------------------------------------------------------------


def _external(s: TrainSettings) -> dict[str, Path]:
    external: dict[str, Path] = {}
    if s.contract is not None:
        external["contract"] = s.contract
    uri = s.source.uri
    if uri and not s.source.query and "://" not in uri and not any(c in uri for c in "*?["):
        path = s.root / uri
        if path.is_file():
            external["source"] = path
    return external


def _source(s: TrainSettings) -> str:
    from modelyard.pipelines.data import describe_source

    return describe_source(s.source)


def _source_params(s: TrainSettings) -> dict[str, Any]:
    source = s.source
    return {
        "uri": source.uri,
        "query": source.query,
        "format": source.format,
        "url": _source(s) if source.url else None,
        "options": dict(source.options),
    }


def _model_params(s: TrainSettings, *, search: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {
        "task": s.task, "type": s.model_type, "params": dict(s.params), "seed": s.seed,
        "features": feature_schema(s)["spec"], "target": s.target,
    }  # fmt: skip
    if search or s.search:
        params["search"] = {
            "trials": s.search_trials, "timeout_s": s.search_timeout_s,
            "space": dict(s.search_space), "validation": s.validation, "folds": s.folds,
            "metric": s.primary_metric,
        }  # fmt: skip
    return params


def _params(s: TrainSettings) -> dict[str, Any]:
    return {
        "model_type": s.model_type,
        **{f"model.{k}": v for k, v in s.params.items()},
        "split": s.split.get("strategy"),
        "search": s.search,
        "features": ",".join(s.features.columns),
        "target": s.target,
        "seed": s.seed,
    }


def _code(function: Any) -> str:
    import hashlib
    import inspect

    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]
