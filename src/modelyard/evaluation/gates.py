"""Promotion gates: absolute thresholds on metrics, and the champion/challenger comparison.

Every gate yields a ``GateResult`` whose ``margin`` is the room to spare: positive (or zero)
when the gate passes, negative when it fails, in the metric's units, whatever the direction.
A gate never raises on a metric that was not computed: it fails, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from modelyard.errors import TrainingError, did_you_mean
from modelyard.evaluation.metrics import is_higher_better

Bound = Literal["min", "max", "champion"]


@dataclass(frozen=True, slots=True)
class GateResult:
    """The outcome of one gate.

    Attributes:
        name: What the gate checks, e.g. ``"min roc_auc"``.
        metric: The metric it reads.
        bound: ``"min"``, ``"max"`` or ``"champion"``.
        threshold: The value to reach; for ``champion``, the champion's value moved by the
            required improvement. None when there is no champion.
        value: The model's value; None when the metric was not computed.
        passed: Whether the gate passed.
        margin: Room to spare, positive when passing; None when there was nothing to compare.
        reference: For ``champion``: the champion's own value.
        note: Extra detail for the message (why a metric is missing).
    """

    name: str
    metric: str
    bound: Bound
    threshold: float | None
    value: float | None
    passed: bool
    margin: float | None
    reference: float | None = None
    note: str = ""

    @property
    def message(self) -> str:
        """Return one sentence saying what was compared and how it went."""
        if self.value is None:
            text = f"{self.metric} was not computed, so the gate {self.name!r} fails."
        elif self.bound == "champion":
            text = self._champion_message(self.value)
        elif self.threshold is None or self.margin is None:
            text = f"{self.metric} {_fmt(self.value)} cannot be compared with {self.name!r}."
        elif self.passed:
            limit = f"{self.bound} {_fmt(self.threshold)}"
            text = f"{self.metric} {_fmt(self.value)} passes {limit} ({_signed(self)})"
        else:
            side, limit = ("below", "minimum") if self.bound == "min" else ("above", "maximum")
            by = "short" if self.bound == "min" else "over"
            text = (
                f"{self.metric} {_fmt(self.value)} is {side} the {limit} "
                f"{_fmt(self.threshold)} ({by} by {_fmt(-self.margin)})"
            )
        return f"{text} {self.note}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-serialisable mapping, with its message."""
        return {
            "name": self.name,
            "metric": self.metric,
            "bound": self.bound,
            "threshold": self.threshold,
            "value": self.value,
            "passed": self.passed,
            "margin": self.margin,
            "reference": self.reference,
            "note": self.note,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        """Rebuild a result from ``to_dict`` output (the message is derived, not read)."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})

    def _champion_message(self, value: float) -> str:
        if self.reference is None or self.threshold is None or self.margin is None:
            return f"{self.metric} {_fmt(value)}: no champion yet, so it passes."
        sign = 1.0 if is_higher_better(self.metric) else -1.0
        needed = sign * (self.threshold - self.reference)
        gain = self.margin + needed
        if self.passed and gain < 0:  # a negative min_delta tolerates a small regression
            return (
                f"{self.metric} {_fmt(value)} is within the allowed {_fmt(-needed)} of the "
                f"champion's {_fmt(self.reference)} (worse by {_fmt(-gain)})"
            )
        if self.passed:
            return (
                f"{self.metric} {_fmt(value)} beats the champion's {_fmt(self.reference)} by "
                f"{_fmt(gain)} (needed {_fmt(needed)})"
            )
        change = f"improved by {_fmt(gain)}" if gain >= 0 else f"worse by {_fmt(-gain)}"
        return (
            f"{self.metric} {_fmt(value)} does not beat the champion's {_fmt(self.reference)} "
            f"by the required {_fmt(needed)} ({change})"
        )


@dataclass(frozen=True, slots=True)
class GateReport:
    """Every gate a model went through.

    Attributes:
        results: One result per gate, in the order they were checked.
    """

    results: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        """Whether every gate passed (true when there were no gates)."""
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[GateResult, ...]:
        """The gates that failed."""
        return tuple(result for result in self.results if not result.passed)

    def summary(self) -> str:
        """Return a verdict line, then one line per gate."""
        if not self.results:
            return "No gates configured: passed."
        failed = len(self.failures)
        verdict = "passed" if self.passed else f"FAILED ({failed} of {len(self.results)})"
        lines = [f"Gates {verdict}:"]
        lines += [
            f"  {'pass' if result.passed else 'FAIL'}  {result.message}" for result in self.results
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable mapping."""
        return {"passed": self.passed, "results": [result.to_dict() for result in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateReport:
        """Rebuild a report from ``to_dict`` output."""
        return cls(tuple(GateResult.from_dict(item) for item in data["results"]))


def check_gates(
    metrics: Mapping[str, float],
    gates: Mapping[str, tuple[float | None, float | None]],
) -> list[GateResult]:
    """Check ``metrics`` against absolute bounds.

    Args:
        metrics: Metric name -> value, as from ``compute_metrics``.
        gates: Metric name -> ``(min, max)``; either bound may be None. A value equal to a
            bound passes.

    Returns:
        One result per bound that is set, in the order of ``gates`` (min before max).

    Raises:
        TrainingError: A gate sets neither bound.
    """
    results: list[GateResult] = []
    for metric, (minimum, maximum) in gates.items():
        if minimum is None and maximum is None:
            raise TrainingError(
                f"The gate on {metric!r} sets neither min nor max. "
                "Set one (e.g. roc_auc: {min: 0.7}) or remove the gate."
            )
        if minimum is not None:
            results.append(_check_bound(metrics, metric, "min", float(minimum)))
        if maximum is not None:
            results.append(_check_bound(metrics, metric, "max", float(maximum)))
    return results


def compare_with_champion(
    metric: str, challenger: float, champion: float | None, *, min_delta: float
) -> GateResult:
    """Check that ``challenger`` beats ``champion`` on ``metric`` by at least ``min_delta``.

    Args:
        metric: The metric compared; its direction comes from ``HIGHER_IS_BETTER``.
        challenger: The new model's value.
        champion: The champion's value on the same test data; None when there is no champion.
        min_delta: The improvement required, in the metric's units (0: a tie passes; a
            negative value tolerates a small regression).

    Raises:
        TrainingError: ``metric`` is not a known metric.
    """
    sign = 1.0 if is_higher_better(metric) else -1.0
    name = f"champion {metric}"
    if champion is None:
        return GateResult(name, metric, "champion", None, challenger, True, None)
    threshold = champion + sign * min_delta
    margin = sign * (challenger - threshold)
    if math.isnan(margin):
        return GateResult(name, metric, "champion", threshold, None, False, None, champion)
    passed = margin >= 0
    return GateResult(name, metric, "champion", threshold, challenger, passed, margin, champion)


def _check_bound(
    metrics: Mapping[str, float], metric: str, bound: Literal["min", "max"], threshold: float
) -> GateResult:
    name = f"{bound} {metric}"
    value = metrics.get(metric)
    if value is None or math.isnan(value):
        note = _missing_note(metric, metrics) if value is None else "Its value is NaN."
        return GateResult(name, metric, bound, threshold, None, False, None, note=note)
    margin = value - threshold if bound == "min" else threshold - value
    return GateResult(name, metric, bound, threshold, float(value), margin >= 0, margin)


def _missing_note(metric: str, metrics: Mapping[str, float]) -> str:
    hint = did_you_mean(metric, metrics).strip()
    if hint:
        return hint + " Fix the gate's metric name."
    known = ", ".join(sorted(metrics)) or "none"
    return (
        f"Computed metrics: {known}. Gate on one of them, or check why it is undefined "
        "(e.g. roc_auc needs both classes in the test data)."
    )


def _fmt(value: float) -> str:
    value += 0.0  # -0.0 would print as "-0.000"
    return f"{value:.3f}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.3g}"


def _signed(result: GateResult) -> str:
    diff = (result.value or 0.0) - (result.threshold or 0.0)
    return ("+" if diff >= 0 else "-") + _fmt(abs(diff))
