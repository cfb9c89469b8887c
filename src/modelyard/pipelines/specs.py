"""One frozen spec per training stage, built once from the config by ``Project.train_specs``.

A step receives its spec and its declared input files, nothing else; its cache key hashes every
field of its spec (see ``runner.spec_fields``), so a step cannot read a setting its key does not
hold. Specs carry no defaults: every value comes from ``config/schema.py`` (the one place
defaults live), through ``project.py``.

| step     | spec           | holds                                                          |
|----------|----------------|----------------------------------------------------------------|
| ingest   | ``IngestSpec`` | the source, the folder relative paths start from, the window   |
| split    | ``SplitSpec``  | strategy, fractions, seed, target, timestamp and group columns |
| search   | ``SearchSpec`` | the model searched (a ``FitSpec``), space, budget, folds       |
| fit      | ``FitSpec``    | task, model type and params, seed, features, target            |
| evaluate | ``EvalSpec``   | task, features, target, slice columns                          |
| export   | ``ExportSpec`` | whether to export, task, features                              |
| register | ``RegisterSpec`` | model name, task, type, features, target, timestamp, seed    |
| gate     | ``GateSpec``   | model name, task, target, absolute gates, champion comparison  |
| card     | ``CardSpec``   | what the card shows and where it is published                  |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from modelyard.data.source_spec import SourceSpec
    from modelyard.features.spec import FeatureSpec

Bounds = tuple[float | None, float | None]


@dataclass(frozen=True, slots=True)
class IngestSpec:
    """What ``ingest`` reads: the source, and the latest ``window`` of it by ``timestamp``.

    ``base_dir`` is where relative paths (and DuckDB queries over files) start from: the
    project's root. The contract and a local source file are inputs, keyed by content.
    """

    source: SourceSpec
    base_dir: Path
    timestamp: str | None
    window: str | None


@dataclass(frozen=True, slots=True)
class SplitSpec:
    """How a dataset is cut into train, valid and test (``data.split``)."""

    strategy: Literal["random", "stratified", "time", "group"]
    valid: float
    test: float
    seed: int
    target: str
    timestamp: str | None
    group: str | None


@dataclass(frozen=True, slots=True)
class FitSpec:
    """The preprocessing + model pipeline ``fit`` builds (``model``, ``features``)."""

    task: str
    model_type: str
    params: Mapping[str, Any]
    seed: int
    features: FeatureSpec
    target: str


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """The hyper-parameter search (``model.search``): ``fit.params`` is where it starts."""

    fit: FitSpec
    space: Mapping[str, Any]
    trials: int
    timeout_s: float
    validation: Literal["holdout", "kfold", "timeseries"]
    folds: int
    metric: str
    timestamp: str | None


@dataclass(frozen=True, slots=True)
class EvalSpec:
    """What ``evaluate`` measures: the task's metrics overall and per slice column."""

    task: str
    features: FeatureSpec
    target: str
    slices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """Whether and how ``export`` writes the ONNX model (``registry.export_onnx``)."""

    enabled: bool
    task: str
    features: FeatureSpec


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """What ``register`` writes into a version besides the earlier steps' outputs.

    ``source`` is the data source as a version's description names it.
    """

    model_name: str
    task: str
    model_type: str
    source: str
    features: FeatureSpec
    target: str
    timestamp: str | None
    seed: int


@dataclass(frozen=True, slots=True)
class GateSpec:
    """The gates a version must pass to become champion (``evaluation.gates``)."""

    model_name: str
    task: str
    target: str
    gates: Mapping[str, Bounds]
    champion_metric: str
    champion_min_delta: float


@dataclass(frozen=True, slots=True)
class CardSpec:
    """What the model card shows, and the folder it is published under (``cards_dir``)."""

    model_name: str
    task: str
    target: str
    timestamp: str | None
    features: FeatureSpec
    source: str
    primary_metric: str
    champion_metric: str
    config_hash: str
    project_root: Path
    lineage: Mapping[str, str]
    cards_dir: Path


@dataclass(frozen=True, slots=True)
class TrainSpecs:
    """Every stage's spec, and what the pipeline around the steps needs.

    ``search`` is None when no search runs. ``contract`` is the data contract file, an input of
    ``ingest`` and ``register``. The MLflow run of a training is tagged with ``lineage`` and
    ``config_hash``, in the experiment named ``model_name``.
    """

    model_name: str
    ingest: IngestSpec
    split: SplitSpec
    search: SearchSpec | None
    fit: FitSpec
    evaluate: EvalSpec
    export: ExportSpec
    register: RegisterSpec
    gate: GateSpec
    card: CardSpec
    contract: Path | None
    cache_dir: Path
    config_hash: str
    lineage: Mapping[str, str]
