"""Monitor a registered version: drift and quality of a current window against its reference.

The reference travels inside the version (``reference.parquet``: a sample of its training split;
``reference_predictions.parquet``: its outputs on the test split; see ``registry_steps``), so
nobody names a file and the figures always match the model that is serving. The current window
is a time window of the prediction log (any version's inputs for feature drift; the monitored
version's own outputs for prediction drift and quality, with ``/v1/feedback`` labels joined by
request id), or a dataset.

``monitor`` returns a ``MonitorResult`` whose ``report`` is the JSON document ``modelyard
monitor --json`` prints and the HTML report draws. It decides a verdict; acting on it (alerts,
retraining) is ``act``'s job, so a dry look never changes anything.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import MonitoringError

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.features.spec import FeatureSpec
    from modelyard.monitoring.quality import QualityReport
    from modelyard.monitoring.report import ColumnDrift, DriftReport
    from modelyard.tracking.registry import Registry

log = logging.getLogger(__name__)

OK, DRIFT, DEGRADED, TOO_FEW = "ok", "drift", "degraded", "not_enough_data"
PREDICTION = "prediction"


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """Everything ``monitor`` needs, taken from the config by ``project``."""

    model_name: str
    alias: str | None
    version: int | None
    store: Path
    reports_dir: Path
    window: str
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    current_path: Path | None = None
    labels_path: Path | None = None
    drift_share: float = 0.3
    alpha: float = 0.05
    methods: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    min_rows: int = 100
    quality_tolerance: float = 0.05
    quality_freq: str = "1D"
    quality_min_rows: int = 30


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


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """What one look found: the report document and where it was written."""

    report: dict[str, Any]
    json_path: Path | None = None
    html_path: Path | None = None

    @property
    def status(self) -> str:
        return str(self.report["verdict"]["status"])

    @property
    def drifted(self) -> bool:
        return DRIFT in self.status.split("+")

    @property
    def degraded(self) -> bool:
        return DEGRADED in self.status.split("+")


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
    s: MonitorSettings,
    reference: Reference,
    *,
    reference_frame: pd.DataFrame | None = None,
    reference_label: str | None = None,
) -> MonitorResult:
    """Compare the current window with ``reference``; ``write_reports`` writes the result.

    Args:
        s: The settings.
        reference: The monitored version's reference (its predictions and promised metrics).
        reference_frame: Another reference dataset for feature drift (``--reference FILE``).
        reference_label: How to describe ``reference_frame`` in the report.

    Raises:
        MonitoringError: The current window has no rows, or lacks the model's columns.
    """
    from modelyard.monitoring.drift import detect_drift, prediction_drift
    from modelyard.monitoring.histograms import distributions

    current, current_label, since, until = _current(s, reference)
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

    enough = len(cur_x) >= s.min_rows  # never 0: _current refuses an empty window
    drift = detect_drift(
        ref_x, cur_x, columns=kinds, methods=dict(s.methods), thresholds=dict(s.thresholds),
        drift_share=s.drift_share, alpha=s.alpha,
    )  # fmt: skip
    own = _own_rows(current, reference)
    outputs_ref, outputs_cur, output_kind = _outputs(reference, own)
    pred = None
    if outputs_ref is not None and outputs_cur is not None and len(outputs_cur):
        pred = prediction_drift(outputs_ref, outputs_cur, output_kind, alpha=s.alpha)
    quality = _quality(s, reference, own)

    dists = distributions(ref_x, cur_x, kinds)
    if pred is not None:
        import pandas as pd

        dists[PREDICTION] = distributions(
            pd.DataFrame({PREDICTION: outputs_ref}),
            pd.DataFrame({PREDICTION: outputs_cur}),
            {PREDICTION: output_kind},
        )[PREDICTION]

    status, reasons = _verdict(s, drift, pred, quality, enough, len(cur_x))
    report: dict[str, Any] = {
        "model": {
            "name": reference.name,
            "version": reference.version,
            "alias": s.alias,
            "task": reference.task,
        },
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "reference": {
            "description": reference_label
            or (
                f"training split of {reference.name} v{reference.version} "
                f"(snapshot {str(reference.info.get('data_digest', ''))[:12]})"
            ),
            "rows": len(ref_x),
            "data_digest": reference.info.get("data_digest"),
        },
        "current": {
            "description": current_label,
            "rows": len(cur_x),
            "rows_of_this_version": len(own),
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
        "verdict": {"status": status, "reasons": reasons},
        "drift": {**drift.to_dict(), "prediction": None if pred is None else pred.to_dict()},
        "distributions": dists,
        "quality": None if quality is None else quality.to_dict(),
        "actions": [],
    }
    return MonitorResult(report=report)


def write_reports(result: MonitorResult, reports_dir: Path) -> MonitorResult:
    """Write the report as JSON and HTML (a timestamped pair, and ``latest.*``)."""
    from modelyard.monitoring.html import write_report_html

    reports_dir.mkdir(parents=True, exist_ok=True)
    model = result.report["model"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    stem = f"{stamp}-{model['name']}-v{model['version']}"
    json_path = reports_dir / f"{stem}.json"
    html_path = reports_dir / f"{stem}.html"
    text = json.dumps(result.report, indent=2, default=str) + "\n"
    for path in (json_path, reports_dir / "latest.json"):
        _write_atomic(path, text)
    write_report_html(result.report, html_path)
    write_report_html(result.report, reports_dir / "latest.html")
    return MonitorResult(report=result.report, json_path=json_path, html_path=html_path)


# --- acting on a verdict --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actions:
    """What to do about a breach, from ``monitoring.alerts`` and ``monitoring.retrain``."""

    webhook: str | None = None
    allow_hosts: tuple[str, ...] = ()
    alert_on_drift: bool = True
    alert_on_quality: bool = True
    timeout_s: float = 5.0
    retrain_on_drift: bool = False
    retrain_on_quality: bool = False
    retrain: Callable[[str], dict[str, Any]] | None = None
    """Retrain with the given trigger text; returns the action record (run, version, promoted)."""


def act(result: MonitorResult, actions: Actions, audit_log: Path) -> MonitorResult:
    """Alert and retrain as ``actions`` says; record every action in the report and ``audit_log``.

    A failed webhook is recorded, not raised: monitoring goes on when the chat is down.
    """
    report = result.report
    done: list[dict[str, Any]] = []
    breach = (result.drifted, result.degraded)
    alert = (result.drifted and actions.alert_on_drift) or (
        result.degraded and actions.alert_on_quality
    )
    if alert and actions.webhook:
        from modelyard.monitoring.alerts import alert_payload, send_webhook

        sent = send_webhook(
            actions.webhook,
            alert_payload(report),
            allow_hosts=actions.allow_hosts,
            timeout_s=actions.timeout_s,
        )
        done.append(
            {
                "kind": "alert",
                "target": sent.url_host,
                "ok": sent.ok,
                "detail": sent.detail,
                "trigger": report["verdict"]["status"],
            }
        )
    elif any(breach):
        log.info("monitoring breach (%s): %s", report["verdict"]["status"],
                    "; ".join(report["verdict"]["reasons"]))  # fmt: skip
    retrain = (result.drifted and actions.retrain_on_drift) or (
        result.degraded and actions.retrain_on_quality
    )
    if retrain and actions.retrain is not None:
        trigger = (
            f"modelyard monitor: {report['verdict']['status']} on "
            f"{report['model']['name']} v{report['model']['version']}: "
            + "; ".join(report["verdict"]["reasons"])
        )
        record = {"kind": "retrain", "trigger": trigger, **actions.retrain(trigger)}
        done.append(record)
    report = {**report, "actions": [*report["actions"], *done]}
    for record in done:
        _audit(audit_log, report, record)
    return MonitorResult(report=report, json_path=result.json_path, html_path=result.html_path)


# --- the current window ---------------------------------------------------------------------


def _current(
    s: MonitorSettings, reference: Reference
) -> tuple[pd.DataFrame, str, dt.datetime | None, dt.datetime | None]:

    if s.current_path is not None:
        from modelyard.data.source_spec import SourceSpec
        from modelyard.data.sources import read_source

        frame = read_source(SourceSpec(uri=str(s.current_path)), base_dir=Path.cwd())
        if len(frame) == 0:
            raise MonitoringError(f"{s.current_path} has no rows: there is nothing to monitor.")
        return frame, f"dataset {s.current_path}", None, None

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
    if s.labels_path is not None:
        joined = _join_label_file(joined, s.labels_path, reference.target)
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


def _quality(s: MonitorSettings, reference: Reference, own: pd.DataFrame) -> QualityReport | None:
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
    s: MonitorSettings,
    drift: DriftReport,
    pred: ColumnDrift | None,
    quality: QualityReport | None,
    enough: bool,
    rows: int,
) -> tuple[str, list[str]]:
    reasons: list[str] = []
    parts: list[str] = []
    if not enough:
        reasons.append(
            f"only {rows} current rows, fewer than monitoring.drift.min_rows={s.min_rows}: "
            "no drift verdict yet"
        )
    elif drift.dataset_drifted:
        parts.append(DRIFT)
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
            parts.append(DEGRADED)
    status = "+".join(parts) if parts else (OK if enough else TOO_FEW)
    if status == OK:
        reasons.insert(0, "no breach: drift and quality within their thresholds")
    return status, reasons


# --- small pieces -------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _audit(path: Path, report: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    """Append one action to the audit log (JSON Lines; one write per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": report["model"]["name"],
        "version": report["model"]["version"],
        "status": report["verdict"]["status"],
        **record,
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, default=str) + "\n")
