"""API keys with scopes: one check, applied to each protected router and to the predict fast path.

With keys configured, a request must carry one as ``Authorization: Bearer <key>`` or
``X-API-Key: <key>``. A key from ``serving.api_keys`` opens every route (scopes ``predict``
and ``metrics``); a key from ``serving.metrics_keys`` opens ``/metrics`` only, so the key
Prometheus holds cannot call the model (403 elsewhere). Each presented key is compared with
every configured key in constant time (SHA-256 digests, so neither the keys nor their lengths
leak through timing). Without keys the check lets everything through; ``ServeSettings``
allows that on loopback only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from fastapi import Request

from modelyard.serving.problems import ApiError

Scope = Literal["predict", "metrics"]
SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


class ApiKeys:
    """The configured keys, kept as SHA-256 digests.

    Args:
        keys: Keys with every scope; none (and no ``metrics_keys``) lets every request through.
        metrics_keys: Keys with the ``metrics`` scope only.
    """

    def __init__(self, keys: Sequence[str], metrics_keys: Sequence[str] = ()) -> None:
        self.digests = tuple(_digest(key) for key in keys)
        self.metrics_digests = tuple(_digest(key) for key in metrics_keys)
        self.is_enabled = bool(self.digests or self.metrics_digests)

    def check(
        self, authorization: str | None, api_key: str | None, scope: Scope = "predict"
    ) -> None:
        """Pass a request presenting these header values for ``scope``, or refuse it.

        Raises:
            ApiError: 401, no valid key was presented; 403, the key lacks ``scope``.
        """
        if not self.is_enabled:
            return
        presented = presented_key(authorization, api_key)
        if presented is not None:
            if matches(presented, self.digests):
                return
            if matches(presented, self.metrics_digests):
                if scope == "metrics":
                    return
                raise ApiError(
                    403,
                    "forbidden",
                    "This key may only scrape /metrics (serving.metrics_keys); use a key from "
                    "serving.api_keys for this route.",
                )
        raise ApiError(
            401,
            "unauthorized",
            "Missing or invalid API key. Send it as 'Authorization: Bearer <key>' or "
            "'X-API-Key: <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def is_known(self, authorization: str | None, api_key: str | None) -> bool:
        """Tell whether the request presents any configured key (or none are configured)."""
        if not self.is_enabled:
            return True
        presented = presented_key(authorization, api_key)
        return presented is not None and matches(presented, self.digests + self.metrics_digests)


def api_key_guard(
    keys: ApiKeys | Sequence[str], scope: Scope = "predict"
) -> Callable[[Request], Awaitable[None]]:
    """Return the dependency that refuses requests without a valid key for ``scope``."""
    checker = keys if isinstance(keys, ApiKeys) else ApiKeys(keys)

    async def require_api_key(request: Request) -> None:
        checker.check(request.headers.get("authorization"), request.headers.get("x-api-key"), scope)

    return require_api_key


def presented_key(authorization: str | None, api_key: str | None) -> str | None:
    """Return the key a request presents, if any."""
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    return api_key or None


def matches(presented: str, digests: Sequence[bytes]) -> bool:
    """Compare ``presented`` with every key digest, without stopping at the first match."""
    digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
    found = False
    for expected in digests:
        found |= hmac.compare_digest(digest, expected)
    return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
