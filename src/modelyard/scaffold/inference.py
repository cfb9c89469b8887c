"""Infer a first project from a table: the task, each column's role, and its contract rules.

The rules, column by column (the target aside):

- **empty** (every value missing) or **constant** columns are left out of the features;
- **datetime** columns (datetime values, or text that is all ISO 8601 dates) are datetime
  features; the first one with no missing value and at least ``TIME_MIN_DISTINCT`` distinct
  values becomes ``data.timestamp``, and the split goes by time;
- **IDs**: text unique per row, or whole numbers unique per row that either have ``id``
  (``uuid``, ``guid``) as a word of their name or run almost consecutively. They are left out
  of the features and marked ``unique: true`` in the contract;
- **numbers** are numeric features; their contract range is the observed one widened by half
  its span on each side, with a floor of 0 for columns that hold no negative value;
- **booleans**, and text with at most ``MAX_ALLOWED`` distinct values, are categorical
  features, the text with those values as the contract's ``allowed`` list. Text with more
  values is categorical when its values repeat, and left out as free text when more than half
  of them are distinct. Rare categories are grouped at training time, so they are kept;
- a whole-number column with ``id`` in its name that is not unique (a store, a product) is
  categorical.

The task: two distinct target values make a binary classification; up to ``MAX_CLASSES``
discrete values (text, booleans, whole numbers) a multiclass one; anything else a regression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from modelyard.errors import DataError, did_you_mean
from modelyard.scaffold.column_types import contract_type, normalise_frame, numeric_range

if TYPE_CHECKING:
    import pandas as pd

Role = Literal["target", "id", "numeric", "categorical", "datetime", "excluded"]
Scalar = str | int | float | bool

MAX_CLASSES = 20
MAX_ALLOWED = 50
MIN_ROWS = 30
MIN_CLASS_ROWS = 3
TEXT_SHARE = 0.5
TIME_MIN_DISTINCT = 10
_ID_WORDS = frozenset({"id", "uuid", "guid"})


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """One column: its role in the project, its contract rule, and what the data showed.

    Attributes:
        name: The column name.
        role: ``target``, ``id``, ``numeric``, ``categorical``, ``datetime`` or ``excluded``.
        type: The contract type: int, float, string, bool, datetime or category.
        nullable: Whether the data holds missing values.
        unique: Whether the contract requires distinct values (IDs).
        min: The contract's lower bound (numbers), or None.
        max: The contract's upper bound (numbers), or None.
        allowed: The contract's allowed values, or None.
        missing: How many values are missing.
        distinct: How many distinct values there are.
        note: Why the column got its role, for the data dictionary.
    """

    name: str
    role: Role
    type: str
    nullable: bool = False
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[Scalar, ...] | None = None
    missing: int = 0
    distinct: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True)
class InferredProject:
    """What ``infer_project`` found: the task, every column's profile, and how to split.

    Attributes:
        task: ``binary_classification``, ``multiclass_classification`` or ``regression``.
        target: The target column.
        columns: One profile per column, in the data's order.
        timestamp: The column the split goes by, or None.
        split: The split strategy: ``time``, ``stratified`` or ``random``.
        rows: Rows kept (those with a target value).
        dropped: Rows left out because their target is missing.
    """

    task: str
    target: str
    columns: tuple[ColumnProfile, ...]
    timestamp: str | None
    split: str
    rows: int
    dropped: int = 0

    def names(self, role: Role) -> list[str]:
        """Return the columns that have ``role``, in the data's order."""
        return [column.name for column in self.columns if column.role == role]

    @property
    def min_rows(self) -> int:
        """The contract's smallest row count: a tenth of the rows seen, at least 1."""
        return max(1, self.rows // 10)


def infer_project(df: pd.DataFrame, target: str) -> tuple[InferredProject, pd.DataFrame]:
    """Infer the task and column roles of ``df``; return them with the frame to store.

    The frame returned has text dates parsed, mixed-type text columns as text, and no rows
    without a target value.

    Raises:
        DataError: ``target`` is not a column, the target has one value, or there are too
            few rows (or too few of a class) to train, validate and test.
    """
    columns = [str(column) for column in df.columns]
    if target not in columns:
        shown = ", ".join(columns[:30]) + (", ..." if len(columns) > 30 else "")
        raise DataError(
            f"No column {target!r} in the data to use as the target."
            f"{did_you_mean(target, columns)} Columns: {shown}. Pass one of them to --target."
        )
    frame = normalise_frame(df)
    has_target = frame[target].notna()
    dropped = int((~has_target).sum())
    frame = frame.loc[has_target].reset_index(drop=True)
    if len(frame) < MIN_ROWS:
        raise DataError(
            f"Only {len(frame)} rows have a value in {target!r}; training, validating and "
            f"testing a model needs at least {MIN_ROWS}. Give a larger dataset."
        )
    task = infer_task(frame[target], target)
    profiles = [
        _profile_target(frame[name], name, task) if name == target else profile_column(frame[name])
        for name in frame.columns
    ]
    if not any(p.role in {"numeric", "categorical", "datetime"} for p in profiles):
        raise DataError(
            f"No column besides the target {target!r} can be a feature (the others are IDs, "
            "empty, constant or free text). Give data with at least one usable column."
        )
    timestamp = next(
        (
            p.name
            for p in profiles
            if p.role == "datetime" and p.missing == 0 and p.distinct >= TIME_MIN_DISTINCT
        ),
        None,
    )
    counts = frame[target].value_counts()
    split = (
        "time"
        if timestamp
        else "random"
        if task == "regression" or counts.min() < MIN_CLASS_ROWS
        else "stratified"
    )
    inferred = InferredProject(
        task=task,
        target=target,
        columns=tuple(profiles),
        timestamp=timestamp,
        split=split,
        rows=len(frame),
        dropped=dropped,
    )
    return inferred, frame


def infer_task(values: pd.Series, name: str) -> str:
    """Return the task that predicting ``values`` is.

    Raises:
        DataError: The target has fewer than two distinct values, or a binary target has a
            class with fewer than ``MIN_CLASS_ROWS`` rows.
    """
    import pandas as pd

    present = values.dropna()
    counts = present.value_counts()
    if len(counts) < 2:
        shown = f" (every row is {counts.index[0]!r})" if len(counts) else ""
        raise DataError(
            f"The target {name!r} has {len(counts)} distinct value{shown}: there is nothing "
            "to learn. Choose a column whose values differ."
        )
    if len(counts) == 2:
        rare = counts.idxmin()
        if counts.min() < MIN_CLASS_ROWS:
            raise DataError(
                f"The target {name!r} has {counts.min()} row(s) of class {rare!r}; training, "
                f"validating and testing need at least {MIN_CLASS_ROWS} of each class."
            )
        return "binary_classification"
    numeric = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if not numeric:
        return "multiclass_classification"
    whole = bool((present.astype("float64") % 1 == 0).all())
    return "multiclass_classification" if whole and len(counts) <= MAX_CLASSES else "regression"


def profile_column(series: pd.Series) -> ColumnProfile:
    """Return the role and contract rule of one column that is not the target."""
    name = str(series.name)
    present = series.dropna()
    missing, distinct = len(series) - len(present), int(present.nunique())
    kind = contract_type(series)
    base: dict[str, Any] = {
        "name": name, "type": kind, "nullable": missing > 0, "missing": missing,
        "distinct": distinct,
    }  # fmt: skip
    if distinct == 0:
        return ColumnProfile(role="excluded", note="empty: every value is missing", **base)
    if distinct == 1:
        return ColumnProfile(role="excluded", note="constant: nothing to learn from", **base)
    if kind == "datetime":
        return ColumnProfile(role="datetime", note="split into hour, weekday and month", **base)
    if kind == "bool":
        return ColumnProfile(role="categorical", **base)
    if _is_id(present, name, kind, missing):
        return ColumnProfile(
            role="id", unique=True, note="unique per row: an identifier, not a feature", **base
        )
    if kind in {"int", "float"}:
        if kind == "int" and _has_id_name(name):
            return ColumnProfile(
                role="categorical", note="an identifier shared by rows: a category", **base
            )
        low, high = numeric_range(present, is_int=kind == "int")
        return ColumnProfile(role="numeric", min=low, max=high, **base)
    if distinct <= MAX_ALLOWED:
        allowed = tuple(sorted(str(value) for value in present.unique()))
        return ColumnProfile(role="categorical", allowed=allowed, **base)
    if distinct > TEXT_SHARE * len(present):
        note = f"free text or near-unique: {distinct:,} distinct values"
        return ColumnProfile(role="excluded", note=note, **base)
    note = f"{distinct:,} distinct values, so no allowed list"
    return ColumnProfile(role="categorical", note=note, **base)


def _is_id(present: pd.Series, name: str, kind: str, missing: int) -> bool:
    if missing or kind not in {"int", "string"} or present.nunique() != len(present):
        return False
    if kind == "string":
        return True
    low, high = int(present.min()), int(present.max())
    return _has_id_name(name) or high - low + 1 <= 1.1 * len(present)


def _has_id_name(name: str) -> bool:
    """Whether ``id``, ``uuid`` or ``guid`` is a word of ``name`` (snake, kebab or camel case)."""
    words = re.findall(r"[A-Z]{2,}(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[A-Z]", name)
    return any(word.lower() in _ID_WORDS for word in words)


def _profile_target(series: pd.Series, name: str, task: str) -> ColumnProfile:
    kind = contract_type(series)
    distinct = int(series.nunique())
    base: dict[str, Any] = {"name": name, "role": "target", "type": kind, "distinct": distinct}
    if task == "regression":
        low, high = numeric_range(series, is_int=kind == "int")
        return ColumnProfile(min=low, max=high, note="what the model predicts", **base)
    allowed = None
    if kind != "bool" and distinct <= MAX_ALLOWED:
        values = [value.item() if hasattr(value, "item") else value for value in series.unique()]
        allowed = tuple(sorted(values))
    note = f"what the model predicts: {distinct} classes"
    return ColumnProfile(allowed=allowed, note=note, **base)
