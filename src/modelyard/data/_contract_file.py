"""Read a contract YAML file into checked fields, collecting every problem before raising.

Each problem names the file, line and key, the offending value and the fix; all of them go
into one ``ContractError``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypedDict

from modelyard.config.yamlfile import KeyPath, read_yaml
from modelyard.errors import (
    ConfigError,
    ConfigNotFoundError,
    ConfigValueError,
    ContractError,
    describe,
    did_you_mean,
)

TYPES = ("int", "float", "string", "bool", "datetime", "category")
_TOP_KEYS = ("columns", "rows", "freshness", "strict")
_COLUMN_KEYS = ("type", "nullable", "required", "unique", "min", "max", "allowed")
_BOUND_KEYS = ("min", "max")
_FRESHNESS_KEYS = ("column", "max_age")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_NUMERIC = ("int", "float")
_COLUMNS_EXAMPLE = "{carrier: {type: string}, distance: {type: float, min: 0}}"


class ColumnFields(TypedDict):
    name: str
    type: Any  # one of TYPES; contract.ColumnType narrows it
    nullable: bool
    required: bool
    unique: bool
    min: float | None
    max: float | None
    allowed: tuple[str | int | float | bool, ...] | None


class FreshnessFields(TypedDict):
    column: str
    max_age: timedelta


class ContractFields(TypedDict):
    columns: list[ColumnFields]
    min_rows: int | None
    max_rows: int | None
    freshness: FreshnessFields | None
    strict: bool


def parse_contract(path: Path) -> ContractFields:
    """Return the checked fields of the contract at ``path``.

    Raises:
        ContractError: The file is missing, is not a YAML mapping, or breaks the format.
    """
    try:
        data, lines = read_yaml(path, what="data contract")
    except ConfigNotFoundError as exc:
        raise ContractError(
            f"No data contract at {str(path)!r}. Check data.contract in modelyard.yaml "
            "(paths are relative to the project), or create the file."
        ) from exc
    except ConfigValueError as exc:  # the top level is not a mapping
        raise ContractError(
            f"Invalid data contract: {exc.problems[0]}. Write a mapping with a columns: key, "
            f"like columns: {_COLUMNS_EXAMPLE}."
        ) from exc
    except ConfigError as exc:
        raise ContractError(f"Invalid data contract: {exc}") from exc
    reader = _Reader(path, lines)
    fields = reader.contract(data)
    if len(reader.problems) == 1:
        raise ContractError(f"Invalid data contract: {reader.problems[0]}")
    if reader.problems:
        body = "\n".join(f"  - {problem}" for problem in reader.problems)
        raise ContractError(
            f"Invalid data contract {str(path)!r} ({len(reader.problems)} problems):\n{body}"
        )
    return fields


class _Reader:
    """Walks the parsed YAML, noting each problem with its file, line and key."""

    def __init__(self, path: Path, lines: Mapping[KeyPath, int]) -> None:
        self.path, self.lines = path, lines
        self.problems: list[str] = []

    def fail(self, keys: KeyPath, message: str) -> None:
        line = next(
            (self.lines[keys[:n]] for n in range(len(keys), 0, -1) if keys[:n] in self.lines), None
        )
        where = f"{self.path}:{line}" if line else str(self.path)
        self.problems.append(f"{where}: {'.'.join(keys) or '(top level)'}: {message}")

    def contract(self, data: Mapping[str, Any]) -> ContractFields:
        self.known_keys((), data, _TOP_KEYS)
        columns = [
            column
            for name, spec in self.mapping(
                ("columns",), data.get("columns"), _COLUMNS_EXAMPLE, required=True
            ).items()
            if (column := self.column(name, spec)) is not None
        ]
        rows = self.mapping(("rows",), data.get("rows"), "{min: 1000, max: 1000000}")
        self.known_keys(("rows",), rows, _BOUND_KEYS)
        low, high = (self.count(("rows", key), rows.get(key)) for key in _BOUND_KEYS)
        self.ordered(("rows",), low, high)
        return ContractFields(
            columns=columns,
            min_rows=low,
            max_rows=high,
            freshness=self.freshness(data.get("freshness"), columns),
            strict=self.flag(("strict",), data.get("strict"), default=False),
        )

    def column(self, name: str, spec: Any) -> ColumnFields | None:
        keys = ("columns", name)
        if isinstance(spec, str):
            spec = {"type": spec}  # shorthand: `carrier: string`
        if not isinstance(spec, dict):
            self.fail(
                keys,
                "expected a type name or a mapping like {type: float, min: 0}, "
                f"found {describe(spec)}.",
            )
            return None
        self.known_keys(keys, spec, _COLUMN_KEYS)
        kind = spec.get("type")
        if kind not in TYPES:
            hint = did_you_mean(str(kind), TYPES) if kind is not None else ""
            problem = "missing key 'type'" if kind is None else f"unknown type {kind!r}"
            self.fail((*keys, "type"), f"{problem}.{hint} Types: {', '.join(TYPES)}.")
            return None
        low, high = (self.bound((*keys, key), spec.get(key), kind) for key in _BOUND_KEYS)
        self.ordered(keys, low, high)
        return ColumnFields(
            name=name,
            type=kind,
            nullable=self.flag((*keys, "nullable"), spec.get("nullable"), default=False),
            required=self.flag((*keys, "required"), spec.get("required"), default=True),
            unique=self.flag((*keys, "unique"), spec.get("unique"), default=False),
            min=low,
            max=high,
            allowed=self.allowed((*keys, "allowed"), spec.get("allowed"), kind),
        )

    def freshness(self, value: Any, columns: list[ColumnFields]) -> FreshnessFields | None:
        keys = ("freshness",)
        spec = self.mapping(keys, value, "{column: time_hour, max_age: 2d}")
        if not spec:
            return None
        self.known_keys(keys, spec, _FRESHNESS_KEYS)
        column, age = spec.get("column"), spec.get("max_age")
        kinds = {c["name"]: c["type"] for c in columns}
        if not isinstance(column, str) or column not in kinds:
            problem = (
                "missing key."
                if column is None
                else f"{column!r} is not a column of this contract."
            )
            hint = did_you_mean(str(column), kinds) if column is not None else ""
            self.fail(
                (*keys, "column"),
                f"{problem}{hint or ' Name one of the datetime columns listed under columns.'}",
            )
        elif kinds[column] != "datetime":
            self.fail(
                (*keys, "column"),
                f"{column!r} has type {kinds[column]!r}; "
                "freshness needs a column of type datetime.",
            )
        match = _AGE.match(age) if isinstance(age, str) else None
        if match is None or float(match[1]) == 0:
            problem = "missing key." if age is None else f"{age!r} is not a positive duration."
            self.fail(
                (*keys, "max_age"),
                f"{problem} Write a number and a unit (s, m, h, d or w), e.g. '2d'.",
            )
            return None
        max_age = timedelta(**{_UNITS[match[2]]: float(match[1])})
        return FreshnessFields(column=str(column), max_age=max_age)

    def mapping(
        self, keys: KeyPath, value: Any, example: str, *, required: bool = False
    ) -> dict[str, Any]:
        if isinstance(value, dict) and (value or not required):
            return value
        if value is None and not required:
            return {}
        found = "nothing" if value is None or value == {} else describe(value)
        self.fail(keys, f"expected a mapping, found {found}. Write it like {keys[-1]}: {example}.")
        return {}

    def known_keys(self, keys: KeyPath, spec: Mapping[str, Any], known: tuple[str, ...]) -> None:
        for key in spec:
            if key not in known:
                hint = did_you_mean(key, known) or f" Allowed keys here: {', '.join(known)}."
                self.fail((*keys, key), f"unknown key {key!r}.{hint}")

    def flag(self, keys: KeyPath, value: Any, *, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(
                keys,
                f"expected true or false, found {describe(value)}. Write true or false, unquoted.",
            )
            return default
        return value

    def count(self, keys: KeyPath, value: Any) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        self.fail(
            keys,
            f"expected a whole number >= 0, found {describe(value)}. "
            f"Write it like {keys[-1]}: 1000.",
        )
        return None

    def bound(self, keys: KeyPath, value: Any, kind: str) -> float | None:
        if value is None:
            return None
        if kind not in _NUMERIC:
            self.fail(
                keys,
                f"{keys[-1]} applies to int and float columns, not {kind}. "
                "Remove it, or list the valid values with allowed: [...].",
            )
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.fail(
                keys, f"expected a number, found {describe(value)}. Write it like {keys[-1]}: 0."
            )
            return None
        return value

    def ordered(self, keys: KeyPath, low: float | None, high: float | None) -> None:
        if low is not None and high is not None and low > high:
            self.fail(
                (*keys, "min"),
                f"min {low!r} is greater than max {high!r}. "
                "Swap them, or fix the one that is wrong.",
            )

    def allowed(self, keys: KeyPath, value: Any, kind: str) -> tuple[Any, ...] | None:
        if value is None:
            return None
        if kind == "datetime":
            self.fail(keys, "allowed does not apply to datetime columns. Remove it.")
            return None
        if not isinstance(value, list) or not value:
            self.fail(
                keys,
                f"expected a non-empty list of {kind} values, found {describe(value)}. "
                "Write it like allowed: [UA, AA, B6].",
            )
            return None
        for item in value:
            if _is_kind(item, kind):
                continue
            fix = ""
            if kind in {"string", "category"}:
                fix = " Quote it, so YAML keeps it a string"
                fix += (
                    " (unquoted yes, no, on and off read as booleans)."
                    if isinstance(item, bool)
                    else "."
                )
            self.fail(keys, f"{item!r} is not a {kind} value.{fix}")
        return tuple(value)


def _is_kind(value: Any, kind: str) -> bool:
    if kind in {"string", "category"}:
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == "int" else isinstance(value, int | float)
