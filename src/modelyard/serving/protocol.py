"""uvicorn's HTTP protocol (httptools) with deadlines per connection and a door for requests.

uvicorn times out idle keep-alive connections only, and its ``limit_concurrency`` counts open
connections, so idle sockets that never send a request can make it refuse everyone. This
subclass adds what it lacks, per connection, without a task or timer beyond one per phase:

- **header deadline**: a request's headers must be complete within ``header_timeout_s`` of
  the connection opening, or of the request's first byte: a client that sends nothing, or its
  headers a byte at a time, is disconnected (counted in ``connections_timed_out_total``);
- **idle deadline**: after an answer, the next request must start within ``keepalive_s``
  (this replaces uvicorn's keep-alive timer);
- **body deadline**: its body must be complete within ``body_timeout_s`` of its headers; a
  late body gets 408 (JSON) and the connection is closed;
- **connection cap**: beyond ``max_connections`` open connections a new one is closed at once;
  set far above the request limits, it only stops descriptor exhaustion;
- **door**: with ``max_requests`` requests already in the server (parsed, not yet answered),
  the next one is answered here, at once, with modelyard's JSON 503 and ``Retry-After``,
  before a task is made or its body read (so refusing costs microseconds, and the requests
  already admitted are not slowed by a backlog);
- an absolute-form request target's host is put in ``scope["state"]["authority"]``, for the
  guard's Host check, and the loop time the request's first byte was read in
  ``scope["state"]["modelyard.arrived"]``, where the request's deadline starts.

The limits come from the ASGI lifespan state (``Door`` under ``DOOR_KEY``), which uvicorn gives
every connection; without one the protocol behaves as uvicorn's. It overrides uvicorn's
``_start_asgi_task``, a private hook, so the uvicorn version is pinned by the tests of this
module.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

DOOR_KEY = "modelyard.door"
AUTHORITY_KEY = "authority"
TIMED_OUT_KEY = "modelyard.timed_out"
ARRIVED_KEY = "modelyard.arrived"
BODY_IN_KEY = "modelyard.body_in"  # the whole body was read before the app was called
IDLE, HEADERS, BODY = "idle", "headers", "body"


@dataclass(frozen=True, slots=True)
class Door:
    """The limits a listener enforces, and what it calls when it refuses or times out.

    Attributes:
        header_timeout_s: Time from connection (or a request's first byte) to its headers.
        body_timeout_s: Time from headers to a complete body.
        keepalive_s: Time an idle keep-alive connection is kept after an answer.
        max_connections: Open connections beyond which new ones are closed.
        max_requests: Requests in the server beyond which the next gets 503 at once.
        on_refused: Called with the scope of each request refused at the door.
        on_timeout: Called with ``"headers"`` or ``"body"`` for each connection timed out.
    """

    header_timeout_s: float
    body_timeout_s: float
    keepalive_s: float
    max_connections: int
    max_requests: int
    on_refused: Callable[[dict[str, Any]], None] = lambda scope: None
    on_timeout: Callable[[str], None] = lambda phase: None
    in_server: list[int] = field(default_factory=lambda: [0])  # requests admitted, not done


def error_bytes(status: int, reason: str, type_: str, message: str, *headers: str) -> bytes:
    """Return a complete HTTP/1.1 error response head and body in modelyard's error schema,
    with ``{request_id}`` left in the head for the caller to fill."""
    body = json.dumps({"error": {"type": type_, "message": message, "fields": []}}).encode()
    head = "".join(f"{header}\r\n" for header in headers)
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nx-request-id: {{request_id}}\r\n{head}\r\n"
    ).encode() + body


_OVERLOADED = error_bytes(
    503,
    "Service Unavailable",
    "overloaded",
    "Too many requests in flight; retry shortly.",
    "retry-after: 1",
)
_OVERLOADED_CLOSE = _OVERLOADED.replace(
    b"retry-after: 1\r\n", b"retry-after: 1\r\nconnection: close\r\n"
)
_BODY_LATE = error_bytes(
    408,
    "Request Timeout",
    "body_timeout",
    "The request body did not arrive in time (serving.body_timeout_s).",
    "connection: close",
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the deadlines, caps and door above."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.door: Door | None = app_state.get(DOOR_KEY)
        self._in_body = False
        # one lazy timer per connection: moving the deadline is an assignment, not a new
        # TimerHandle; when the timer fires early it sleeps again until the deadline
        self._phase: str | None = None
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    # --- connection --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        door = self.door
        if door is None:
            return
        if len(self.connections) > door.max_connections:
            transport.close()
            return
        self._expect(HEADERS, door.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._phase = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    # --- request phases ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        now = self.loop.time()
        self.scope["state"][ARRIVED_KEY] = now
        if self.door is not None and self._phase == IDLE:
            self._expect(HEADERS, self.door.header_timeout_s)

    def on_headers_complete(self) -> None:
        door = self.door
        if door is None:
            super().on_headers_complete()
            return
        self._in_body = True
        self._expect(BODY, door.body_timeout_s)
        if self.url[:1] != b"/" and self.url != b"*":  # absolute-form: http://host/path
            try:
                host = httptools.parse_url(self.url).host
            except httptools.HttpParserInvalidURLError:
                host = None
            self.scope["state"][AUTHORITY_KEY] = (host or b"").decode("latin-1")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self.door is not None:
            self._in_body = False
            self.scope["state"][BODY_IN_KEY] = True
            if self.cycle is not None and self.cycle.response_complete:
                self._expect(IDLE, self.door.keepalive_s)  # answered early: wait for the next
            else:
                self._phase = None  # the app has it now: request_timeout_s bounds it
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self.door is None:
            super().on_response_complete()
            return
        # uvicorn's, with the idle deadline instead of its keep-alive TimerHandle
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif not self._in_body:
            self._expect(IDLE, self.door.keepalive_s)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        door = self.door
        if door is None:
            super()._start_asgi_task(cycle, app)
            return
        if door.in_server[0] >= door.max_requests:
            self._refuse(cycle, door)
            return
        # counted down when the app returns, not when the task's done callback runs (an
        # event loop turn later), so a full door opens as soon as a request is answered
        door.in_server[0] += 1
        context = contextvars.Context() if self.config.reset_contextvars else None
        task = self.loop.create_task(_counted(cycle.run_asgi(app), door.in_server), context=context)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    # --- answers without the app ---------------------------------------------------------------

    def _refuse(self, cycle: RequestResponseCycle, door: Door) -> None:
        request_id = os.urandom(16).hex()
        cycle.scope["state"]["request_id"] = request_id
        template = _OVERLOADED if cycle.keep_alive else _OVERLOADED_CLOSE
        self.transport.write(template.replace(b"{request_id}", request_id.encode(), 1))
        cycle.response_started = cycle.response_complete = True
        door.on_refused(cycle.scope)  # type: ignore[arg-type]
        if cycle.keep_alive:
            self.on_response_complete()
        else:
            self.transport.close()

    def _late(self) -> None:
        door, cycle, phase = self.door, self.cycle, self._phase
        self._phase = None
        if door is None or self.transport.is_closing():
            return
        if phase == BODY and self.flow.read_paused:
            self._expect(BODY, door.body_timeout_s)  # we stopped reading (app busy): not late
            return
        if phase == BODY and cycle is not None and not cycle.response_complete:
            if not cycle.response_started:
                request_id = cycle.scope["state"].get("request_id") or os.urandom(16).hex()
                self.transport.write(_BODY_LATE.replace(b"{request_id}", request_id.encode(), 1))
                cycle.scope["state"][TIMED_OUT_KEY] = "body"
            cycle.disconnected = True  # the app sees http.disconnect; its sends are dropped
            cycle.message_event.set()
        if phase in (HEADERS, BODY):
            door.on_timeout(phase)
        self.transport.close()  # idle: keep-alive expired, nothing to count

    # --- the lazy timer ------------------------------------------------------------------------

    def _expect(self, phase: str, seconds: float) -> None:
        """Enter ``phase``, which must end within ``seconds``."""
        self._phase = phase
        self._deadline = deadline = self.loop.time() + seconds
        if self._timer is None or self._timer_at > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = self.loop.call_at(deadline, self._wake), deadline

    def _wake(self) -> None:
        self._timer = None
        if self._phase is None:
            return
        if self.loop.time() < self._deadline:  # the deadline moved on: sleep until it
            self._timer = self.loop.call_at(self._deadline, self._wake)
            self._timer_at = self._deadline
            return
        self._late()


async def _counted(run: Coroutine[Any, Any, None], in_server: list[int]) -> None:
    try:
        await run
    finally:
        in_server[0] -= 1
