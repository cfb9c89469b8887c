"""``serve``: resolve, download, verify, load and warm the model, then run uvicorn.

uvicorn runs with ``GuardedHttpProtocol`` (header and body deadlines, connection cap, request
door; see ``modelyard.serving.protocol``). The admin listener's socket (``serving.admin_port``)
is bound here, before anything is loaded, and served by the app's lifespan.

One worker runs the app built here. With several, uvicorn's supervisor starts each worker
with ``worker_app`` bound to the settings and the admin socket (``functools.partial``, pickled
to the spawned process: no environment variable, no file); each worker loads the version this
process downloaded and verified first, and has its own metrics.
"""

from __future__ import annotations

import functools
import gc
import logging
import math
import resource
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from modelyard.errors import ServingError
from modelyard.serving.admin import bind_admin_socket
from modelyard.serving.app import create_app
from modelyard.serving.protocol import GuardedHttpProtocol
from modelyard.serving.settings import ServeSettings
from modelyard.serving.source import RegistrySource

log = logging.getLogger("modelyard.serving")


class GracefulServer(uvicorn.Server):
    """uvicorn's server, exiting 0 after a graceful stop, and at once on a repeated signal.

    (uvicorn re-raises the signal that stopped it once it is done, which would end the
    process with 143 instead of 0.)
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def registry_source(settings: ServeSettings) -> RegistrySource:
    """Return the source of the settings' model in their registry and store."""
    from modelyard.tracking.registry import Registry

    return RegistrySource(
        Registry(settings.tracking_uri),
        settings.model_ref,
        settings.store,
        max_rows=settings.serving.max_batch_rows,
    )


def serve(settings: ServeSettings, *, announce: Callable[[str], None] = log.info) -> None:
    """Serve the settings' model until SIGTERM or Ctrl-C.

    Raises:
        ServingError: The address cannot be bound.
        ModelNotFoundError: The model, alias or version does not exist.
        ArtifactIntegrityError: The version's files do not match their manifest.
        ModelyardError: The version cannot be loaded or warmed.
    """
    serving = settings.serving
    _check_port(serving.host, serving.port, "--port")
    admin = _admin_socket(serving.host, serving.admin_port)
    _raise_descriptor_limit(serving.max_connections + 256)
    source = registry_source(settings)
    version = source.target()
    url = f"http://{serving.host}:{serving.port}"
    admin_note = "" if admin is None else f", health and metrics on port {serving.admin_port}"
    if serving.workers == 1:
        model = source.load(version)
        app = create_app(settings, model=model, source=source, admin_socket=admin)
        announce(
            f"serving {model.name} version {version} ({model.runtime.name}) on {url} "
            f"(API docs: {url}/docs{admin_note})"
        )
        _freeze_heap()
        GracefulServer(_config(app, settings)).run()
        return
    source.fetch(version)
    announce(
        f"serving {settings.model_ref} version {version} on {url} with {serving.workers} "
        f"workers{admin_note}"
    )
    from uvicorn.supervisors import Multiprocess

    config = _config(functools.partial(worker_app, settings, admin), settings)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def worker_app(settings: ServeSettings, admin_socket: socket.socket | None) -> FastAPI:
    """Build a worker's app (uvicorn calls this factory in each spawned worker)."""
    source = registry_source(settings)
    app = create_app(
        settings, model=source.load(source.target()), source=source, admin_socket=admin_socket
    )
    _freeze_heap()
    return app


def _freeze_heap() -> None:
    """Exempt what start-up allocated (MLflow, scikit-learn, the model: ~350k objects) from the
    garbage collector, whose full passes over it would stall requests for ~150 ms."""
    gc.collect()
    gc.freeze()


def _admin_socket(host: str, port: int | None) -> socket.socket | None:
    if port is None:
        return None
    _check_port(host, port, "serving.admin_port")
    return bind_admin_socket(host, port)


def _raise_descriptor_limit(needed: int) -> None:
    """Raise the soft limit on open files towards ``needed`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _check_port(host: str, port: int, option: str) -> None:
    """Fail before loading anything when the address cannot be bound (uvicorn would exit 3)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ServingError(
                f"Cannot listen on {host}:{port} ({error.strerror}). Stop what uses the port, "
                f"or choose another with {option}."
            ) from error


def _config(app: Callable[..., object], settings: ServeSettings) -> uvicorn.Config:
    serving = settings.serving
    return uvicorn.Config(
        app,
        factory=isinstance(app, functools.partial),
        workers=serving.workers,
        host=serving.host,
        port=serving.port,
        http=GuardedHttpProtocol,
        access_log=False,  # modelyard.serving.access logs each request, without headers
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        # connections are capped by the protocol (serving.max_connections), requests by its
        # door (max_concurrency + max_queue): uvicorn's own cap answers in plain text
        limit_concurrency=None,
        timeout_keep_alive=serving.keepalive_s,  # type: ignore[arg-type]
        timeout_graceful_shutdown=max(1, math.ceil(serving.grace_period_s - serving.drain_delay_s)),
    )
