"""Turn a project's config into wired objects: paths, data source, contract, pipelines.

Besides ``cli/``, this is the only module that reads the config; everything below it takes
plain arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.config import LoadedConfig, load_config
from modelyard.pipelines import data as data_steps

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.config.schema import ProjectConfig
    from modelyard.data.report import ValidationReport
    from modelyard.data.source_spec import SourceSpec
    from modelyard.features.spec import FeatureSpec
    from modelyard.monitoring.result import MonitorResult, RetrainAction
    from modelyard.pipelines.runner import Observer
    from modelyard.pipelines.specs import IngestSpec, SplitSpec, TrainSpecs
    from modelyard.pipelines.train import TrainResult
    from modelyard.serving.settings import ServeSettings
    from modelyard.tracking.mlflow_store import Tracker
    from modelyard.tracking.registry import Registry


@dataclass(frozen=True, slots=True)
class ProjectPaths:
    """Where a project keeps its data and state, all under its root."""

    root: Path
    store: Path

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def dataset(self) -> Path:
        """The ingested, contract-checked dataset."""
        return self.processed / "dataset.parquet"

    @property
    def snapshot(self) -> Path:
        return self.processed / "dataset.snapshot.json"

    @property
    def splits(self) -> Path:
        return self.processed / "splits"

    @property
    def cache(self) -> Path:
        """Where pipeline steps keep their outputs, by step and cache key."""
        return self.store / "cache"

    @property
    def cards(self) -> Path:
        """Where each version's model card is published."""
        return self.root / "docs" / "model_cards"


@dataclass(frozen=True, slots=True)
class Project:
    """A loaded project: its config and the operations the CLI offers on it."""

    loaded: LoadedConfig
    paths: ProjectPaths

    @property
    def config(self) -> ProjectConfig:
        return self.loaded.config  # type: ignore[no-any-return]

    @property
    def root(self) -> Path:
        return self.loaded.root

    def source_spec(self) -> SourceSpec:
        """The configured data source, as the data layer takes it."""
        from modelyard.data.source_spec import SourceSpec
        from modelyard.net import EgressPolicy

        source, egress = self.config.data.source, self.config.egress
        return SourceSpec(
            uri=source.uri,
            url=source.url,
            query=source.query,
            format=source.format,
            options=dict(source.options),
            egress=EgressPolicy(
                allow_hosts=tuple(egress.allow_hosts),
                timeout_s=egress.timeout_s,
                max_bytes=egress.max_bytes,
            ),
        )

    def contract_path(self) -> Path | None:
        contract = self.config.data.contract
        return None if contract is None else self.root / contract

    def ingest_spec(self, *, window: str | None = None) -> IngestSpec:
        """What ingesting reads: the source, from the root; its latest ``window`` when given."""
        from modelyard.pipelines.specs import IngestSpec

        return IngestSpec(
            source=self.source_spec(),
            base_dir=self.root,
            timestamp=self.config.data.timestamp,
            window=window,
        )

    def split_spec(self) -> SplitSpec:
        """How the dataset is split (``data.split``)."""
        from modelyard.pipelines.specs import SplitSpec

        data = self.config.data
        return SplitSpec(
            strategy=data.split.strategy,
            valid=data.split.valid,
            test=data.split.test,
            seed=data.split.seed,
            target=data.target.column,
            timestamp=data.timestamp,
            group=data.split.group_column,
        )

    def feature_spec(self) -> FeatureSpec:
        """The model's feature columns by kind, and how they are encoded (``features``)."""
        from modelyard.features.spec import FeatureSpec

        f = self.config.features
        return FeatureSpec(
            numeric=tuple(f.numeric),
            categorical=tuple(f.categorical),
            ordinal=tuple(f.ordinal),
            datetime=tuple(f.datetime),
            scale_numeric=f.scale_numeric,
            rare_min_frequency=f.rare_category_min_frequency,
        )

    def ingest(self, on_stage: data_steps.Stage = data_steps.quiet) -> data_steps.IngestResult:
        """Read the source, enforce the contract, store the dataset and its snapshot."""
        return data_steps.ingest(
            self.ingest_spec(),
            contract_path=self.contract_path(),
            out=self.paths.dataset,
            snapshot_path=self.paths.snapshot,
            on_stage=on_stage,
        )

    def read(
        self, path: Path | None = None, on_stage: data_steps.Stage = data_steps.quiet
    ) -> tuple[pd.DataFrame, str]:
        """Read ``path`` (any supported file), or else the configured source."""
        from modelyard.data.source_spec import SourceSpec

        spec = SourceSpec(uri=str(path)) if path is not None else self.source_spec()
        name = str(path) if path is not None else data_steps.describe_source(spec)
        return data_steps.read_dataset(
            spec, base_dir=Path.cwd() if path else self.root, on_stage=on_stage
        ), name

    def validate(
        self, path: Path | None = None, on_stage: data_steps.Stage = data_steps.quiet
    ) -> ValidationReport:
        """Check ``path``, or else the configured source, against the contract."""
        from modelyard.errors import ConfigValueError

        contract = self.contract_path()
        if contract is None:
            raise ConfigValueError(
                [
                    "data.contract is not set: there is no contract to check against. "
                    "Add data.contract: configs/data_contract.yaml to modelyard.yaml."
                ]
            )
        df, name = self.read(path, on_stage)
        return data_steps.check_dataset(df, contract, source=name, on_stage=on_stage)

    def split(self, on_stage: data_steps.Stage = data_steps.quiet) -> data_steps.SplitResult:
        """Split the ingested dataset as the config says."""
        return data_steps.split_dataset(
            self.split_spec(), self.paths.dataset, self.paths.splits, on_stage=on_stage
        )

    @property
    def tracking_uri(self) -> str:
        """The tracking URI, with a relative SQLite path made absolute under the project."""
        uri = self.config.stores.tracking_uri
        prefix = "sqlite:///"
        if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
            path = self.root / uri[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            return prefix + str(path)
        return uri

    def train_specs(
        self,
        *,
        search: bool | None = None,
        window: str | None = None,
        lineage: Mapping[str, str] | None = None,
    ) -> TrainSpecs:
        """Every training step's spec, from the config (the arguments override it).

        ``search`` overrides ``model.search.enabled``; ``window`` trains on the source's latest
        rows only; ``lineage`` adds run tags (what triggered an automatic retraining, say).
        """
        import hashlib
        import json

        from modelyard.pipelines import specs
        from modelyard.pipelines.data import describe_source

        c = self.config
        features, target, task = self.feature_spec(), c.data.target.column, c.task
        fit = specs.FitSpec(
            task=task, model_type=c.model.type, params=dict(c.model.params), seed=c.model.seed,
            features=features, target=target,
        )  # fmt: skip
        searching = c.model.search.enabled if search is None else search
        canonical = json.dumps(self.loaded.to_dict(masked=True), sort_keys=True)
        config_hash = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        run_tags = {"modelyard.env": self.loaded.env or "none", **(lineage or {})}
        source = self.source_spec()
        return specs.TrainSpecs(
            model_name=c.model_name,
            ingest=self.ingest_spec(window=window),
            split=self.split_spec(),
            search=specs.SearchSpec(
                fit=fit, space=dict(c.model.search.space), trials=c.model.search.trials,
                timeout_s=c.model.search.timeout_s, validation=c.model.validation,
                folds=c.model.folds, metric=c.evaluation.primary_metric,
                timestamp=c.data.timestamp,
            ) if searching else None,
            fit=fit,
            evaluate=specs.EvalSpec(
                task=task, features=features, target=target, slices=tuple(c.evaluation.slices)
            ),
            export=specs.ExportSpec(enabled=c.registry.export_onnx, task=task, features=features),
            register=specs.RegisterSpec(
                model_name=c.model_name, task=task, model_type=c.model.type,
                source=source.uri or "a query", features=features, target=target,
                timestamp=c.data.timestamp, seed=c.model.seed,
            ),
            gate=specs.GateSpec(
                model_name=c.model_name, task=task, target=target,
                gates={name: (gate.min, gate.max)
                       for name, gate in c.evaluation.gates.thresholds().items()},
                champion_metric=c.evaluation.gates.champion.metric,
                champion_min_delta=c.evaluation.gates.champion.min_delta,
            ),
            card=specs.CardSpec(
                model_name=c.model_name, task=task, target=target, timestamp=c.data.timestamp,
                features=features, source=describe_source(source),
                primary_metric=c.evaluation.primary_metric,
                champion_metric=c.evaluation.gates.champion.metric, config_hash=config_hash,
                project_root=self.root, lineage=run_tags, cards_dir=self.paths.cards,
            ),
            contract=self.contract_path(),
            cache_dir=self.paths.cache,
            config_hash=config_hash,
            lineage=run_tags,
        )  # fmt: skip

    def train(
        self,
        *,
        search: bool | None = None,
        use_cache: bool = True,
        observer: Observer | None = None,
        window: str | None = None,
        lineage: Mapping[str, str] | None = None,
    ) -> TrainResult:
        """Run the training pipeline (see ``train_specs`` for the arguments), tracked in
        MLflow and registered in its registry."""
        from modelyard.pipelines.train import train
        from modelyard.tracking.probe import open_probe

        specs = self.train_specs(search=search, window=window, lineage=lineage)
        return train(
            specs,
            tracker=self.tracker(),
            registry=self.registry(),
            probe=open_probe(self.tracking_uri),
            use_cache=use_cache,
            observer=observer,
        )

    def serve_settings(
        self,
        *,
        model: str | None = None,
        host: str | None = None,
        port: int | None = None,
        workers: int | None = None,
    ) -> ServeSettings:
        """The model server's settings, from the config (the arguments override it).

        The model defaults to ``serving.model``, else the registered model's ``champion``.
        """
        from modelyard.serving.settings import ServeSettings

        s = self.config.serving
        settings = ServeSettings(
            model or s.model or f"{self.config.model_name}@champion",
            self.tracking_uri,
            self.paths.store,
            s,  # the section as it is: its defaults are the schema's
        )
        return settings.with_overrides(host=host, port=port, workers=workers)

    def monitor(
        self,
        *,
        model: str | None = None,
        window: str | None = None,
        since: Any = None,
        until: Any = None,
        current: Path | None = None,
        reference: Path | None = None,
        labels: Path | None = None,
        retrain: bool | None = None,
        alert: bool = True,
        write: bool = True,
        observer: Observer | None = None,
    ) -> MonitorResult:
        """Check drift and quality of the served version; alert and retrain on a breach.

        Args:
            model: ``NAME@ALIAS`` or ``NAME/VERSION``; by default the project's champion.
            window: The prediction log's latest ``window`` (``monitoring.window``).
            since: The window's start instead (ISO date or datetime, UTC when naive).
            until: The window's end (excluded); default now.
            current: A dataset to check instead of the prediction log.
            reference: A dataset to compare with instead of the version's training sample.
            labels: A file of ``request_id, label`` joined to the log (besides ``/v1/feedback``).
            retrain: Retrain on a breach; default ``monitoring.retrain.on_drift/on_quality``.
            alert: Send the webhook alert on a breach when one is configured.
            write: Write the JSON and HTML reports under ``monitoring.reports``.
            observer: Sees the retraining pipeline's steps, when one runs.
        """
        from modelyard.inference.ref import parse_model_ref, resolve_version
        from modelyard.pipelines import monitor as monitoring
        from modelyard.serving.prediction_history import parse_moment

        m = self.config.monitoring
        if window is not None:
            from modelyard.config.durations import parse_duration
            from modelyard.errors import MonitoringError

            try:
                parse_duration(window)
            except ValueError as error:
                raise MonitoringError(f"--window: {error}") from None
        ref = parse_model_ref(model, default_name=self.config.model_name)
        registry = self.registry()
        version = resolve_version(registry, ref)
        window_spec = monitoring.CurrentSpec(
            store=self.paths.store,
            window=window or m.window,
            since=parse_moment(since),
            until=parse_moment(until),
            dataset=current,
            labels=labels,
        )
        loaded = monitoring.load_reference(registry, ref.name, version)
        reference_frame = None
        if reference is not None:
            reference_frame, _ = self.read(reference)
        result = monitoring.monitor(
            monitoring.MonitorSpec.from_config(m),
            window_spec,
            loaded,
            alias=ref.alias if ref.version is None else None,
            reference_frame=reference_frame,
            reference_label=None if reference is None else f"dataset {reference}",
        )
        actions = monitoring.ActionSpec.from_config(
            m,
            alert=alert,
            retrain=retrain,
            retrainer=lambda trigger: self._retrain(trigger, observer),
            egress_hosts=tuple(self.config.egress.allow_hosts),
        )
        result = monitoring.act(result, actions, self.paths.store / "monitoring" / "actions.jsonl")
        return monitoring.write_reports(result, self.root / m.reports) if write else result

    def _retrain(self, trigger: str, observer: Observer | None = None) -> RetrainAction:
        """Retrain on the latest ``monitoring.retrain.window`` for the closed loop."""
        from modelyard.monitoring.result import RetrainAction

        retrain = self.config.monitoring.retrain
        result = self.train(
            search=retrain.search,
            window=retrain.window,
            observer=observer,
            lineage={"modelyard.trigger": trigger[:5000], "modelyard.automatic": "true"},
        )
        self.registry().set_version_tags(
            result.model, result.version, {"modelyard.trigger": trigger[:5000]}
        )
        return RetrainAction(
            trigger=trigger,
            run_id=result.run_id,
            version=result.version,
            promoted=result.promoted,
            champion=result.champion,
            gates=result.gates.summary(),
            why=next(
                (r.message for r in result.gates.results if not r.passed),
                result.gates.results[-1].message if result.gates.results else "",
            ),
            metrics=dict(result.metrics.get("test", {})),
            window=retrain.window,
            detail=(
                f"v{result.version} trained on "
                + (f"the latest {retrain.window}" if retrain.window else "the whole source")
                + (
                    " and promoted to champion"
                    if result.promoted
                    else ", not promoted: " + result.gates.summary()
                )
            ),
        )

    def tracker(self) -> Tracker:
        from modelyard.tracking.mlflow_store import Tracker

        return Tracker(
            self.tracking_uri,
            experiment=self.config.model_name,
            artifact_root=self.root / self.config.stores.artifacts,
        )

    def registry(self) -> Registry:
        from modelyard.tracking.registry import Registry

        return Registry(self.tracking_uri)

    def download_model(self, ref: str | None, dest: Path) -> tuple[str, int, Path]:
        """Download the version ``ref`` names into ``dest``, verified; return name, version, folder.

        ``ref`` is ``NAME@ALIAS`` or ``NAME/VERSION``; by default the project's model @ champion.
        """
        from modelyard.inference.ref import parse_model_ref, resolve_version

        registry = self.registry()
        model = parse_model_ref(ref, default_name=self.config.model_name)
        version = resolve_version(registry, model)
        return model.name, version, registry.download(model.name, version, dest)


def load_project(
    project: Path | str = ".",
    *,
    env: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Project:
    """Load the project at (or above) ``project`` with the ``env`` overlay."""
    loaded = load_config(project, env=env, overrides=overrides)
    store = loaded.root / loaded.config.stores.root
    return Project(loaded=loaded, paths=ProjectPaths(root=loaded.root, store=store))
