"""The admin listener: ``/health/live``, ``/health/ready``, ``/v1/models/{name}/ready`` and
``/metrics`` on their own port (``serving.admin_port``), as Triton and Envoy keep theirs.

Saturating the main port (idle connections, a flood of requests) cannot starve it: it has its
own listening socket, accept queue, connection cap and request door, and its answers are a
dictionary lookup. It runs on the event loop of the app whose state it reports, started and
stopped by that app's lifespan; with ``--workers N`` each worker serves it on the socket the
parent bound, so any worker may answer a probe, and ``/metrics`` shows that worker's counters
(as the main port does).

Health needs no key. ``/metrics`` needs a key with the ``metrics`` scope when keys are
configured, and the Host check applies as on the main port. Anything else gets the error
schema: 401 without a key, 404 with one.
"""

from __future__ import annotations

import asyncio
import os
import socket

import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from modelyard.serving.auth import ApiKeys
from modelyard.serving.guard import host_name
from modelyard.serving.health import LIVE, model_readiness, readiness
from modelyard.serving.metrics import CONTENT_TYPE
from modelyard.serving.problems import ApiError, problem_response
from modelyard.serving.protocol import DOOR_KEY, Door, GuardedHttpProtocol
from modelyard.serving.state import ServingState

_JSON = [(b"content-type", b"application/json")]
_MODEL_READY = ("/v1/models/", "/ready")
ADMIN_CONNECTIONS = 256
ADMIN_REQUESTS = 64


class AdminApp:
    """The admin listener's ASGI app.

    Args:
        state: The serving app's state (model, draining flag, metrics, settings).
        keys: The configured keys; ``/metrics`` needs the ``metrics`` scope.
        allowed_hosts: Host names answered (``"*"``: any).
    """

    def __init__(self, state: ServingState, keys: ApiKeys, allowed_hosts: frozenset[str]) -> None:
        self.state, self.keys, self.allowed_hosts = state, keys, allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        status, headers, body = self.answer(scope)
        extra = [(b"x-request-id", os.urandom(16).hex().encode())]
        if not any(name == b"content-length" for name, _ in headers):
            extra.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers + extra})
        await send({"type": "http.response.body", "body": body})

    def answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Return (status, headers, body) for one request."""
        host = authorization = api_key = None
        hosts = 0
        for name, value in scope["headers"]:
            if name == b"host":
                host, hosts = value, hosts + 1
            elif name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"x-api-key" and api_key is None:
                api_key = value.decode("latin-1")
        authority = scope.get("state", {}).get("authority")
        name = host_name(authority.encode("latin-1") if authority is not None else host)
        if hosts > 1 or ("*" not in self.allowed_hosts and name not in self.allowed_hosts):
            return _problem(
                ApiError(
                    400,
                    "invalid_host",
                    "This server does not answer to that Host header. Add the name to "
                    "serving.allowed_hosts if it is yours.",
                )
            )
        path, method = scope["path"], scope["method"]
        if method in ("GET", "HEAD"):
            if path == "/health/live":
                return LIVE[0], _JSON, LIVE[1]
            if path == "/health/ready":
                status, body = readiness(self.state)
                return status, _JSON, body
            if path.startswith(_MODEL_READY[0]) and path.endswith(_MODEL_READY[1]):
                model = path[len(_MODEL_READY[0]) : -len(_MODEL_READY[1])]
                if model and "/" not in model:
                    status, body = model_readiness(self.state, model)
                    return status, _JSON, body
        try:
            if path == "/metrics" and method in ("GET", "HEAD"):
                self.keys.check(authorization, api_key, "metrics")
                return 200, [(b"content-type", CONTENT_TYPE.encode())], self.state.metrics.render()
            if not self.keys.is_known(authorization, api_key):
                self.keys.check(authorization, api_key, "metrics")  # raises the 401
        except ApiError as error:
            return _problem(error)
        return _problem(
            ApiError(
                404,
                "not_found",
                "The admin port answers /health/live, /health/ready, "
                "/v1/models/{name}/ready and /metrics.",
            )
        )


def bind_admin_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on the admin address (done once, by the parent process).

    Raises:
        OSError: The address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
        sock.setblocking(False)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


async def start_admin(
    app: AdminApp, sock: socket.socket, *, header_timeout_s: float, keepalive_s: float
) -> asyncio.Server:
    """Serve ``app`` on ``sock`` on the running loop, with uvicorn's protocol and its own door."""
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        log_config=None,
        timeout_keep_alive=int(max(1, keepalive_s)),
    )
    config.load()
    server_state = ServerState()
    door = Door(
        header_timeout_s=header_timeout_s,
        body_timeout_s=header_timeout_s,
        keepalive_s=keepalive_s,
        max_connections=ADMIN_CONNECTIONS,
        max_requests=ADMIN_REQUESTS,
    )
    app_state = {DOOR_KEY: door}
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: GuardedHttpProtocol(config, server_state, app_state, loop),
        sock=sock,
    )


def _problem(error: ApiError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    response = problem_response(error.status, error.type, error.message, headers=error.headers)
    return error.status, list(response.raw_headers), bytes(response.body)
