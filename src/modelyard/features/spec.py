"""Which columns a model reads, by kind: a plain value, cheap to import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelyard.errors import FeatureError

KINDS = ("numeric", "categorical", "ordinal", "datetime")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """The feature columns of a model, by kind, and how to encode them.

    Attributes:
        numeric: Columns read as numbers: median-imputed, then standardised.
        categorical: Columns read as text and one-hot encoded.
        ordinal: Columns read as text and encoded as integers (sorted order; unseen -> -1).
        datetime: Columns split into hour, weekday and month.
        scale_numeric: Whether to standardise numeric columns.
        rare_min_frequency: Share of training rows (0 to 1) below which a category is
            grouped with the other rare ones.
    """

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    ordinal: tuple[str, ...] = ()
    datetime: tuple[str, ...] = ()
    scale_numeric: bool = True
    rare_min_frequency: float = 0.01

    def __post_init__(self) -> None:
        for kind in ("numeric", "categorical", "ordinal", "datetime"):
            value = getattr(self, kind)
            if isinstance(value, str):
                raise FeatureError(
                    f"FeatureSpec.{kind} must be a list of column names, got the string "
                    f"{value!r}. Write ({value!r},) or [{value!r}]."
                )
            object.__setattr__(self, kind, tuple(value))
        seen: dict[str, str] = {}
        for kind in ("numeric", "categorical", "ordinal", "datetime"):
            for column in getattr(self, kind):
                if column in seen:
                    raise FeatureError(
                        f"Feature column {column!r} is listed as {seen[column]} and as {kind}. "
                        "List each column under one kind only."
                    )
                seen[column] = kind
        if not 0.0 <= self.rare_min_frequency < 1.0:
            raise FeatureError(
                f"rare_min_frequency must be a share of rows from 0 to 1 (exclusive), got "
                f"{self.rare_min_frequency!r}. Use e.g. 0.01 to group categories under 1%."
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column: numeric, then categorical, ordinal and datetime."""
        return self.numeric + self.categorical + self.ordinal + self.datetime

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data that ``from_dict`` reads back."""
        return {
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "ordinal": list(self.ordinal),
            "datetime": list(self.datetime),
            "scale_numeric": self.scale_numeric,
            "rare_min_frequency": self.rare_min_frequency,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Rebuild a spec from ``to_dict`` output (a version's ``features.json``)."""
        return cls(
            **{kind: tuple(data.get(kind, ())) for kind in KINDS},
            scale_numeric=bool(data.get("scale_numeric", True)),
            rare_min_frequency=float(data.get("rare_min_frequency", 0.01)),
        )
