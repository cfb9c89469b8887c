"""The training pipeline: ingest → validate → split → (search) → fit → evaluate → export →
register → gate → model card, tracked in one run.

Each step gets its own spec from ``TrainSpecs`` (see ``pipelines.specs``) and its declared
inputs; the data and model steps are cached by spec, input digests and code version.
Registering, gating and the card talk to the registry, whose state can change between runs, so
gating and the card always run and a cached registration is checked against the registry
before it is reused. The tracker and the registry are ports (``pipelines.ports``): the project
passes MLflow's, tests pass in-memory fakes.

A rerun with nothing changed opens no tracking run: when every cached step hits and a cheap
registry probe (``ports.RegistryProbe``) finds the registry as the last gate left it, with its
card still published, the last gate's and card's outputs are the result (``reuse_training``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.pipelines import train_steps as steps
from modelyard.pipelines.data import SPLITS
from modelyard.pipelines.registry_steps import (
    CHALLENGER,
    CHAMPION,
    card,
    card_still_published,
    gate,
    gate_still_holds,
    register,
    registered_in,
    still_registered,
)
from modelyard.pipelines.runner import (
    Observer,
    Step,
    StepResult,
    reuse_pipeline,
    run_pipeline,
)
from modelyard.pipelines.score_memo import ScoreMemo
from modelyard.pipelines.train_steps import read_json

if TYPE_CHECKING:
    from modelyard.evaluation.gates import GateReport
    from modelyard.pipelines.ports import Registry, RegistryProbe, Run, Tracker
    from modelyard.pipelines.specs import TrainSpecs
    from modelyard.training.search import TrialRecord


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
    reused: bool = False
    """True when nothing changed and no tracking run was opened (``reuse_training``)."""

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
            "reused": self.reused,
        }


def train(
    specs: TrainSpecs,
    *,
    tracker: Tracker,
    registry: Registry,
    probe: RegistryProbe | None = None,
    use_cache: bool = True,
    observer: Observer | None = None,
) -> TrainResult:
    """Run the training pipeline and return what was registered and promoted.

    With ``probe`` (and the cache on), a rerun with nothing changed returns the last training's
    result without opening a tracking run (see ``reuse_training``).
    """
    from modelyard.evaluation.gates import GateReport
    from modelyard.tracking.lineage import lineage_tags

    start = time.perf_counter()
    if use_cache and probe is not None:
        reused = reuse_training(specs, registry=registry, probe=probe, observer=observer)
        if reused is not None:
            return reused
    name = specs.model_name

    def lineage(digest: str) -> dict[str, str]:
        return lineage_tags(
            config_hash=specs.config_hash, data_digest=digest, project_root=specs.card.project_root
        )

    with tracker.start_run("train", tags={**lineage("pending"), **specs.lineage}) as run:
        run.log_params(run_params(specs))

        def on_trial(record: TrialRecord) -> None:
            with tracker.start_run(f"trial-{record.number}", nested=True) as child:
                child.log_params(record.params)
                child.set_tags({"modelyard.trial_state": record.state})
                if record.value is not None and specs.search is not None:
                    child.log_metrics({specs.search.metric: record.value})

        pipeline = run_pipeline(
            build_steps(specs, run=run, registry=registry, on_trial=on_trial, use_cache=use_cache),
            cache_dir=specs.cache_dir,
            external=external_inputs(specs),
            use_cache=use_cache,
            observer=observer,
        )
        registered = read_json(pipeline["registered.json"])
        gated = read_json(pipeline["gate.json"])
        metrics = read_json(pipeline["metrics.json"])
        snapshot = read_json(pipeline["snapshot.json"])
        run.log_metrics({f"{split}_{k}": v for split, ms in metrics.items() for k, v in ms.items()})
        run.log_dataset(name="training", digest=snapshot["digest"], source=specs.card.source)
        run.set_tags(
            {
                **lineage(snapshot["digest"]),
                "modelyard.model": name,
                "modelyard.version": registered["version"],
                "modelyard.promoted": gated["promoted"],
                "modelyard.cached": pipeline.all_cached,
            }
        )
    card_dir = specs.card.cards_dir / name / f"v{registered['version']}"
    return TrainResult(
        model=name,
        version=registered["version"],
        run_id=run.run_id,
        promoted=gated["promoted"],
        champion=registry.get_alias(name, CHAMPION),
        previous_champion=gated["champion_before"],
        gates=GateReport.from_dict(gated["report"]),
        metrics=metrics,
        onnx=read_json(pipeline["onnx"] / "onnx.json"),
        card=(card_dir / "model_card.md", card_dir / "model_card.html"),
        steps=pipeline.steps,
        seconds=time.perf_counter() - start,
    )


def reuse_training(
    specs: TrainSpecs,
    *,
    registry: Registry,
    probe: RegistryProbe,
    observer: Observer | None = None,
) -> TrainResult | None:
    """The last training's result, when rerunning it would change nothing; else None.

    That is: every cached step hits (``runner.reuse_pipeline``), and ``probe`` reads the
    registry as the last gate left it (``gate_still_holds``: the same champion, the same
    registrations, live and READY), with the version registered and its card still published.
    The gate's report is the one it recorded; nothing is promoted, no run is opened. When the
    probe cannot tell for sure, or anything differs, the caller takes the normal path.
    """
    from modelyard.evaluation.gates import GateReport

    start = time.perf_counter()
    name = specs.model_name
    snapshot = probe.read(name)
    if snapshot is None:
        return None

    pipeline = reuse_pipeline(
        build_steps(specs, run=_UNOPENED, registry=registry, on_trial=_no_trials),
        cache_dir=specs.cache_dir,
        external=external_inputs(specs),
        checks={
            "register": lambda ctx: registered_in(snapshot, ctx),
            "gate": lambda ctx: gate_still_holds(snapshot, ctx),
            "card": lambda ctx: card_still_published(specs.card, ctx),
        },
    )
    if pipeline is None:
        return None
    try:
        registered = read_json(pipeline["registered.json"])
        gated = read_json(pipeline["gate.json"])
        run_id = read_json(pipeline["card_run.json"])["run_id"]
        metrics = read_json(pipeline["metrics.json"])
        onnx = read_json(pipeline["onnx"] / "onnx.json")
    except (OSError, ValueError, KeyError):  # replaced by a concurrent run meanwhile: not sure
        return None
    champion = snapshot.aliases.get(CHAMPION)
    if observer is not None:
        for step in pipeline.steps:
            observer.finished(step)
    card_dir = specs.card.cards_dir / name / f"v{registered['version']}"
    return TrainResult(
        model=name,
        version=registered["version"],
        run_id=run_id,
        promoted=False,
        champion=champion,
        previous_champion=champion,
        gates=GateReport.from_dict(gated["report"]),
        metrics=metrics,
        onnx=onnx,
        card=(card_dir / "model_card.md", card_dir / "model_card.html"),
        steps=pipeline.steps,
        seconds=time.perf_counter() - start,
        reused=True,
    )


class _Unopened:
    """The run port of steps that ``reuse_training`` only looks up: it is never opened."""

    @property
    def run_id(self) -> str:
        raise AssertionError("reuse_training opened no run")

    def log_params(self, params: Mapping[str, object]) -> None:
        raise AssertionError("reuse_training opened no run")

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        raise AssertionError("reuse_training opened no run")

    def set_tags(self, tags: Mapping[str, object]) -> None:
        raise AssertionError("reuse_training opened no run")

    def log_artifacts(self, folder: Path, artifact_path: str) -> None:
        raise AssertionError("reuse_training opened no run")

    def log_dataset(self, *, name: str, digest: str, source: str) -> None:
        raise AssertionError("reuse_training opened no run")


_UNOPENED = _Unopened()


def _no_trials(record: TrialRecord) -> None:
    raise AssertionError("reuse_training runs no search")


SCORES_DIR = "scores"
"""Where, under the cache folder, the gate remembers the champions' metrics (``ScoreMemo``)."""
SPLIT_FILES = tuple(f"{name}.parquet" for name in SPLITS)


def data_steps(specs: TrainSpecs) -> list[Step]:
    """Ingest (contract enforced) and split: the steps every pipeline starts with.

    Ingest is cached only when the source is a local file, whose content is then its input.
    """
    ingest_inputs = tuple(external_inputs(specs))
    return [
        Step(
            "ingest", steps.ingest, specs.ingest, inputs=ingest_inputs,
            outputs=("dataset.parquet", "snapshot.json"), cache="source" in ingest_inputs,
        ),
        Step("split", steps.split, specs.split, inputs=("dataset.parquet",), outputs=SPLIT_FILES),
    ]  # fmt: skip


def prepare_splits(specs: TrainSpecs, observer: Observer | None = None) -> dict[str, Path]:
    """Ingest and split (from cache when unchanged); return each split's file."""
    result = run_pipeline(
        data_steps(specs),
        cache_dir=specs.cache_dir,
        external=external_inputs(specs),
        observer=observer,
    )
    return {name.removesuffix(".parquet"): result[name] for name in SPLIT_FILES}


def build_steps(
    specs: TrainSpecs,
    *,
    run: Run,
    registry: Registry,
    on_trial: Callable[[TrialRecord], None],
    use_cache: bool = True,
) -> list[Step]:
    """The pipeline's steps, each with its spec, wired by their inputs and outputs.

    ``use_cache=False`` also makes the gate score the champion again (``ScoreMemo.reuse``).
    """
    contract = ("contract",) if specs.contract is not None else ()
    pipeline = data_steps(specs)
    fit_inputs: tuple[str, ...] = ("train.parquet",)
    if specs.search is not None:
        pipeline.append(
            Step(
                "search", steps.search, specs.search, inputs=("train.parquet", "valid.parquet"),
                outputs=("best_params.json", "trials.json"), ports={"on_trial": on_trial},
            )
        )  # fmt: skip
        fit_inputs = ("train.parquet", "valid.parquet", "best_params.json")
    pipeline += [
        Step("fit", steps.fit, specs.fit, inputs=fit_inputs, outputs=("model", "fit.json")),
        Step(
            "evaluate", steps.evaluate, specs.evaluate,
            inputs=("model", "fit.json", "valid.parquet", "test.parquet"),
            outputs=("metrics.json", "slices.json", "importances.json", "plots",
                     "test_predictions.parquet"),
        ),
        Step(
            "export", steps.export, specs.export, inputs=("model", "test.parquet"),
            outputs=("onnx",),
        ),
        Step(
            "register", register, specs.register,
            inputs=("model", "onnx", "metrics.json", "slices.json", "importances.json", "plots",
                    "snapshot.json", "fit.json", "train.parquet", "test.parquet",
                    "test_predictions.parquet", *contract),
            outputs=("registered.json",), ports={"run": run, "registry": registry},
            is_valid=still_registered,
        ),
        Step(
            "gate", gate, specs.gate, inputs=("registered.json", "metrics.json", "test.parquet"),
            outputs=("gate.json",), cache=False,
            ports={
                "registry": registry,
                "scores": ScoreMemo(specs.cache_dir / SCORES_DIR, reuse=use_cache),
            },
        ),
        Step(
            "card", card, specs.card,
            inputs=("registered.json", "gate.json", "metrics.json", "slices.json", "plots",
                    "snapshot.json", "train.parquet"),
            outputs=("card", "card_run.json"), ports={"run": run}, cache=False,
        ),
    ]  # fmt: skip
    return pipeline


def external_inputs(specs: TrainSpecs) -> dict[str, Path]:
    """The files the pipeline starts from: the contract, and the source when it is a local file."""
    external: dict[str, Path] = {}
    if specs.contract is not None:
        external["contract"] = specs.contract
    source, root = specs.ingest.source, specs.ingest.base_dir
    uri = source.uri
    if uri and not source.query and "://" not in uri and not any(c in uri for c in "*?["):
        path = root / uri
        if path.is_file():
            external["source"] = path
    return external


def run_params(specs: TrainSpecs) -> dict[str, Any]:
    """The params a training run logs: the model, its features and how the data was split."""
    fit = specs.fit
    return {
        "model_type": fit.model_type,
        **{f"model.{k}": v for k, v in fit.params.items()},
        "split": specs.split.strategy,
        "search": specs.search is not None,
        "features": ",".join(fit.features.columns),
        "target": fit.target,
        "seed": fit.seed,
    }
