"""The typed, frozen schema of ``modelyard.yaml``.

Every section has defaults, so a minimal project file names only its data and target. Unknown
keys are errors (``extra="forbid"``); the loader turns them into "did you mean" messages.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from modelyard.config.durations import check_duration

Task = Literal["binary_classification", "multiclass_classification", "regression"]
NAME_PATTERN = r"^[A-Za-z0-9._-]{1,128}$"


class Section(BaseModel):
    """Base of every config section: frozen, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --- data ------------------------------------------------------------------------------------


class SourceConfig(Section):
    """Where the raw data comes from: files, a DuckDB query, or a SQL database.

    - ``uri``: a path, glob or fsspec URI (``s3://``, ``gcs://``...) of CSV, Parquet or JSON Lines;
      with ``query`` and a ``.duckdb`` file, the DuckDB database to query.
    - ``url`` + ``query``: a SQLAlchemy URL (``postgresql+psycopg://...``) and the query to run.
    - ``query`` alone: a DuckDB query over files (``select * from 'data/*.parquet'``).
    """

    uri: str | None = None
    format: Literal["csv", "parquet", "jsonl", "duckdb"] | None = None
    url: str | None = None
    query: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> SourceConfig:
        if self.url and self.uri:
            raise ValueError("give either uri (files, DuckDB) or url (SQL database), not both")
        if self.url and not self.query:
            raise ValueError("a SQL source (url) needs a query")
        if not (self.uri or self.url or self.query):
            raise ValueError("give uri (a file, glob or URI), url + query, or a DuckDB query")
        return self


class TargetConfig(Section):
    column: str
    positive: str | int | bool | None = None


class SplitConfig(Section):
    strategy: Literal["random", "stratified", "time", "group"] = "random"
    valid: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.15
    test: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.15
    seed: int = 42
    group_column: str | None = None

    @model_validator(mode="after")
    def _fractions(self) -> SplitConfig:
        if self.valid + self.test >= 1.0:
            raise ValueError(
                f"valid + test = {self.valid + self.test:g} leaves no training rows; keep it < 1"
            )
        if self.strategy == "group" and not self.group_column:
            raise ValueError("strategy 'group' needs group_column")
        return self


class DataConfig(Section):
    source: SourceConfig
    target: TargetConfig
    timestamp: str | None = None
    contract: str | None = None
    split: SplitConfig = Field(default_factory=SplitConfig)


# --- features --------------------------------------------------------------------------------


class FeatureStoreConfig(Section):
    views: list[str] = Field(default_factory=list)
    online: Literal["sqlite", "redis"] = "sqlite"


class FeaturesConfig(Section):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    ordinal: list[str] = Field(default_factory=list)
    datetime: list[str] = Field(default_factory=list)
    scale_numeric: bool = True
    rare_category_min_frequency: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.01
    store: FeatureStoreConfig = Field(default_factory=FeatureStoreConfig)


# --- model -----------------------------------------------------------------------------------


class SearchConfig(Section):
    trials: Annotated[int, Field(ge=1)] = 20
    timeout_s: Annotated[float, Field(gt=0)] = 300.0
    space: dict[str, dict[str, Any]] = Field(default_factory=dict)
    enabled: bool = False


class ModelConfig(Section):
    type: str = "lightgbm"
    params: dict[str, Any] = Field(default_factory=dict)
    search: SearchConfig = Field(default_factory=SearchConfig)
    validation: Literal["holdout", "kfold", "timeseries"] = "holdout"
    folds: Annotated[int, Field(ge=2)] = 5
    seed: int = 42


# --- evaluation ------------------------------------------------------------------------------


class MetricGate(Section):
    min: float | None = None
    max: float | None = None


class ChampionGate(Section):
    metric: str = "roc_auc"
    min_delta: float = 0.0


class GatesConfig(Section):
    """Absolute gates per metric (``roc_auc: {min: 0.7}``), plus the champion comparison."""

    model_config = ConfigDict(frozen=True, extra="allow")
    __pydantic_extra__: dict[str, MetricGate] = Field(init=False)

    champion: ChampionGate = Field(default_factory=ChampionGate)

    def thresholds(self) -> dict[str, MetricGate]:
        """Return the absolute gates: metric name -> bounds."""
        return dict(self.model_extra or {})


class EvaluationConfig(Section):
    primary_metric: str = "roc_auc"
    slices: list[str] = Field(default_factory=list)
    gates: GatesConfig = Field(default_factory=GatesConfig)


# --- registry, serving, monitoring -----------------------------------------------------------


class RegistryConfig(Section):
    model: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    export_onnx: bool = True


class ServingConfig(Section):
    """``modelyard serve``: where it binds, who may call it, and its limits.

    The only place serving defaults are written: ``modelyard.serving.settings.ServeSettings``
    holds this section as it is (see README, "How a serving setting takes effect").

    ``api_keys`` is a comma-separated list of secrets (use ``${VAR}``) that open every route;
    ``metrics_keys`` keys that may only scrape ``/metrics`` (give Prometheus one of these);
    ``allowed_hosts`` the Host headers answered besides 127.0.0.1, localhost and ``host``
    (``"*"``: any); ``admin_port`` a second listener for ``/health/*`` and ``/metrics`` that
    saturating the main port cannot starve (probes and scrapers go there); ``docs_public``
    serves ``/docs`` and ``/openapi.json`` without a key. Connections: a request's headers
    must arrive within ``header_timeout_s`` of the connection opening (or of the request's
    first byte), its body within ``body_timeout_s`` of its headers; an idle keep-alive
    connection is closed after ``keepalive_s``; beyond ``max_connections`` open connections
    new ones are closed at once. Requests: more than ``max_concurrency`` running plus
    ``max_queue`` waiting get 503 with ``Retry-After``; ``request_timeout_s`` bounds reading,
    validating and predicting (504 beyond). ``drain_delay_s`` how long readiness reports 503
    after SIGTERM before new connections are refused; ``log_flush_s`` the longest a logged
    prediction waits in memory before it is written (monitoring sees it then); ``access_log``
    whether each request gets a JSON line on stderr.
    """

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    admin_port: Annotated[int, Field(ge=0, le=65535)] | None = None
    workers: Annotated[int, Field(ge=1)] = 1
    api_keys: str = ""
    metrics_keys: str = ""
    allowed_hosts: list[str] = Field(default_factory=list)
    docs_public: bool = False
    model: str | None = None
    max_body_bytes: Annotated[int, Field(gt=0)] = 10 * 1024 * 1024
    max_batch_rows: Annotated[int, Field(gt=0)] = 10_000
    max_concurrency: Annotated[int, Field(gt=0)] = 64
    max_queue: Annotated[int, Field(ge=0)] = 256
    max_connections: Annotated[int, Field(gt=0)] = 4096
    request_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    header_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    body_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    keepalive_s: Annotated[float, Field(gt=0)] = 5.0
    watch_interval_s: Annotated[float, Field(gt=0)] = 5.0
    grace_period_s: Annotated[float, Field(gt=0)] = 30.0
    drain_delay_s: Annotated[float, Field(ge=0)] = 1.0
    prediction_log: bool = True
    log_flush_s: Annotated[float, Field(gt=0)] = 10.0
    log_flush_rows: Annotated[int, Field(gt=0)] = 5_000
    log_queue_size: Annotated[int, Field(gt=0)] = 20_000
    log_queue_bytes: Annotated[int, Field(gt=0)] = 64 * 1024 * 1024
    access_log: bool = True


class DriftConfig(Section):
    """How drift is measured: the dataset drifted when ``share`` of the columns drifted.

    ``methods`` and ``thresholds`` override the default test per column or kind (see
    ``modelyard.monitoring.methods``); ``min_rows``: fewer current rows and no verdict is given.
    """

    share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.3
    alpha: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.05
    methods: dict[str, str] = Field(default_factory=dict)
    thresholds: dict[str, float] = Field(default_factory=dict)
    min_rows: Annotated[int, Field(ge=1)] = 100


class QualityConfig(Section):
    """How live quality is judged once labels arrive (``POST /v1/feedback`` or a labelled file).

    A metric is degraded when it is worse than the model card's test figure by more than
    ``tolerance`` (absolute); metrics are also shown per ``freq`` window of at least
    ``min_rows`` labelled rows.
    """

    tolerance: Annotated[float, Field(ge=0.0)] = 0.05
    freq: str = "1D"
    min_rows: Annotated[int, Field(ge=1)] = 30


Duration = Annotated[str, AfterValidator(check_duration)]


class RetrainConfig(Section):
    """The closed loop: retrain when monitoring finds a breach.

    ``on_drift`` / ``on_quality``: which breaches retrain; ``window``: train on the source's
    latest ``window`` of data by ``data.timestamp`` (e.g. ``180d``), all of it when unset. The
    new version goes through the usual gates; it becomes champion only if it passes them.
    """

    on_drift: bool = False
    on_quality: bool = False
    window: Duration | None = None
    search: bool | None = None


class AlertsConfig(Section):
    """Where breaches are announced: a Slack-compatible webhook (use ``${VAR}``: it is a
    secret), and the hosts it may reach besides public addresses (loopback, private and
    link-local targets are refused unless listed here)."""

    webhook: str | None = None
    allow_hosts: list[str] = Field(default_factory=list)
    on_drift: bool = True
    on_quality: bool = True
    timeout_s: Annotated[float, Field(gt=0)] = 5.0


class MonitoringConfig(Section):
    """``modelyard monitor``: the current window (of the prediction log) is the last ``window``."""

    window: Duration = "7d"
    drift: DriftConfig = Field(default_factory=DriftConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    reports: str = "reports/monitoring"


# --- egress ----------------------------------------------------------------------------------


class EgressConfig(Section):
    """Outbound HTTP(S): dataset URLs (``data.source.uri``), webhooks, remote artifact sources.

    Every request goes through one client that refuses loopback, private, link-local (cloud
    metadata) and other non-public addresses, at every redirect, unless the host name or
    address is listed in ``allow_hosts`` (webhooks may also reach
    ``monitoring.alerts.allow_hosts``).
    ``timeout_s`` and ``max_bytes`` bound one dataset download.
    """

    allow_hosts: list[str] = Field(default_factory=list)
    timeout_s: Annotated[float, Field(gt=0)] = 300.0
    max_bytes: Annotated[int, Field(gt=0)] = 2 * 1024**3


# --- stores ----------------------------------------------------------------------------------


class StoresConfig(Section):
    """Where modelyard keeps its state; embedded defaults need no server."""

    root: str = ".modelyard"
    tracking_uri: str = "sqlite:///.modelyard/mlflow.db"
    artifacts: str = ".modelyard/artifacts"
    online_store: str = "sqlite:///.modelyard/online.db"
    redis_url: str | None = None


# --- the whole file --------------------------------------------------------------------------


class ProjectConfig(Section):
    """One project's ``modelyard.yaml``, with every overlay applied."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    task: Task = "binary_classification"
    data: DataConfig
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    egress: EgressConfig = Field(default_factory=EgressConfig)
    stores: StoresConfig = Field(default_factory=StoresConfig)
    environments: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def model_name(self) -> str:
        """The registered model name: ``registry.model``, else the project name."""
        return self.registry.model or self.name
