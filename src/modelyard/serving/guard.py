"""The one ASGI middleware every request passes: Host allowlist, body cap, request id, metrics,
access log, and the dispatch of the hot route.

Plain ASGI (no ``BaseHTTPMiddleware``), so it costs a few microseconds a request:

- a Host header outside the allowlist gets 400 (the header is never echoed), and so do two
  Host headers (RFC 9112) and an absolute-form target (``GET http://host/...``) whose host is
  outside it (the protocol puts that host in ``scope["state"]["authority"]``);
- a body over ``max_body_bytes`` gets 413, from ``Content-Length`` before it is read, or while
  a chunked body streams in;
- every response carries ``X-Request-ID`` (32 random hex digits, generated here; a client's own
  id is ignored), also in ``request.state.request_id``;
- each request is counted and timed by route template, method, status and model version, and
  logged as one JSON line on ``modelyard.serving.access`` (see ``access_log``);
- a client gone before its answer is recorded as 499 (nginx's convention), one whose body
  came too late as 408, never as a 5xx;
- a request whose method and path are in ``fast_routes`` (``POST /v1/predict``) goes straight
  to that plain ASGI app, past FastAPI's routing; everything else goes to the app.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelyard.serving.access_log import AccessLog
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.problems import CLIENT_GONE, problem_response
from modelyard.serving.protocol import AUTHORITY_KEY, TIMED_OUT_KEY

_REQUEST_ID = b"x-request-id"
_MODEL_VERSION = b"x-model-version"


class BodyTooLargeError(Exception):
    """A streamed request body grew past the cap."""


class _Exchange:
    """What the guard learns of one response as it is sent."""

    __slots__ = ("marker", "send", "started", "status", "version")

    def __init__(self, send: Send, request_id: str) -> None:
        self.send, self.status, self.version, self.started = send, 500, "", False
        self.marker = (_REQUEST_ID, request_id.encode())

    async def send_with_id(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status, self.started = message["status"], True
            headers = list(message.get("headers", ()))
            for name, value in headers:
                if name == _MODEL_VERSION:
                    self.version = value.decode("latin-1")
            headers.append(self.marker)
            message["headers"] = headers
        await self.send(message)


class ServingGuard:
    """Wrap ``app`` with the checks and records above.

    Args:
        app: The application to guard.
        allowed_hosts: Host names answered, lower case without port; ``"*"`` answers any.
        max_body_bytes: The largest body accepted.
        metrics: Where requests are counted.
        access: Where access lines go; None writes none.
        fast_routes: Plain ASGI apps answering a ``(method, path)`` instead of ``app``; each
            checks the API key itself, as ``PredictEndpoint`` does.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: frozenset[str],
        max_body_bytes: int,
        metrics: ServingMetrics,
        access: AccessLog | None = None,
        fast_routes: Mapping[tuple[str, str], ASGIApp] | None = None,
    ) -> None:
        self.app, self.metrics, self.access = app, metrics, access
        self.any_host = "*" in allowed_hosts
        self.allowed_hosts = allowed_hosts
        self.max_body_bytes = max_body_bytes
        self.fast_routes = dict(fast_routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        exchange = _Exchange(send, request_id)
        fast = self.fast_routes.get((scope["method"], scope["path"]))
        if fast is not None and scope.get("root_path"):
            fast = None  # mounted under a prefix: let the router resolve it
        in_flight = self.metrics.in_flight
        in_flight.inc()
        try:
            await self._answer(scope, receive, exchange, fast)
        finally:
            in_flight.dec()
            self._record(scope, exchange, request_id, time.perf_counter() - start, fast)

    async def _answer(
        self, scope: Scope, receive: Receive, exchange: _Exchange, fast: ASGIApp | None
    ) -> None:
        send = exchange.send_with_id
        host, length, hosts = _host_and_length(scope["headers"])
        authority = scope["state"].get(AUTHORITY_KEY)
        if authority is not None:
            host = authority.encode("latin-1")  # RFC 9112 3.2.2: the target's host wins
        if hosts > 1 or (not self.any_host and host_name(host) not in self.allowed_hosts):
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
            await (self.app if fast is None else fast)(scope, receive, send)
        except BodyTooLargeError:
            if exchange.started:
                raise
            await self._too_large(scope, receive, send)
        except ClientDisconnect:
            exchange.status = CLIENT_GONE
        if not exchange.started and exchange.status == 500:
            exchange.status = CLIENT_GONE  # the app answered nothing: the client went away
        if scope["state"].get(TIMED_OUT_KEY):
            exchange.status = 408  # the protocol answered: the body came too late

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

    def _record(
        self,
        scope: Scope,
        exchange: _Exchange,
        request_id: str,
        seconds: float,
        fast: ASGIApp | None,
    ) -> None:
        if fast is not None:
            template: str | None = scope["path"]
        else:
            route = scope.get("route")
            template = getattr(route, "path", None) if route is not None else None
        method, status, version = scope["method"], exchange.status, exchange.version
        self.metrics.observe_request(template or "unmatched", method, status, version, seconds)
        access = self.access
        if access is not None and access.is_enabled:
            client = scope.get("client")
            access.put(
                (
                    time.time(),
                    request_id,
                    method,
                    template or scope["path"],
                    template is not None,
                    status,
                    seconds,
                    version,
                    client[0] if client else None,
                )
            )


def _host_and_length(
    headers: list[tuple[bytes, bytes]],
) -> tuple[bytes | None, int | None, int]:
    """Return the Host header, the Content-Length and how many Host headers there are."""
    host: bytes | None = None
    length: int | None = None
    hosts = 0
    for name, value in headers:
        if name == b"host":
            host = value
            hosts += 1
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    return host, length, hosts


def host_name(host: bytes | None) -> str:
    """Return a Host value's name, lower case, without port or IPv6 brackets."""
    if not host:
        return ""
    text = host.decode("latin-1").lower()
    if text.startswith("["):  # [::1]:8000
        return text[1:].split("]", 1)[0]
    name, _, port = text.rpartition(":")
    return name if name and port.isdigit() else text
