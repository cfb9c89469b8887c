"""Monitor a registered version: drift and quality of a current window against its reference.

The reference travels inside the version (``reference.parquet``: a sample of its training split;
``reference_predictions.parquet``: its outputs on the test split; see ``registry_steps``), so
nobody names a file and the figures always match the model that is serving. The current window
is a time window of the prediction log (any version's inputs for feature drift; the monitored
version's own outputs for prediction drift and quality, with ``/v1/feedback`` labels joined by
request id), or a dataset.

``monitor`` returns a typed ``MonitorResult`` (``modelyard.monitoring.result``): the verdict,
the drift and quality reports, and later the actions; its ``to_dict()`` is the JSON document
``modelyard monitor --json`` prints. It decides a verdict; acting on it (alerts, retraining) is
``act``'s job, so a dry look never changes anything. ``MonitorSpec`` and ``ActionSpec`` are
built once from the config's ``monitoring`` section: the defaults live in the schema only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from modelyard.errors import MonitoringError
from modelyard.monitoring.result import (
    AlertAction,
    Breach,
    CurrentWindow,
    MonitoredModel,
    MonitorResult,
    ReferenceWindow,
    RetrainAction,
    Verdict,
)

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.config.schema import MonitoringConfig
    from modelyard.features.spec import FeatureSpec
    from modelyard.monitoring.quality import QualityReport
    from modelyard.monitoring.report import ColumnDrift, DriftReport
    from modelyard.tracking.registry import Registry

log = logging.getLogger(__name__)

PREDICTION = "prediction"

__all__ = [
    "ActionSpec",
    "CurrentSpec",
    "MonitorResult",
    "MonitorSpec",
    "Reference",
    "act",
    "load_reference",
    "monitor",
    "write_reports",
]


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """How a look judges drift and quality: ``monitoring.drift`` and ``monitoring.quality``.

    Built once by ``from_config``; it holds no defaults of its own (those are the schema's).
    """

    drift_share: float
    alpha: float
    methods: Mapping[str, str]
    thresholds: Mapping[str, float]
    min_rows: int
    quality_tolerance: float
    quality_freq: str
    quality_min_rows: int

    @classmethod
    def from_config(cls, monitoring: MonitoringConfig) -> MonitorSpec:
        """Return the spec the config's ``monitoring`` section describes."""
        drift, quality = monitoring.drift, monitoring.quality
        return cls(
            drift_share=drift.share,
            alpha=drift.alpha,
            methods=MappingProxyType(dict(drift.methods)),
            thresholds=MappingProxyType(dict(drift.thresholds)),
            min_rows=drift.min_rows,
            quality_tolerance=quality.tolerance,
            quality_freq=quality.freq,
            quality_min_rows=quality.min_rows,
        )


@dataclass(frozen=True, slots=True)
class CurrentSpec:
    """Where a look's current window comes from: the prediction log, or a dataset.

    Attributes:
        store: The project's store (the prediction log and feedback are under it).
        window: The log's latest ``window`` (a duration), unless ``since`` is given.
        since: The window's start; ``None``: ``until`` (or now) minus ``window``.
        until: The window's end (excluded); ``None``: now.
        dataset: A dataset to check instead of the prediction log.
        labels: A file of ``request_id, label`` joined to the log, besides the feedback.
    """

    store: Path
    window: str
    since: dt.datetime | None
    until: dt.datetime | None
    dataset: Path | None
    labels: Path | None


@dataclass(frozen=True, slots=True)
class Reference:
    """A version's monitoring reference, read from its verified folder."""

    name: str
    version: int
    task: str
    target: str
    spec: FeatureSpec
    classes: list[Any] | None
    features: pd.DataFrame
    predictions: pd.DataFrame
    promised: dict[str, float]
    info: dict[str, Any]


def load_reference(registry: Registry, name: str, version: int) -> Reference:
    """Download ``name`` version ``version`` (manifest verified) and read its reference.

    Raises:
        MonitoringError: The version was trained before references were shipped with versions.
    """
    from modelyard.features.bundle import REFERENCE_FILE, read_bundle

    with tempfile.TemporaryDirectory(prefix="modelyard-monitor-") as tmp:
        folder = registry.download(name, version, Path(tmp) / "model")
        bundle = read_bundle(folder, name=name, version=version)
        info, inputs = bundle.reference, bundle.inputs
        target = inputs.target or (info.target if info is not None else None)
        if info is None or target is None:
            raise MonitoringError(
                f"Version {version} of {name!r} carries no monitoring reference "
                f"({REFERENCE_FILE}): it was registered by an older modelyard. Retrain it "
                "(modelyard train), or pass a reference file with --reference."
            )
        return Reference(
            name=name,
            version=version,
            task=inputs.task,
            target=target,
            spec=inputs.spec,
            classes=None if inputs.classes is None else list(inputs.classes),
            features=bundle.read_reference(),
            predictions=bundle.read_reference_predictions(),
            promised={k: v for k, v in bundle.test_metrics.items() if v is not None},
            info=info.to_dict(),
        )


def monitor(
    spec: MonitorSpec,
    window: CurrentSpec,
    reference: Reference,
    *,
    alias: str | None = None,
    reference_frame: pd.DataFrame | None = None,
    reference_label: str | None = None,
) -> MonitorResult:
    """Compare the current window with ``reference``; ``write_reports`` writes the result.

    Args:
        spec: How drift and quality are judged.
        window: Where the current window comes from.
        reference: The monitored version's reference (its predictions and promised metrics).
        alias: The alias the version was reached by, for the report.
        reference_frame: Another reference dataset for feature drift (``--reference FILE``).
        reference_label: How to describe ``reference_frame`` in the report.

    Raises:
        MonitoringError: The current window has no rows, or lacks the model's columns.
    """
    from modelyard.monitoring.drift import detect_drift, prediction_drift
    from modelyard.monitoring.histograms import distributions

    current, current_label, since, until = _current(window, reference)
    kinds = _kinds(reference.spec)
    ref_features = reference.features if reference_frame is None else reference_frame
    missing = [c for c in kinds if c not in current.columns or c not in ref_features.columns]
    if missing:
        side = "current window" if any(c not in current.columns for c in missing) else "reference"
        raise MonitoringError(
            f"The {side} lacks the model's input columns {missing}: it is not data this model "
            "reads. Point --current/--reference at data with the model's features "
            f"({', '.join(kinds)})."
        )
    ref_x, cur_x = _aligned(ref_features, kinds), _aligned(current, kinds)

    enough = len(cur_x) >= spec.min_rows  # never 0: _current refuses an empty window
    drift = detect_drift(
        ref_x, cur_x, columns=kinds, methods=dict(spec.methods),
        thresholds=dict(spec.thresholds), drift_share=spec.drift_share, alpha=spec.alpha,
    )  # fmt: skip
    own = _own_rows(current, reference)
    outputs_ref, outputs_cur, output_kind = _outputs(reference, own)
    pred = None
    if outputs_ref is not None and outputs_cur is not None and len(outputs_cur):
        pred = prediction_drift(outputs_ref, outputs_cur, output_kind, alpha=spec.alpha)
    quality = _quality(spec, reference, own)

    dists = distributions(ref_x, cur_x, kinds)
    if pred is not None:
        import pandas as pd

        dists[PREDICTION] = distributions(
            pd.DataFrame({PREDICTION: outputs_ref}),
            pd.DataFrame({PREDICTION: outputs_cur}),
            {PREDICTION: output_kind},
        )[PREDICTION]

    digest = reference.info.get("data_digest")
    return MonitorResult(
        model=MonitoredModel(
            name=reference.name, version=reference.version, alias=alias, task=reference.task
        ),
        generated_at=dt.datetime.now(dt.UTC),
        reference=ReferenceWindow(
            description=reference_label
            or (
                f"training split of {reference.name} v{reference.version} "
                f"(snapshot {str(digest or '')[:12]})"
            ),
            rows=len(ref_x),
            data_digest=None if digest is None else str(digest),
        ),
        current=CurrentWindow(
            description=current_label,
            rows=len(cur_x),
            rows_of_this_version=len(own),
            since=since,
            until=until,
        ),
        verdict=_verdict(spec, drift, pred, quality, enough, len(cur_x)),
        drift=drift,
        prediction_drift=pred,
        distributions=MappingProxyType(dists),
        quality=quality,
    )


def write_reports(result: MonitorResult, reports_dir: Path) -> MonitorResult:
    """Write the report as JSON and HTML (a timestamped pair, and ``latest.*``)."""
    from modelyard.monitoring.html import write_report_html

    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    stem = f"{stamp}-{result.model.name}-v{result.model.version}"
    json_path = reports_dir / f"{stem}.json"
    html_path = reports_dir / f"{stem}.html"
    text = json.dumps(result.to_dict(), indent=2, default=str) + "\n"
    for path in (json_path, reports_dir / "latest.json"):
        _write_atomic(path, text)
    write_report_html(result, html_path)
    write_report_html(result, reports_dir / "latest.html")
    return result.written_to(json_path, html_path)


# --- acting on a verdict --------------------------------------------------------------------

Retrain = Callable[[str], RetrainAction]
"""Retrain with the given trigger text and return what happened (run, version, gates)."""


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What to do about a breach: ``monitoring.alerts`` and ``monitoring.retrain``.

    Built once by ``from_config``; it holds no defaults of its own (those are the schema's).
    """

    webhook: str | None
    allow_hosts: tuple[str, ...]
    alert_on_drift: bool
    alert_on_quality: bool
    timeout_s: float
    retrain_on_drift: bool
    retrain_on_quality: bool
    retrain: Retrain | None

    @classmethod
    def from_config(
        cls,
        monitoring: MonitoringConfig,
        *,
        alert: bool,
        retrain: bool | None,
        retrainer: Retrain | None,
        egress_hosts: tuple[str, ...] = (),
    ) -> ActionSpec:
        """Return the actions the config's ``monitoring`` section describes.

        Args:
            monitoring: The config's ``monitoring`` section.
            alert: ``False`` sends no webhook alert whatever the config says.
            retrain: Overrides ``retrain.on_drift`` and ``retrain.on_quality`` unless ``None``.
            retrainer: What retrains, when a breach asks for it.
            egress_hosts: ``egress.allow_hosts``, which webhooks may reach too.
        """
        alerts, loop = monitoring.alerts, monitoring.retrain
        return cls(
            webhook=alerts.webhook if alert else None,
            allow_hosts=tuple(alerts.allow_hosts) + egress_hosts,
            alert_on_drift=alerts.on_drift,
            alert_on_quality=alerts.on_quality,
            timeout_s=alerts.timeout_s,
            retrain_on_drift=loop.on_drift if retrain is None else retrain,
            retrain_on_quality=loop.on_quality if retrain is None else retrain,
            retrain=retrainer,
        )

    def wants_alert(self, verdict: Verdict) -> bool:
        """Return whether ``verdict`` is a breach these settings alert on."""
        return (verdict.is_drifted and self.alert_on_drift) or (
            verdict.is_degraded and self.alert_on_quality
        )

    def wants_retrain(self, verdict: Verdict) -> bool:
        """Return whether ``verdict`` is a breach these settings retrain on."""
        return (verdict.is_drifted and self.retrain_on_drift) or (
            verdict.is_degraded and self.retrain_on_quality
        )


def act(result: MonitorResult, actions: ActionSpec, audit_log: Path) -> MonitorResult:
    """Alert and retrain as ``actions`` says; record every action in the result and ``audit_log``.

    A failed webhook is recorded, not raised: monitoring goes on when the chat is down.
    """
    verdict = result.verdict
    done: list[AlertAction | RetrainAction] = []
    if actions.wants_alert(verdict) and actions.webhook:
        from modelyard.monitoring.alerts import alert_payload, send_webhook

        sent = send_webhook(
            actions.webhook,
            alert_payload(result),
            allow_hosts=actions.allow_hosts,
            timeout_s=actions.timeout_s,
        )
        done.append(
            AlertAction(
                target=sent.url_host, ok=sent.ok, detail=sent.detail, trigger=verdict.status
            )
        )
    elif verdict.is_breach:
        log.info("monitoring breach (%s): %s", verdict.status, "; ".join(verdict.reasons))
    if actions.wants_retrain(verdict) and actions.retrain is not None:
        trigger = (
            f"modelyard monitor: {verdict.status} on "
            f"{result.model.name} v{result.model.version}: " + "; ".join(verdict.reasons)
        )
        done.append(actions.retrain(trigger))
    for action in done:
        _audit(audit_log, result, action)
    return result.with_actions(*done)


# --- the current window ---------------------------------------------------------------------


def _current(
    s: CurrentSpec, reference: Reference
) -> tuple[pd.DataFrame, str, dt.datetime | None, dt.datetime | None]:
    if s.dataset is not None:
        from modelyard.data.source_spec import SourceSpec
        from modelyard.data.sources import read_source

        frame = read_source(SourceSpec(uri=str(s.dataset)), base_dir=Path.cwd())
        if len(frame) == 0:
            raise MonitoringError(f"{s.dataset} has no rows: there is nothing to monitor.")
        return frame, f"dataset {s.dataset}", None, None

    from modelyard.config.durations import parse_duration
    from modelyard.serving.prediction_history import join_feedback, read_feedback, read_predictions

    until = s.until
    since = s.since
    if since is None:
        since = (until or dt.datetime.now(dt.UTC)) - parse_duration(s.window)
    predictions = read_predictions(s.store, reference.name, since, until)
    if len(predictions) == 0:
        raise MonitoringError(
            f"The prediction log of {reference.name!r} has no rows from {since:%Y-%m-%d %H:%M} "
            f"to {'now' if until is None else f'{until:%Y-%m-%d %H:%M}'} (under "
            f"{s.store / 'predictions'}). Serve the model (modelyard serve) and send traffic, "
            "widen --window, or monitor a dataset with --current FILE."
        )
    labels = read_feedback(s.store, reference.name)
    joined = join_feedback(predictions, labels)
    if s.labels is not None:
        joined = _join_label_file(joined, s.labels, reference.target)
    describe = f"prediction log, {since:%Y-%m-%d %H:%M} to " + (
        "now" if until is None else f"{until:%Y-%m-%d %H:%M}"
    )
    return joined, describe, since, until


def _join_label_file(joined: pd.DataFrame, path: Path, target: str) -> pd.DataFrame:
    """Fill ``label`` from a labelled file keyed by ``request_id`` (and ``row`` when given)."""
    from modelyard.data.source_spec import SourceSpec
    from modelyard.data.sources import read_source

    labels = read_source(SourceSpec(uri=str(path)), base_dir=Path.cwd())
    column = "label" if "label" in labels.columns else target
    if "request_id" not in labels.columns or column not in labels.columns:
        raise MonitoringError(
            f"{path} needs columns request_id and label (or {target!r}); it has "
            f"{list(labels.columns)[:8]}. Write one row per request id with its true label."
        )
    keys = ["request_id", "row"] if "row" in labels.columns else ["request_id"]
    table = labels.loc[:, [*keys, column]].drop_duplicates(keys, keep="last")
    merged = joined.merge(table.rename(columns={column: "_file_label"}), on=keys, how="left")
    filled = merged["_file_label"].astype(object).where(merged["_file_label"].notna(), None)
    merged["label"] = filled.where(filled.notna(), merged["label"])
    return merged.drop(columns="_file_label")


def _own_rows(current: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """The rows the monitored version answered (all of a dataset's rows)."""
    if "version" not in current.columns:
        return current
    versions = current["version"].astype(str)
    return current.loc[versions == str(reference.version)]


# --- features, outputs, quality ---------------------------------------------------------------


def _kinds(spec: FeatureSpec) -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    for name in spec.numeric:
        kinds[name] = "numeric"
    for name in (*spec.categorical, *spec.ordinal):
        kinds[name] = "categorical"
    return kinds  # datetime features are compared through what they derive, not as dates


def _aligned(frame: pd.DataFrame, kinds: Mapping[str, Any]) -> pd.DataFrame:
    """The model's columns, numeric as float and categories as text (JSON turns 7 into 7 or
    "7"; the training data may hold either)."""
    import pandas as pd

    out = {}
    for name, kind in kinds.items():
        column = frame[name]
        if kind == "numeric":
            out[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        else:
            text = column.astype(object).map(_category_text)
            out[name] = text
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def _category_text(value: Any) -> Any:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value.item() if hasattr(value, "item") else value)


def _outputs(reference: Reference, own: pd.DataFrame) -> tuple[Any, Any, Any]:
    """Reference and current model outputs, and their kind: the positive-class probability for
    binary classifiers, the label for multiclass, the value for regressors."""
    import numpy as np

    ref = reference.predictions
    if reference.task == "binary_classification":
        if "score" not in ref.columns or "probabilities" not in own.columns:
            return None, None, "numeric"
        positive = _positive_class(reference)
        scores = [_probability(p, positive) for p in own["probabilities"]]
        return ref["score"].to_numpy(float), np.asarray(scores, dtype=float), "numeric"
    if PREDICTION not in own.columns:
        return None, None, "numeric"
    if reference.task == "regression":
        current = np.asarray(
            [np.nan if v is None else float(v) for v in own[PREDICTION]], dtype=float
        )
        return ref[PREDICTION].to_numpy(float), current, "numeric"
    ref_labels = np.asarray([_category_text(v) for v in ref[PREDICTION]], dtype=object)
    cur_labels = np.asarray([_category_text(v) for v in own[PREDICTION]], dtype=object)
    return ref_labels, cur_labels, "categorical"


def _positive_class(reference: Reference) -> str:
    classes = reference.classes or [0, 1]
    return str(classes[-1])


def _probability(probabilities: Any, positive: str) -> float:
    if not isinstance(probabilities, Mapping):
        return float("nan")
    for key, value in probabilities.items():
        if str(key) == positive:
            return float(value)
    return float("nan")


def _quality(s: MonitorSpec, reference: Reference, own: pd.DataFrame) -> QualityReport | None:
    from modelyard.monitoring.quality import evaluate_quality

    frame = own
    if "label" not in frame.columns:  # a dataset: labelled when it has the target and outputs
        if reference.target not in frame.columns or PREDICTION not in frame.columns:
            return None
        frame = frame.assign(label=frame[reference.target])
    if "timestamp" not in frame.columns or frame["label"].isna().all():
        return None
    return evaluate_quality(
        frame,
        task=reference.task,
        promised=reference.promised,
        classes=reference.classes,
        freq=s.quality_freq,
        tolerance=s.quality_tolerance,
        min_rows=s.quality_min_rows,
    )


def _verdict(
    s: MonitorSpec,
    drift: DriftReport,
    pred: ColumnDrift | None,
    quality: QualityReport | None,
    enough: bool,
    rows: int,
) -> Verdict:
    reasons: list[str] = []
    breaches = Breach(0)
    if not enough:
        reasons.append(
            f"only {rows} current rows, fewer than monitoring.drift.min_rows={s.min_rows}: "
            "no drift verdict yet"
        )
    elif drift.dataset_drifted:
        breaches |= Breach.DRIFT
        names = ", ".join(drift.drifted_columns[:6])
        more = (
            "" if len(drift.drifted_columns) <= 6 else f" and {len(drift.drifted_columns) - 6} more"
        )
        reasons.append(
            f"{drift.n_drifted} of {len(drift.columns)} features drifted "
            f"({drift.share_drifted:.0%} >= {drift.drift_share:.0%}): {names}{more}"
        )
    elif drift.n_drifted:
        reasons.append(
            f"{drift.n_drifted} of {len(drift.columns)} features drifted "
            f"({drift.share_drifted:.0%}, below the {drift.drift_share:.0%} that counts as "
            f"dataset drift): {', '.join(drift.drifted_columns[:6])}"
        )
    if enough and pred is not None and pred.drifted:
        reasons.append(f"the model's outputs drifted ({pred.method} {pred.statistic:.3g})")
    if quality is not None:
        for item in quality.comparisons:
            if item.degraded:
                reasons.append(
                    f"{item.metric} {item.observed:.3f} against the card's "
                    f"{item.promised:.3f} (tolerance {item.tolerance:g})"
                )
        if quality.degraded:
            breaches |= Breach.DEGRADED
    if not breaches and enough:
        reasons.insert(0, "no breach: drift and quality within their thresholds")
    return Verdict(breaches=breaches, enough_rows=enough, reasons=tuple(reasons))


# --- small pieces -------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _audit(path: Path, result: MonitorResult, action: AlertAction | RetrainAction) -> None:
    """Append one action to the audit log (JSON Lines; one write per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": result.model.name,
        "version": result.model.version,
        "status": result.verdict.status,
        **action.to_dict(),
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, default=str) + "\n")
