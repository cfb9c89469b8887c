"""Move the champion alias by hand: promote (gates re-checked unless forced) and roll back.

Before any move, the target version's files are downloaded and checked against their SHA-256
manifest, as serving does before it loads them; ``--force`` skips the gates, never this check,
so the registry cannot point an alias at a version every server would refuse. Every move records
who made it, why, when, and which version was champion before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.errors import ArtifactIntegrityError, RegistryError
from modelyard.pipelines.registry_steps import CHALLENGER, CHAMPION, score_version
from modelyard.pipelines.train import prepare_splits

if TYPE_CHECKING:
    from modelyard.evaluation.gates import GateReport
    from modelyard.pipelines.specs import TrainSpecs
    from modelyard.tracking.registry import Registry


@dataclass(frozen=True, slots=True)
class Move:
    """An alias moved from one version to another."""

    model: str
    alias: str
    version: int
    previous: int | None
    by: str
    reason: str
    forced: bool
    gates: GateReport | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "version": self.version,
            "previous": self.previous,
            "by": self.by,
            "reason": self.reason,
            "forced": self.forced,
            "gates": None if self.gates is None else self.gates.to_dict(),
        }


def promote(
    s: TrainSpecs,
    registry: Registry,
    version: int,
    *,
    alias: str = CHAMPION,
    force: bool = False,
    by: str,
    reason: str,
) -> Move:
    """Point ``alias`` at ``version``; for the champion, its gates must pass unless forced.

    The gates are checked now, on the project's current test split: the absolute gates, and
    beating the current champion scored on the same rows.

    Raises:
        ModelNotFoundError: no such model or version.
        ArtifactIntegrityError: the version's files fail their manifest (forced or not); the
            message names the file, and the alias is left where it was.
        RegistryError: the version fails a gate (the message lists which, and by how much).
    """
    from modelyard.evaluation.gates import GateReport, check_gates, compare_with_champion

    registry.version(s.model_name, version)
    previous = registry.get_alias(s.model_name, alias)
    _verify(registry, s.model_name, version, alias=alias, current=previous)
    report = None
    if alias == CHAMPION and not force and previous != version:
        test = prepare_splits(s)["test"]
        metrics = score_version(s.gate, registry, version, test)
        if metrics is None:
            raise RegistryError(
                f"Version {version} of {s.model_name!r} cannot be scored on the current test "
                "data (see the warning above); pass --force to promote it anyway."
            )
        results = check_gates(metrics, s.gate.gates)
        metric = s.gate.champion_metric
        champion_value = None
        if previous is not None:
            scored = score_version(s.gate, registry, previous, test)
            champion_value = None if scored is None else scored.get(metric)
        results.append(
            compare_with_champion(
                metric, metrics.get(metric, float("nan")), champion_value,
                min_delta=s.gate.champion_min_delta,
            )
        )  # fmt: skip
        report = GateReport(tuple(results))
        if not report.passed:
            failed = "; ".join(result.message for result in report.failures)
            raise RegistryError(
                f"Refusing to make version {version} of {s.model_name!r} {alias}: {failed}. "
                "Pass --force (with --reason) to promote it anyway; the override is recorded."
            )
    return _move(
        s, registry, alias, version, previous, by=by, reason=reason, forced=force, gates=report
    )


def rollback(
    s: TrainSpecs, registry: Registry, *, to: int | None = None, by: str, reason: str
) -> Move:
    """Point the champion back at the version it replaced (or at ``to``).

    Raises:
        RegistryError: there is no champion, or no earlier champion was recorded and ``to``
            is not given.
        ArtifactIntegrityError: the version to go back to fails its manifest (the champion
            stays where it is).
    """
    current = registry.get_alias(s.model_name, CHAMPION)
    if current is None:
        raise RegistryError(
            f"{s.model_name!r} has no champion to roll back. Promote one with "
            "`modelyard models promote`."
        )
    if to is None:
        recorded = registry.version(s.model_name, current).tags.get("modelyard.previous_champion")
        if not recorded:
            raise RegistryError(
                f"Version {current} of {s.model_name!r} recorded no earlier champion. "
                "Name the version to roll back to with --to VERSION."
            )
        to = int(recorded)
    registry.version(s.model_name, to)
    _verify(registry, s.model_name, to, alias=CHAMPION, current=current)
    return _move(s, registry, CHAMPION, to, current, by=by, reason=reason, forced=False, gates=None)


def _verify(
    registry: Registry, name: str, version: int, *, alias: str, current: int | None
) -> None:
    """Refuse a version whose files do not verify, before the alias moves."""
    try:
        registry.verify(name, version)
    except ArtifactIntegrityError as exc:
        stays = f"stays on version {current}" if current is not None else "stays unset"
        raise ArtifactIntegrityError(
            f"Refusing to make version {version} of {name!r} {alias}. {exc} The {alias} alias "
            f"{stays}; --force skips the gates, never this check. Register a good copy with "
            "`modelyard train`."
        ) from exc


def _move(
    s: TrainSpecs,
    registry: Registry,
    alias: str,
    version: int,
    previous: int | None,
    *,
    by: str,
    reason: str,
    forced: bool,
    gates: GateReport | None,
) -> Move:
    registry.set_alias(s.model_name, alias, version)
    if alias == CHAMPION and registry.get_alias(s.model_name, CHALLENGER) == version:
        registry.delete_alias(s.model_name, CHALLENGER)
    tags: dict[str, object] = {
        f"modelyard.{alias}_by": by,
        f"modelyard.{alias}_reason": reason,
        f"modelyard.{alias}_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        f"modelyard.{alias}_forced": forced,
    }
    if alias == CHAMPION and previous is not None and previous != version:
        tags["modelyard.previous_champion"] = previous
    registry.set_version_tags(s.model_name, version, tags)
    return Move(s.model_name, alias, version, previous, by, reason, forced, gates)
