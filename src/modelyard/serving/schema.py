"""Request shapes generated from a version's ``features.json``, and the documented responses.

A prediction request is ``{"records": [record, ...]}`` (1 to ``max_batch_rows`` records). Each
record has exactly the model's input columns: a field per column, typed by the column's
contract type (``int``, ``float``, ``string``, ``category``, ``bool``, ``datetime``), bounded
by its ``min``/``max``, limited to its ``allowed`` values, ``null`` only where it is nullable.
Every field is required (send ``null`` for a missing value) and unknown fields are refused.
Validation is strict and reads numbers as JSON Schema does: ``"5"`` is not a number, ``true``
is not 1, ``5.0`` is the integer 5 and ``5.5`` is not an integer.

Records validate to plain dicts (pydantic ``TypedDict``), which go straight into the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from modelyard.features.bundle import ColumnRule

MAX_TEXT_LENGTH = 1024
REQUEST_ID_PATTERN = r"^[0-9a-f]{32}$"

_PYTHON_TYPES: dict[str, type] = {
    "int": int,
    "float": float,
    "string": str,
    "category": str,
    "bool": bool,
    "datetime": dt.datetime,
}


def record_type(columns: Sequence[ColumnRule]) -> Any:
    """Return a ``TypedDict`` with one required, typed and bounded field per column."""
    return _typed_dict("Record", {column.name: _field_type(column) for column in columns})


def request_adapter(columns: Sequence[ColumnRule], *, max_rows: int) -> TypeAdapter[Any]:
    """Return the validator of a prediction request body: ``{"records": [...]}``."""
    record = record_type(columns)
    records = Annotated[list[record], Field(min_length=1, max_length=max_rows)]  # type: ignore[valid-type]
    return TypeAdapter(_typed_dict("PredictRequest", {"records": records}))


def feedback_adapter(
    task: str, classes: Sequence[Any] | None, *, max_rows: int
) -> TypeAdapter[Any]:
    """Return the validator of a feedback body: ``{"request_id", "label", "row"?}``.

    A classifier's label must be one of its classes; a regressor's, a finite number.
    """
    label: Any
    if task == "regression":
        label = Annotated[float, Field(allow_inf_nan=False)]
    elif classes:
        label = Literal[tuple(classes)]
        if _has_numbers(classes):
            label = Annotated[label, _json_numbers(classes)]
    else:
        label = str | int | bool
    row = Annotated[Annotated[int, Field(ge=0, lt=max_rows)], _json_numbers(None)]
    fields = {
        "request_id": Annotated[str, Field(pattern=REQUEST_ID_PATTERN)],
        "label": label,
        "row": NotRequired[row],
    }
    return TypeAdapter(_typed_dict("Feedback", fields))


def example_record(columns: Sequence[ColumnRule], example: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``example`` with integral floats of ``int`` columns as ints, so it validates."""
    fixed = dict(example)
    for column in columns:
        value = fixed.get(column.name)
        if column.type == "int" and isinstance(value, float) and value.is_integer():
            fixed[column.name] = int(value)
    return fixed


def _typed_dict(name: str, fields: dict[str, Any]) -> Any:
    """Return a ``TypedDict`` class made at run time, strict and closed to unknown keys."""
    make: Any = TypedDict
    typed = make(name, fields)
    typed.__pydantic_config__ = ConfigDict(extra="forbid", strict=True, title=name)
    return typed


def _field_type(column: ColumnRule) -> Any:
    python_type = _PYTHON_TYPES.get(column.type, str)
    base: Any
    if column.allowed is not None:
        base = Literal[tuple(column.allowed)]
    elif python_type in (int, float):
        bounds = {"ge": column.min, "le": column.max}
        constraints: dict[str, Any] = {k: v for k, v in bounds.items() if v is not None}
        if python_type is float:
            constraints["allow_inf_nan"] = False
        base = Annotated[python_type, Field(**constraints)]
    elif python_type is str:
        base = Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]
    else:
        base = python_type
    if column.nullable:
        base = base | None
    description = Field(description=f"{column.kind} feature ({column.type})")
    if python_type is int or _has_numbers(column.allowed):
        return Annotated[base, _json_numbers(column.allowed), description]
    return Annotated[base, description]


def _json_numbers(allowed: Sequence[Any] | None) -> BeforeValidator:
    """JSON Schema's reading of numbers: ``3.0`` is the integer 3, ``true`` is not 1.

    (pydantic's strict mode refuses ``3.0`` for an int, and its ``Literal[0, 1]`` takes
    ``false``, since ``False == 0`` in Python.)
    """
    takes_bools = allowed is not None and any(isinstance(value, bool) for value in allowed)

    def validate(value: Any) -> Any:
        if isinstance(value, bool) and not takes_bools:
            raise ValueError("expected a number, not true or false")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    return BeforeValidator(validate)


def _has_numbers(allowed: Sequence[Any] | None) -> bool:
    return allowed is not None and any(
        isinstance(value, int | float) and not isinstance(value, bool) for value in allowed
    )


# --- documented responses (the handlers write JSON themselves, for speed) ------------------------


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelId(_Doc):
    name: str
    version: int


class Prediction(_Doc):
    """A classifier answers ``label`` and ``probabilities`` (by class); a regressor ``value``."""

    label: str | int | float | bool | None = None
    probabilities: dict[str, float] | None = None
    value: float | None = None


class PredictResponse(_Doc):
    request_id: str = Field(description="Also in the X-Request-ID header; quote it in feedback.")
    model: ModelId
    predictions: list[Prediction] = Field(description="One per record, in request order.")


class FeedbackResponse(_Doc):
    request_id: str
    accepted: bool
    matched: bool = Field(
        description="Whether this server process answered that request id recently; unmatched "
        "labels are kept too, flagged, for monitoring to reconcile with the prediction log."
    )


class ModelDescription(BaseModel):
    """``GET /v1/model``: what is serving now."""

    name: str
    version: int
    alias: str | None
    runtime: Literal["onnx", "native"] | str
    task: str
    classes: list[Any] | None
    card: dict[str, Any]
    inputs: list[dict[str, Any]]
