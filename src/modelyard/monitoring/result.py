"""What one monitoring look found, as typed values: the verdict, the reports, the actions taken.

A ``MonitorResult`` holds the monitored model, the two windows compared, the ``Verdict`` (a
``Breach`` flag set and the reasons), the ``DriftReport`` with the prediction drift beside it,
the reference-versus-current ``Distribution`` of each column, the ``QualityReport`` once labels
arrived, and the actions taken (``AlertAction``, ``RetrainAction``). The HTML report, the alert,
the gauges, the CLI and the demo read these attributes; ``to_dict()`` is the JSON document
``modelyard monitor --json`` prints and ``reports/monitoring/*.json`` hold.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from modelyard.monitoring.histograms import Distribution
    from modelyard.monitoring.quality import QualityReport
    from modelyard.monitoring.report import ColumnDrift, DriftReport

__all__ = [
    "Action",
    "AlertAction",
    "Breach",
    "CurrentWindow",
    "MonitorResult",
    "MonitoredModel",
    "ReferenceWindow",
    "RetrainAction",
    "Verdict",
]


class Breach(enum.Flag):
    """What a look found wrong; ``Breach(0)`` when nothing was."""

    DRIFT = enum.auto()
    """The dataset drifted: at least ``monitoring.drift.share`` of the features did."""
    DEGRADED = enum.auto()
    """Live quality fell below the model card by more than ``monitoring.quality.tolerance``."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The look's conclusion.

    Attributes:
        breaches: The breaches found (``DRIFT``, ``DEGRADED``, both, or none).
        enough_rows: Whether the current window held ``monitoring.drift.min_rows`` rows; with
            fewer there is no drift verdict.
        reasons: Why, one sentence each, for people.
    """

    breaches: Breach
    enough_rows: bool
    reasons: tuple[str, ...]

    @property
    def is_drifted(self) -> bool:
        """Return whether the dataset drifted."""
        return Breach.DRIFT in self.breaches

    @property
    def is_degraded(self) -> bool:
        """Return whether live quality degraded."""
        return Breach.DEGRADED in self.breaches

    @property
    def is_breach(self) -> bool:
        """Return whether anything was found wrong."""
        return bool(self.breaches)

    @property
    def status(self) -> str:
        """Return the status word of the JSON report: ``ok``, ``drift``, ``degraded``,
        ``drift+degraded`` or ``not_enough_data``."""
        parts = [name for flag, name in _STATUS_WORDS if flag in self.breaches]
        if parts:
            return "+".join(parts)
        return "ok" if self.enough_rows else "not_enough_data"

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as the report's ``verdict`` entry."""
        return {"status": self.status, "reasons": list(self.reasons)}


_STATUS_WORDS = ((Breach.DRIFT, "drift"), (Breach.DEGRADED, "degraded"))


@dataclass(frozen=True, slots=True)
class MonitoredModel:
    """The registered version a look is about."""

    name: str
    version: int
    alias: str | None
    task: str

    def to_dict(self) -> dict[str, Any]:
        """Return the model as the report's ``model`` entry."""
        return {"name": self.name, "version": self.version, "alias": self.alias, "task": self.task}


@dataclass(frozen=True, slots=True)
class ReferenceWindow:
    """The data the current window is compared with.

    Attributes:
        description: Where it comes from, for people.
        rows: Rows compared.
        data_digest: The training snapshot's digest, when the reference is the version's own.
    """

    description: str
    rows: int
    data_digest: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the window as the report's ``reference`` entry."""
        return {"description": self.description, "rows": self.rows, "data_digest": self.data_digest}


@dataclass(frozen=True, slots=True)
class CurrentWindow:
    """The data checked.

    Attributes:
        description: Where it comes from, for people.
        rows: Rows compared (every version's inputs, for feature drift).
        rows_of_this_version: Rows the monitored version answered (prediction drift, quality).
        since: The window's start, for the prediction log; ``None`` for a dataset.
        until: The window's end (excluded); ``None`` for now, or for a dataset.
    """

    description: str
    rows: int
    rows_of_this_version: int
    since: dt.datetime | None
    until: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Return the window as the report's ``current`` entry."""
        return {
            "description": self.description,
            "rows": self.rows,
            "rows_of_this_version": self.rows_of_this_version,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AlertAction:
    """A webhook alert sent about a breach.

    Attributes:
        target: ``scheme://host[:port]`` of the webhook (never its secret path).
        ok: Whether the receiver answered 2xx.
        detail: What happened: the answer, or the failure.
        trigger: The verdict's status that raised the alert.
    """

    target: str
    ok: bool
    detail: str
    trigger: str

    kind: ClassVar[Literal["alert"]] = "alert"

    def to_dict(self) -> dict[str, Any]:
        """Return the action as an entry of the report's ``actions``."""
        return {
            "kind": self.kind,
            "target": self.target,
            "ok": self.ok,
            "detail": self.detail,
            "trigger": self.trigger,
        }


@dataclass(frozen=True, slots=True)
class RetrainAction:
    """A retraining a breach triggered, and what the gates made of the new version.

    Attributes:
        trigger: Why it ran (``modelyard monitor: <status> on <model> v<version>: <reasons>``).
        run_id: The training run.
        version: The version it registered.
        promoted: Whether that version became champion.
        champion: The champion's version after the gates.
        gates: The gates' one-line summary.
        why: The gate message that decided.
        metrics: The new version's test metrics.
        window: The training window (``monitoring.retrain.window``); ``None`` for all data.
        detail: What happened, in a sentence.
    """

    trigger: str
    run_id: str
    version: int
    promoted: bool
    champion: int | None
    gates: str
    why: str
    metrics: Mapping[str, float]
    window: str | None
    detail: str

    kind: ClassVar[Literal["retrain"]] = "retrain"

    def to_dict(self) -> dict[str, Any]:
        """Return the action as an entry of the report's ``actions``."""
        return {
            "kind": self.kind,
            "trigger": self.trigger,
            "run_id": self.run_id,
            "version": self.version,
            "promoted": self.promoted,
            "champion": self.champion,
            "gates": self.gates,
            "why": self.why,
            "metrics": dict(self.metrics),
            "window": self.window,
            "detail": self.detail,
        }


Action = AlertAction | RetrainAction


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """What one look found, what was done about it, and where the report was written.

    Attributes:
        model: The monitored version.
        generated_at: When the look was made (UTC).
        reference: The reference window.
        current: The current window.
        verdict: Breaches and reasons.
        drift: Feature drift, column by column.
        prediction_drift: Drift of the model's outputs; ``None`` when the window has none of
            this version's outputs.
        distributions: Reference and current distribution by column (``prediction`` included
            when ``prediction_drift`` is).
        quality: Live quality against the card; ``None`` until labels arrive.
        actions: Alerts sent and retrainings run, in order.
        json_path: The JSON report written, if any.
        html_path: The HTML report written, if any.
    """

    model: MonitoredModel
    generated_at: dt.datetime
    reference: ReferenceWindow
    current: CurrentWindow
    verdict: Verdict
    drift: DriftReport
    prediction_drift: ColumnDrift | None
    distributions: Mapping[str, Distribution]
    quality: QualityReport | None
    actions: tuple[Action, ...] = ()
    json_path: Path | None = None
    html_path: Path | None = None

    @property
    def drifted(self) -> bool:
        """Return whether the dataset drifted."""
        return self.verdict.is_drifted

    @property
    def degraded(self) -> bool:
        """Return whether live quality degraded."""
        return self.verdict.is_degraded

    @property
    def retrainings(self) -> tuple[RetrainAction, ...]:
        """Return the retrainings this look triggered."""
        return tuple(a for a in self.actions if isinstance(a, RetrainAction))

    @property
    def alerts(self) -> tuple[AlertAction, ...]:
        """Return the alerts this look sent."""
        return tuple(a for a in self.actions if isinstance(a, AlertAction))

    def with_actions(self, *actions: Action) -> MonitorResult:
        """Return a copy with ``actions`` added after those already taken."""
        return replace(self, actions=(*self.actions, *actions))

    def written_to(self, json_path: Path, html_path: Path) -> MonitorResult:
        """Return a copy that knows where its reports were written."""
        return replace(self, json_path=json_path, html_path=html_path)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON report (``modelyard monitor --json``): NaN and infinities as null."""
        drift = self.drift.to_dict()
        drift["prediction"] = (
            None if self.prediction_drift is None else self.prediction_drift.to_dict()
        )
        return {
            "model": self.model.to_dict(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "reference": self.reference.to_dict(),
            "current": self.current.to_dict(),
            "verdict": self.verdict.to_dict(),
            "drift": drift,
            "distributions": {name: d.to_dict() for name, d in self.distributions.items()},
            "quality": None if self.quality is None else self.quality.to_dict(),
            "actions": [action.to_dict() for action in self.actions],
        }
