"""The one ASGI middleware every request passes: Host allowlist, body cap, request id, metrics,
access log.

Plain ASGI (no ``BaseHTTPMiddleware``), so it costs a few microseconds a request:

- a Host header outside the allowlist gets 400 (the header is never echoed);
- a body over ``max_body_bytes`` gets 413, from ``Content-Length`` before it is read, or while
  a chunked body streams in;
- every response carries ``X-Request-ID`` (uuid4 hex, generated here; a client's own id is
  ignored), also in ``request.state.request_id``;
- each request is counted and timed by route template, method, status and model version, and
  logged as one JSON line on ``modelyard.serving.access`` (no headers, no body, no query).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.problems import problem_response

access_log = logging.getLogger("modelyard.serving.access")
MAX_LOGGED_PATH = 200


class BodyTooLargeError(Exception):
    """A streamed request body grew past the cap."""


class ServingGuard:
    """Wrap ``app`` with the checks and records above.

    Args:
        app: The application to guard.
        allowed_hosts: Host names answered, lower case without port; ``"*"`` answers any.
        max_body_bytes: The largest body accepted.
        metrics: Where requests are counted.
        log_access: Whether to write access log lines (when the logger takes INFO).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: frozenset[str],
        max_body_bytes: int,
        metrics: ServingMetrics,
        log_access: bool = True,
    ) -> None:
        self.app, self.metrics, self.log_access = app, metrics, log_access
        self.any_host = "*" in allowed_hosts
        self.allowed_hosts = allowed_hosts
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        seen: dict[str, Any] = {"status": 500, "version": "", "started": False}
        marker = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"], seen["started"] = message["status"], True
                headers = list(message.get("headers", ()))
                for name, value in headers:
                    if name == b"x-model-version":
                        seen["version"] = value.decode("latin-1")
                headers.append(marker)
                message["headers"] = headers
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self._answer(scope, receive, send_with_id, seen)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, seen, request_id, time.perf_counter() - start)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, seen: dict[str, Any]
    ) -> None:
        host, length = _host_and_length(scope["headers"])
        if not self.any_host and _host_name(host) not in self.allowed_hosts:
            response = problem_response(
                400,
                "invalid_host",
                "This server does not answer to that Host header. Add the name to "
                "serving.allowed_hosts if it is yours.",
            )
            await response(scope, receive, send)
            return
        if length is not None and length > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        if length is None:  # chunked: counted as it streams (the HTTP server enforces a length)
            receive = self._capped(receive)
        try:
            await self.app(scope, receive, send)
        except BodyTooLargeError:
            if seen["started"]:
                raise
            await self._too_large(scope, receive, send)

    def _capped(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError
            return message

        return capped

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "body_too_large",
            f"The request body exceeds {self.max_body_bytes} bytes (serving.max_body_bytes). "
            "Send fewer records per request.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)

    def _record(self, scope: Scope, seen: dict[str, Any], request_id: str, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method, status, version = scope["method"], seen["status"], seen["version"]
        self.metrics.observe_request(template, method, status, version, seconds)
        if self.log_access and access_log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            line = {
                "request_id": request_id,
                "method": method,
                "path": template if route is not None else scope["path"][:MAX_LOGGED_PATH],
                "status": status,
                "ms": round(seconds * 1000, 3),
                "model_version": version,
                "client": client[0] if client else None,
            }
            access_log.info(json.dumps(line))


def _host_and_length(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, int | None]:
    host: bytes | None = None
    length: int | None = None
    for name, value in headers:
        if name == b"host":
            host = value
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    return host, length


def _host_name(host: bytes | None) -> str:
    if not host:
        return ""
    text = host.decode("latin-1").lower()
    if text.startswith("["):  # [::1]:8000
        return text[1:].split("]", 1)[0]
    name, _, port = text.rpartition(":")
    return name if name and port.isdigit() else text
