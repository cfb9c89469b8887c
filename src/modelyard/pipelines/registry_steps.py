"""The training pipeline's registry steps: register, gate, card, and scoring a version.

Each step is ``step(spec, ctx, **ports)``: its spec (``pipelines.specs``), its declared inputs,
and the run and registry it talks to (``pipelines.ports``). The registry's state can change
between runs, so gating and the card always run and a cached registration is checked against
the registry (``still_registered``) before it is reused. The gate records the registry state it
left (``gate.json``'s ``registry``): when a cheap probe finds the registry still so, and the card
still published, ``pipelines.train`` reuses the last gate and card without opening MLflow
(``gate_still_holds``, ``card_still_published``).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.features.bundle import (
    FEATURES_FILE,
    FIT_FILE,
    IMPORTANCES_FILE,
    KIND_TYPES,
    METRICS_FILE,
    MODEL_FILE,
    ONNX_FILE,
    ONNX_INFO_FILE,
    PLOTS_DIR,
    REFERENCE_FILE,
    REFERENCE_INFO_FILE,
    REFERENCE_PREDICTIONS_FILE,
    SLICES_FILE,
    SNAPSHOT_FILE,
    ColumnRule,
    read_bundle,
)
from modelyard.pipelines import train_steps as steps
from modelyard.pipelines.runner import StepContext, digest_path
from modelyard.pipelines.score_memo import ScoreMemo
from modelyard.pipelines.train_steps import read_json, write_json

if TYPE_CHECKING:
    from modelyard.features.spec import FeatureSpec
    from modelyard.pipelines.ports import Registry, Run
    from modelyard.pipelines.specs import CardSpec, GateSpec, RegisterSpec
    from modelyard.tracking.probe import RegistrySnapshot

CHAMPION, CHALLENGER = "champion", "challenger"
log = logging.getLogger(__name__)


def register(spec: RegisterSpec, ctx: StepContext, *, run: Run, registry: Registry) -> None:
    """Assemble the version's files, log them with their manifest, register, alias challenger.

    The data contract, when there is one (input ``contract``), gives each input column's rules.
    """
    folder = ctx.out / "version"
    folder.mkdir()
    shutil.copy2(ctx.input("model") / MODEL_FILE, folder / MODEL_FILE)
    onnx = ctx.input("onnx")
    if (onnx / ONNX_FILE).exists():
        shutil.copy2(onnx / ONNX_FILE, folder / ONNX_FILE)
    shutil.copy2(onnx / ONNX_INFO_FILE, folder / ONNX_INFO_FILE)
    for name in (METRICS_FILE, SLICES_FILE, IMPORTANCES_FILE, SNAPSHOT_FILE, FIT_FILE):
        shutil.copy2(ctx.input(name), folder / name)
    shutil.copytree(ctx.input("plots"), folder / PLOTS_DIR)
    write_json(folder / FEATURES_FILE, _input_schema(spec, ctx))
    write_reference(spec, ctx, folder)
    run.log_artifacts(folder, "model")
    onnx_info = read_json(onnx / ONNX_INFO_FILE)
    version = registry.register(
        spec.model_name,
        run_id=run.run_id,
        artifact_path="model",
        tags={
            "modelyard.task": spec.task,
            "modelyard.onnx": "yes" if (folder / ONNX_FILE).exists() else "no",
            "modelyard.onnx_parity": onnx_info["parity"],
            "modelyard.onnx_reason": onnx_info["reason"] or "",
            "modelyard.data_digest": read_json(ctx.input("snapshot.json"))["digest"],
        },
        description=f"{spec.model_type} trained by modelyard on {spec.source}",
    )
    registry.set_alias(spec.model_name, CHALLENGER, version)
    write_json(ctx.output("registered.json"), {"version": version, "run_id": run.run_id})


REFERENCE_ROWS = 50_000
"""Most rows a version keeps of its training split (and of its test predictions) for monitoring."""


def write_reference(spec: RegisterSpec, ctx: StepContext, folder: Path) -> None:
    """Ship the version's monitoring reference inside it, covered by its manifest.

    - ``reference.parquet``: a seeded sample of the training split's rows (feature columns,
      target and timestamp as ingested): what drift is measured against;
    - ``reference_predictions.parquet``: the model's outputs on the test split (``prediction``,
      and ``score``, the positive-class probability, for binary classifiers): unseen data, so
      prediction drift compares like with like;
    - ``reference.json``: where both came from, with the snapshot digest of the lineage.
    """
    import pandas as pd

    keep = [*spec.features.columns, spec.target, *([spec.timestamp] if spec.timestamp else [])]
    train = pd.read_parquet(ctx.input("train.parquet"))
    sample = (
        train
        if len(train) <= REFERENCE_ROWS
        else train.sample(REFERENCE_ROWS, random_state=spec.seed)
    )
    sample.loc[:, [c for c in dict.fromkeys(keep) if c in sample.columns]].sort_index().to_parquet(
        folder / REFERENCE_FILE, index=False
    )
    outputs = pd.read_parquet(ctx.input("test_predictions.parquet"))  # evaluate's, row by row
    if len(outputs) > REFERENCE_ROWS:
        outputs = outputs.sample(REFERENCE_ROWS, random_state=spec.seed).sort_index()
    outputs.to_parquet(folder / REFERENCE_PREDICTIONS_FILE, index=False)
    write_json(
        folder / REFERENCE_INFO_FILE,
        {
            "data_digest": read_json(ctx.input("snapshot.json"))["digest"],
            "features": {"split": "train", "rows": len(sample), "of": len(train)},
            "predictions": {"split": "test", "rows": len(outputs)},
            "seed": spec.seed,
            "timestamp": spec.timestamp,
            "target": spec.target,
        },
    )


def gate(spec: GateSpec, ctx: StepContext, *, registry: Registry, scores: ScoreMemo) -> None:
    """Check the absolute gates and beat the champion, both scored on this test split.

    The champion's metrics come from ``scores`` when this version of it was scored on this
    split by the same code before. ``gate.json`` records the outcome and the registry state the
    gate leaves: the champion alias and the identity of each version it names.
    """
    from modelyard.evaluation.gates import GateReport, check_gates, compare_with_champion

    version = read_json(ctx.input("registered.json"))["version"]
    metrics = read_json(ctx.input("metrics.json"))["test"]
    results = check_gates(metrics, spec.gates)
    champion = registry.get_alias(spec.model_name, CHAMPION)
    metric = spec.champion_metric
    value = metrics.get(metric, float("nan"))
    champion_value = None
    if champion is not None and champion != version:
        scored = score_version(spec, registry, champion, ctx.input("test.parquet"), memo=scores)
        champion_value = None if scored is None else scored.get(metric)
    if champion != version:
        results.append(
            compare_with_champion(metric, value, champion_value, min_delta=spec.champion_min_delta)
        )
    report = GateReport(tuple(results))
    promoted = report.passed and champion != version
    if promoted:
        registry.set_alias(spec.model_name, CHAMPION, version)
        if registry.get_alias(spec.model_name, CHALLENGER) == version:
            # a champion is no longer a candidate
            registry.delete_alias(spec.model_name, CHALLENGER)
    registry.set_version_tags(
        spec.model_name,
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
    champion_after = version if promoted else champion
    write_json(
        ctx.output("gate.json"),
        {
            "version": version,
            "champion_before": champion,
            "champion_value": champion_value,
            "promoted": promoted,
            "report": report.to_dict(),
            "registry": {
                "champion": champion_after,
                "versions": {
                    str(number): _identity(registry, spec.model_name, number)
                    for number in sorted({version, champion_after or version})
                },
            },
        },
    )


def _identity(registry: Registry, name: str, version: int) -> dict[str, str]:
    from modelyard.tracking.probe import version_identity

    record = registry.version(name, version)
    return version_identity(record.run_id, record.tags)


def score_version(
    spec: GateSpec, registry: Registry, version: int, test: Path, *, memo: ScoreMemo | None = None
) -> dict[str, float] | None:
    """Score a registered version on ``test``; None when it cannot be loaded or scored.

    With ``memo``, metrics this version got on this split from this code are reused, and new
    ones remembered (see ``pipelines.score_memo``).
    """
    import tempfile

    from modelyard.errors import ModelyardError
    from modelyard.pipelines.code_version import code_version
    from modelyard.tracking.probe import version_identity

    key = None
    if memo is not None:
        try:
            record = registry.version(spec.model_name, version)
        except ModelyardError as error:
            log.warning("version %s of %s cannot be scored: %s", version, spec.model_name, error)
            return None
        key = memo.key(
            model=spec.model_name, version=version,
            identity=version_identity(record.run_id, record.tags), test_digest=digest_path(test),
            task=spec.task, target=spec.target, code=code_version(score_version),
        )  # fmt: skip
        remembered = memo.get(key)
        if remembered is not None:
            return remembered

    import pandas as pd

    from modelyard.evaluation.metrics import compute_metrics
    from modelyard.features.transform import prepare_frame

    frame = pd.read_parquet(test)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = registry.download(spec.model_name, version, Path(tmp) / "model")
            bundle = read_bundle(folder, name=spec.model_name, version=version)
            x = prepare_frame(frame, bundle.inputs.spec)
            y_pred, y_score, labels = steps.scores(spec.task, bundle.load_native(), x)
        except ModelyardError as error:
            log.warning("version %s of %s cannot be scored: %s", version, spec.model_name, error)
            return None
    y = frame[spec.target].to_numpy()
    metrics = compute_metrics(spec.task, y, y_pred=y_pred, y_score=y_score, labels=labels)
    if memo is not None and key is not None:
        memo.put(key, metrics)
    return metrics


def card(spec: CardSpec, ctx: StepContext, *, run: Run) -> None:
    """Write the version's model card (Markdown and self-contained HTML), publish it under
    ``spec.cards_dir`` and log it; ``card_run.json`` names the run it was logged to."""
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
    if spec.timestamp:
        stamps = pd.read_parquet(ctx.input("train.parquet"), columns=[spec.timestamp])
        stamps = stamps[spec.timestamp]
        time_range = (str(stamps.min()), str(stamps.max()))
    champion = None
    if gate_info["champion_before"] not in (None, version):
        champion = ChampionComparison(
            version=str(gate_info["champion_before"]),
            metrics={spec.champion_metric: gate_info["champion_value"]}
            if gate_info["champion_value"] is not None
            else {},
        )
    model_card = ModelCard(
        name=spec.model_name,
        version=str(version),
        task=spec.task,
        created_at=dt.datetime.now(dt.UTC),
        intended_use=(
            f"Predict {spec.target!r} ({spec.task.replace('_', ' ')}) from the features listed "
            "below, "
            "for data like the training data. Not validated for other populations or periods."
        ),
        training_data=TrainingData(
            source=spec.source,
            digest=snapshot["digest"],
            rows=snapshot["rows"],
            time_range=time_range,
        ),
        features=features_by_kind(spec.features),
        target=spec.target,
        metrics=read_json(ctx.input("metrics.json")),
        slices=[SliceMetrics(**item) for item in read_json(ctx.input("slices.json"))],
        gates=GateReport.from_dict(gate_info["report"]),
        champion=champion,
        lineage={
            **lineage_tags(
                config_hash=spec.config_hash,
                data_digest=snapshot["digest"],
                project_root=spec.project_root,
            ),
            **{k: str(v) for k, v in spec.lineage.items()},
            "modelyard.run_id": run.run_id,
        },
        plots=sorted(ctx.input("plots").glob("*.png")),
        primary_metric=spec.primary_metric,
    )
    folder = ctx.output("card")
    write_card(model_card, folder)
    published = spec.cards_dir / spec.model_name / f"v{version}"
    if published.exists():
        shutil.rmtree(published)
    shutil.copytree(folder, published)
    run.log_artifacts(folder, "card")
    write_json(ctx.output("card_run.json"), {"run_id": run.run_id})


def still_registered(spec: RegisterSpec, ctx: StepContext, *, run: Run, registry: Registry) -> bool:
    """Whether the version a cached ``register`` recorded is still in the registry."""
    from modelyard.errors import ModelyardError

    recorded = read_json(ctx.output("registered.json"))
    try:
        return bool(
            registry.version(spec.model_name, recorded["version"]).run_id == recorded["run_id"]
        )
    except ModelyardError:
        return False


def registered_in(snapshot: RegistrySnapshot, ctx: StepContext) -> bool:
    """Whether the version a cached ``register`` recorded is in ``snapshot``, live and READY."""
    recorded = read_json(ctx.output("registered.json"))
    identity = snapshot.identity(int(recorded["version"]))
    return identity is not None and identity["run_id"] == recorded["run_id"]


def gate_still_holds(snapshot: RegistrySnapshot, ctx: StepContext) -> bool:
    """Whether the registry is as the gate in ``ctx.out`` left it.

    The champion alias points where it did, and each version the gate named is still the same
    registration (not deleted, not re-created under the same number), live and READY. A
    ``gate.json`` from before the gate recorded its state never holds.
    """
    left = read_json(ctx.output("gate.json")).get("registry")
    if not isinstance(left, dict):
        return False
    if snapshot.aliases.get(CHAMPION) != left["champion"]:
        return False
    versions = left["versions"]
    return all(snapshot.identity(int(number)) == versions[number] for number in versions)


def card_still_published(spec: CardSpec, ctx: StepContext) -> bool:
    """Whether the card in ``ctx.out`` is still published, file for file, under ``cards_dir``."""
    from modelyard.tracking.manifest import MANIFEST_NAME

    version = read_json(ctx.input("registered.json"))["version"]
    published = spec.cards_dir / spec.model_name / f"v{version}"
    if not published.is_dir() or not ctx.output("card_run.json").is_file():
        return False
    written = ctx.output("card")
    names = {p.relative_to(written) for p in written.rglob("*") if p.is_file()}
    names.discard(Path(MANIFEST_NAME))  # logging the card added it after publishing
    return {p.relative_to(published) for p in published.rglob("*") if p.is_file()} == names and all(
        digest_path(published / name) == digest_path(written / name) for name in names
    )


def features_by_kind(features: FeatureSpec) -> dict[str, list[str]]:
    """The feature columns by kind, leaving out kinds without columns."""
    kinds = {"numeric": features.numeric, "categorical": features.categorical,
             "ordinal": features.ordinal, "datetime": features.datetime}  # fmt: skip
    return {kind: list(columns) for kind, columns in kinds.items() if columns}


def feature_schema(spec: RegisterSpec) -> dict[str, Any]:
    """The features a version reads, for its ``features.json``."""
    return {
        "spec": spec.features.to_dict(),
        "spec_by_kind": features_by_kind(spec.features),
        "target": spec.target,
        "task": spec.task,
    }


def _input_schema(spec: RegisterSpec, ctx: StepContext) -> dict[str, Any]:
    """What serving needs to validate a request: each input column's rules, classes, example.

    Rules come from the data contract where it names the column; otherwise from the kind.
    """
    import pandas as pd

    rules: dict[str, Any] = {}
    if "contract" in ctx.inputs:
        from modelyard.data.contract import load_contract

        rules = {rule.name: rule for rule in load_contract(ctx.input("contract")).columns}
    columns = []
    for kind, names in features_by_kind(spec.features).items():
        for name in names:
            rule = rules.get(name)
            column = ColumnRule(name=name, kind=kind, type=KIND_TYPES[kind])
            if rule is not None:
                allowed = None if rule.allowed is None else tuple(rule.allowed)
                column = ColumnRule(
                    name, kind, rule.type, rule.nullable, rule.min, rule.max, allowed
                )
            columns.append(column.to_dict())
    test = pd.read_parquet(ctx.input("test.parquet"), columns=list(spec.features.columns))
    example = json.loads(test.head(1).to_json(orient="records", date_format="iso"))[0]
    fit = read_json(ctx.input("fit.json"))
    return {**feature_schema(spec), "columns": columns, "classes": fit.get("classes"),
            "example": example}  # fmt: skip
