"""Canonical names for experiments, registered models and artifact paths (SR-9)."""

from __future__ import annotations

import re
import unicodedata

from modelyard.errors import ModelyardError, TrackingError

_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,128}")


def check_name(name: str, *, what: str, error: type[ModelyardError] = TrackingError) -> str:
    """Return ``name`` when it is NFC, 1-128 of ``[A-Za-z0-9._-]`` and not only dots."""
    if (
        not isinstance(name, str)
        or unicodedata.normalize("NFC", name) != name
        or not _NAME.fullmatch(name)
        or set(name) == {"."}
    ):
        raise error(
            f"Invalid {what} name {name!r}: use 1 to 128 letters, digits, '.', '_' or '-' "
            "(no spaces, slashes or percent-escapes)."
        )
    return name


def check_relative_path(
    path: str, *, what: str, error: type[ModelyardError] = TrackingError
) -> str:
    """Return ``path`` when it is a plain relative path of safe segments (no ``..``)."""
    segments = path.split("/") if isinstance(path, str) else [""]
    if not all(_SEGMENT.fullmatch(part) and set(part) != {"."} for part in segments):
        raise error(
            f"Invalid {what} {path!r}: use '/'-separated segments of letters, digits, '.', '_' "
            "or '-', with no '..', leading '/', backslash or percent-escape."
        )
    return path
