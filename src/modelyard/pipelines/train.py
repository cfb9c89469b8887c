"""The training pipeline: ingest → validate → split → (search) → fit → evaluate → export →
register → gate → model card, tracked in one MLflow run.

The data and model steps are cached by content; registering, gating and the card talk to the
registry, whose state can change between runs, so gating and the card always run and a cached
registration is checked against the registry before it is reused.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.pipelines import train_steps as steps
from modelyard.pipelines.runner import Observer, Step, StepContext, StepResult, run_pipeline
from modelyard.pipelines.train_steps import TrainSettings, read_json, write_json

if TYPE_CHECKING:
    from modelyard.evaluation.gates import GateReport
    from modelyard.tracking.registry import Registry
    from modelyard.tracking.runs import RunHandle

CHAMPION, CHALLENGER = "champion", "challenger"
log = logging.getLogger(__name__)


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


SPLIT_FILES = ("train.parquet", "valid.parquet", "test.parquet")


def data_steps(s: TrainSettings) -> list[Step]:
    """Ingest (contract enforced) and split: the steps every pipeline starts with."""
    ingest_inputs = tuple(_external(s))
    return [
        Step(
            "ingest", lambda ctx: steps.ingest(s, ctx), version=_code(steps.ingest),
            inputs=ingest_inputs, outputs=("dataset.parquet", "snapshot.json"),
            params={"source": _source_params(s)}, cache="source" in ingest_inputs,
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
            inputs=wanted, outputs=("metrics.json", "slices.json", "importances.json", "plots"),
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
                    "snapshot.json", "fit.json", "test.parquet"),
            outputs=("registered.json",), params={"model": s.model_name},
            is_valid=lambda ctx: _still_registered(s, registry, ctx),
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


# --- the registry steps --------------------------------------------------------------------------


def register(s: TrainSettings, run: RunHandle, registry: Registry, ctx: StepContext) -> None:
    """Assemble the version's files, log them with their manifest, register, alias challenger."""
    folder = ctx.out / "version"
    folder.mkdir()
    shutil.copy2(ctx.input("model") / "model.skops", folder / "model.skops")
    onnx = ctx.input("onnx")
    if (onnx / "model.onnx").exists():
        shutil.copy2(onnx / "model.onnx", folder / "model.onnx")
    shutil.copy2(onnx / "onnx.json", folder / "onnx.json")
    for name in ("metrics.json", "slices.json", "importances.json", "snapshot.json", "fit.json"):
        shutil.copy2(ctx.input(name), folder / name)
    shutil.copytree(ctx.input("plots"), folder / "plots")
    write_json(folder / "features.json", _input_schema(s, ctx))
    run.log_artifacts(folder, "model")
    onnx_info = read_json(onnx / "onnx.json")
    version = registry.register(
        s.model_name,
        run_id=run.run_id,
        artifact_path="model",
        tags={
            "modelyard.task": s.task,
            "modelyard.onnx": "yes" if (folder / "model.onnx").exists() else "no",
            "modelyard.onnx_parity": onnx_info["parity"],
            "modelyard.onnx_reason": onnx_info["reason"] or "",
            "modelyard.data_digest": read_json(ctx.input("snapshot.json"))["digest"],
        },
        description=f"{s.model_type} trained by modelyard on {s.source.uri or 'a query'}",
    )
    registry.set_alias(s.model_name, CHALLENGER, version)
    write_json(ctx.output("registered.json"), {"version": version, "run_id": run.run_id})


def gate(s: TrainSettings, registry: Registry, ctx: StepContext) -> None:
    """Check the absolute gates and beat the champion, both scored now on this test split."""
    from modelyard.evaluation.gates import GateReport, check_gates, compare_with_champion

    version = read_json(ctx.input("registered.json"))["version"]
    metrics = read_json(ctx.input("metrics.json"))["test"]
    results = check_gates(metrics, s.gates)
    champion = registry.get_alias(s.model_name, CHAMPION)
    metric = s.champion_metric
    value = metrics.get(metric, float("nan"))
    champion_value = None
    if champion is not None and champion != version:
        scored = score_version(s, registry, champion, ctx.input("test.parquet"))
        champion_value = None if scored is None else scored.get(metric)
    if champion != version:
        results.append(
            compare_with_champion(metric, value, champion_value, min_delta=s.champion_min_delta)
        )
    report = GateReport(tuple(results))
    promoted = report.passed and champion != version
    if promoted:
        registry.set_alias(s.model_name, CHAMPION, version)
        if registry.get_alias(s.model_name, CHALLENGER) == version:
            registry.delete_alias(s.model_name, CHALLENGER)  # a champion is no longer a candidate
    registry.set_version_tags(
        s.model_name,
        version,
        {
            "modelyard.gates": "passed" if report.passed else "failed",
            "modelyard.gate_summary": report.summary(),
            **(
                {
                    "modelyard.promoted_by": "modelyard train (gates passed)",
                    "modelyard.previous_champion": champion or "",
                }
                if promoted
                else {}
            ),
        },
    )
    write_json(
        ctx.output("gate.json"),
        {
            "version": version,
            "champion_before": champion,
            "champion_value": champion_value,
            "promoted": promoted,
            "report": report.to_dict(),
        },
    )


def score_version(
    s: TrainSettings, registry: Registry, version: int, test: Path
) -> dict[str, float] | None:
    """Score a registered version on ``test`` now; None when it cannot be loaded or scored."""
    import tempfile

    import pandas as pd

    from modelyard.errors import ModelyardError
    from modelyard.evaluation.metrics import compute_metrics
    from modelyard.features.spec import FeatureSpec
    from modelyard.features.transform import prepare_frame
    from modelyard.tracking.artifacts import load_model

    frame = pd.read_parquet(test)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = registry.download(s.model_name, version, Path(tmp) / "model")
            model = load_model(folder)
            spec = FeatureSpec.from_dict(read_json(folder / "features.json")["spec"])
            y_pred, y_score, labels = steps.scores(s, model, prepare_frame(frame, spec))
        except ModelyardError as error:
            log.warning("version %s of %s cannot be scored: %s", version, s.model_name, error)
            return None
    y = frame[s.target].to_numpy()
    return compute_metrics(s.task, y, y_pred=y_pred, y_score=y_score, labels=labels)


def card(s: TrainSettings, run: RunHandle, ctx: StepContext) -> None:
    """Write the version's model card (Markdown and self-contained HTML) and log it."""
    import datetime as dt

    import pandas as pd

    from modelyard.evaluation.card import ChampionComparison, ModelCard, TrainingData, write_card
    from modelyard.evaluation.gates import GateReport
    from modelyard.evaluation.slices import SliceMetrics
    from modelyard.tracking.lineage import lineage_tags

    version = read_json(ctx.input("registered.json"))["version"]
    gate_info = read_json(ctx.input("gate.json"))
    snapshot = read_json(ctx.input("snapshot.json"))
    time_range = None
    if s.timestamp:
        stamps = pd.read_parquet(ctx.input("train.parquet"), columns=[s.timestamp])[s.timestamp]
        time_range = (str(stamps.min()), str(stamps.max()))
    champion = None
    if gate_info["champion_before"] not in (None, version):
        champion = ChampionComparison(
            version=str(gate_info["champion_before"]),
            metrics={s.champion_metric: gate_info["champion_value"]}
            if gate_info["champion_value"] is not None
            else {},
        )
    model_card = ModelCard(
        name=s.model_name,
        version=str(version),
        task=s.task,
        created_at=dt.datetime.now(dt.UTC),
        intended_use=(
            f"Predict {s.target!r} ({s.task.replace('_', ' ')}) from the features listed below, "
            "for data like the training data. Not validated for other populations or periods."
        ),
        training_data=TrainingData(
            source=_source(s),
            digest=snapshot["digest"],
            rows=snapshot["rows"],
            time_range=time_range,
        ),
        features=_feature_schema(s)["spec_by_kind"],
        target=s.target,
        metrics=read_json(ctx.input("metrics.json")),
        slices=[SliceMetrics(**item) for item in read_json(ctx.input("slices.json"))],
        gates=GateReport.from_dict(gate_info["report"]),
        champion=champion,
        lineage={
            **lineage_tags(
                config_hash=s.config_hash, data_digest=snapshot["digest"], project_root=s.root
            ),
            **{k: str(v) for k, v in s.lineage.items()},
            "modelyard.run_id": run.run_id,
        },
        plots=sorted(ctx.input("plots").glob("*.png")),
        primary_metric=s.primary_metric,
    )
    folder = ctx.output("card")
    write_card(model_card, folder)
    published = s.cards_dir / s.model_name / f"v{version}"
    if published.exists():
        shutil.rmtree(published)
    shutil.copytree(folder, published)
    run.log_artifacts(folder, "card")


# --- small pieces -------------------------------------------------------------------------------


def _still_registered(s: TrainSettings, registry: Registry, ctx: StepContext) -> bool:
    from modelyard.errors import ModelyardError

    recorded = read_json(ctx.output("registered.json"))
    try:
        return bool(
            registry.version(s.model_name, recorded["version"]).run_id == recorded["run_id"]
        )
    except ModelyardError:
        return False


def _feature_schema(s: TrainSettings) -> dict[str, Any]:
    spec = s.features
    kinds = {"numeric": spec.numeric, "categorical": spec.categorical,
             "ordinal": spec.ordinal, "datetime": spec.datetime}  # fmt: skip
    return {
        "spec": spec.to_dict(),
        "spec_by_kind": {k: list(v) for k, v in kinds.items() if v},
        "target": s.target,
        "task": s.task,
    }


def _input_schema(s: TrainSettings, ctx: StepContext) -> dict[str, Any]:
    """What serving needs to validate a request: each input column's rules, classes, example.

    Rules come from the data contract where it names the column; otherwise from the kind.
    """
    import pandas as pd

    rules: dict[str, Any] = {}
    if s.contract is not None:
        from modelyard.data.contract import load_contract

        rules = {rule.name: rule for rule in load_contract(s.contract).columns}
    default_type = {"numeric": "float", "categorical": "string", "ordinal": "string",
                    "datetime": "datetime"}  # fmt: skip
    columns = []
    for kind, names in _feature_schema(s)["spec_by_kind"].items():
        for name in names:
            rule = rules.get(name)
            columns.append(
                {
                    "name": name,
                    "kind": kind,
                    "type": rule.type if rule else default_type[kind],
                    "nullable": rule.nullable if rule else True,
                    "min": rule.min if rule else None,
                    "max": rule.max if rule else None,
                    "allowed": list(rule.allowed) if rule and rule.allowed is not None else None,
                }
            )
    test = pd.read_parquet(ctx.input("test.parquet"), columns=list(s.features.columns))
    example = json.loads(test.head(1).to_json(orient="records", date_format="iso"))[0]
    fit = read_json(ctx.input("fit.json"))
    return {**_feature_schema(s), "columns": columns, "classes": fit.get("classes"),
            "example": example}  # fmt: skip


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
        "features": _feature_schema(s)["spec"], "target": s.target,
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
