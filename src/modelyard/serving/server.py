"""``serve``: resolve, download, verify, load and warm the model, then run uvicorn.

One worker runs the app built here. Several workers each build their own app from the
settings (passed in an environment variable, since workers are separate processes) and load
the version this process downloaded and verified first; each worker has its own metrics.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from modelyard.errors import ServingError
from modelyard.serving.app import create_app
from modelyard.serving.settings import ServeSettings
from modelyard.serving.source import RegistrySource

SETTINGS_ENV = "MODELYARD_SERVE_SETTINGS"
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
        max_rows=settings.max_batch_rows,
    )


def serve(settings: ServeSettings, *, announce: Callable[[str], None] = log.info) -> None:
    """Serve the settings' model until SIGTERM or Ctrl-C.

    Raises:
        ServingError: The address cannot be bound.
        ModelNotFoundError: The model, alias or version does not exist.
        ArtifactIntegrityError: The version's files do not match their manifest.
        ModelyardError: The version cannot be loaded or warmed.
    """
    _check_port(settings.host, settings.port)
    source = registry_source(settings)
    version = source.target()
    url = f"http://{settings.host}:{settings.port}"
    if settings.workers == 1:
        model = source.load(version)
        app = create_app(settings, model=model, source=source)
        announce(
            f"serving {model.name} version {version} ({model.runtime.name}) on {url} "
            f"(API docs: {url}/docs)"
        )
        _freeze_heap()
        GracefulServer(_config(app, settings)).run()
        return
    source.fetch(version)
    announce(
        f"serving {settings.model_ref} version {version} on {url} with {settings.workers} workers"
    )
    os.environ[SETTINGS_ENV] = settings.to_json()
    try:
        from uvicorn.supervisors import Multiprocess

        config = _config("modelyard.serving.server:app_from_environment", settings)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        os.environ.pop(SETTINGS_ENV, None)


def app_from_environment() -> FastAPI:
    """Build a worker's app from the settings the parent process left in the environment."""
    settings = ServeSettings.from_json(os.environ.pop(SETTINGS_ENV))
    source = registry_source(settings)
    app = create_app(settings, model=source.load(source.target()), source=source)
    _freeze_heap()
    return app


def _freeze_heap() -> None:
    """Exempt what start-up allocated (MLflow, scikit-learn, the model: ~350k objects) from the
    garbage collector, whose full passes over it would stall requests for ~150 ms."""
    gc.collect()
    gc.freeze()


def _check_port(host: str, port: int) -> None:
    """Fail before loading anything when the address cannot be bound (uvicorn would exit 3)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ServingError(
                f"Cannot listen on {host}:{port} ({error.strerror}). Stop what uses the port, "
                "or choose another with --port."
            ) from error


def _config(app: FastAPI | str, settings: ServeSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        access_log=False,  # modelyard.serving.access logs each request, without headers
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        # a backstop under the app's own admission control
        limit_concurrency=max(64, 2 * (settings.max_concurrency + settings.max_queue)),
        timeout_graceful_shutdown=max(
            1, math.ceil(settings.grace_period_s - settings.drain_delay_s)
        ),
    )
