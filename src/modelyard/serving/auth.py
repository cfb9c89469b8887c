"""API keys: one check, applied to the whole protected router and to the predict fast path.

With keys configured, a request must carry one of them as ``Authorization: Bearer <key>`` or
``X-API-Key: <key>``. Each presented key is compared with every configured key in constant time
(SHA-256 digests, so neither the keys nor their lengths leak through timing). Without keys the
check lets everything through; ``ServeSettings`` allows that on loopback only.
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


class ApiKeys:
    """The configured keys, kept as SHA-256 digests.

    Args:
        keys: The accepted keys; none means every request is let through.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.digests = tuple(hashlib.sha256(key.encode()).digest() for key in keys)

    def check(self, authorization: str | None, api_key: str | None) -> None:
        """Pass a request presenting these header values, or refuse it.

        Raises:
            ApiError: 401, keys are configured and none of them was presented.
        """
        if not self.digests:
            return
        presented = presented_key(authorization, api_key)
        if presented is None or not matches(presented, self.digests):
            raise ApiError(
                401,
                "unauthorized",
                "Missing or invalid API key. Send it as 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )


def api_key_guard(keys: ApiKeys | Sequence[str]) -> Callable[[Request], Awaitable[None]]:
    """Return the dependency that refuses requests without a valid key (401)."""
    checker = keys if isinstance(keys, ApiKeys) else ApiKeys(keys)

    async def require_api_key(request: Request) -> None:
        checker.check(request.headers.get("authorization"), request.headers.get("x-api-key"))

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
