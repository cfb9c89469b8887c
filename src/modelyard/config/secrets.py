"""Keep secrets out of every rendering of the config and out of logs.

A value is secret when it was interpolated from the environment (``${VAR}``), when its key is
named like a credential (``api_keys``, ``token``, ``password``...), or when it is the password
part of a URL (``postgresql://user:pw@host/db``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

MASK = "********"
_SECRET_KEY = re.compile(
    r"(^|_)(api_?keys?|keys?|tokens?|passwords?|passwd|secrets?|credentials?)$", re.IGNORECASE
)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<pw>[^@\s/]+)@")

KeyPath = tuple[str, ...]


def is_secret_key(key: str) -> bool:
    """Tell whether a key is named like a credential."""
    return bool(_SECRET_KEY.search(key))


def mask_url_passwords(text: str) -> str:
    """Replace the password in every ``scheme://user:password@`` of ``text``."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}:{MASK}@", text)


def mask(data: Any, secret_paths: Iterable[KeyPath] = (), _path: KeyPath = ()) -> Any:
    """Return a copy of ``data`` with every secret value replaced by a mask."""
    secret = set(secret_paths)
    if isinstance(data, dict):
        return {key: _mask_value(value, secret, (*_path, str(key))) for key, value in data.items()}
    if isinstance(data, list):
        return [_mask_value(v, secret, (*_path, str(i))) for i, v in enumerate(data)]
    if isinstance(data, str):
        return mask_url_passwords(data)
    return data


def _mask_value(value: Any, secret: set[KeyPath], path: KeyPath) -> Any:
    is_secret = path in secret or is_secret_key(path[-1])
    if is_secret and value not in (None, "", [], {}):
        return MASK
    return mask(value, secret, path)


def secret_values(data: Any, secret_paths: Iterable[KeyPath] = ()) -> set[str]:
    """Collect the plain-text secrets in ``data``, for redacting free text such as logs."""
    found: set[str] = set()
    original = _flatten(data)
    masked = _flatten(mask(data, secret_paths))
    for path, value in original.items():
        if isinstance(value, str) and value and masked.get(path) != value:
            found.add(value)
            found.update(m["pw"] for m in _URL_PASSWORD.finditer(value))
            found.update(part for part in value.split(",") if len(part.strip()) >= 4)
    return {s.strip() for s in found if s.strip()}


def _flatten(data: Any, path: KeyPath = ()) -> dict[KeyPath, Any]:
    if isinstance(data, dict):
        out: dict[KeyPath, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, (*path, str(key))))
        return out
    if isinstance(data, list):
        out = {}
        for index, value in enumerate(data):
            out.update(_flatten(value, (*path, str(index))))
        return out
    return {path: data}


class RedactingFilter(logging.Filter):
    """A logging filter that masks known secrets and URL passwords in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = mask_url_passwords(message)
        for secret in self.secrets:
            redacted = redacted.replace(secret, MASK)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
