"""Durations written as in ``monitoring.window: 7d``: a number and a unit, ``s m h d w``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")


def parse_duration(text: str) -> timedelta:
    """Return the duration ``text`` names (``90s``, ``15m``, ``12h``, ``7d``, ``2w``).

    Raises:
        ValueError: ``text`` is not a positive number followed by one of ``s m h d w``.
    """
    match = _DURATION.fullmatch(text)
    if match is None or float(match[1]) <= 0:
        raise ValueError(
            f"{text!r} is not a duration: write a positive number and a unit, "
            "s, m, h, d or w (e.g. 7d for seven days, 12h for twelve hours)."
        )
    return timedelta(**{_UNITS[match[2]]: float(match[1])})


def check_duration(text: str | None) -> str | None:
    """Pydantic validator: ``text`` unchanged when it parses (or is None)."""
    if text is not None:
        parse_duration(text)
    return text
