"""API keys: one dependency, applied to the whole protected router.

With keys configured, a request must carry one of them as ``Authorization: Bearer <key>`` or
``X-API-Key: <key>``. Each presented key is compared with every configured key in constant time
(SHA-256 digests, so neither the keys nor their lengths leak through timing). Without keys the
dependency lets everything through; ``ServeSettings`` allows that on loopback only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence

from fastapi import Request

from modelyard.serving.problems import ApiError

SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def api_key_guard(keys: Sequence[str]) -> Callable[[Request], Awaitable[None]]:
    """Return the dependency that refuses requests without a valid key (401)."""
    digests = tuple(hashlib.sha256(key.encode()).digest() for key in keys)

    async def require_api_key(request: Request) -> None:
        if not digests:
            return
        presented = presented_key(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
        if presented is None or not matches(presented, digests):
            raise ApiError(
                401,
                "unauthorized",
                "Missing or invalid API key. Send it as 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )

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
