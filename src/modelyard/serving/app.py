"""``create_app``: the FastAPI app around one served model, with everything wired in.

Routes (all but the two health probes need an API key when keys are configured, ``/docs`` and
``/openapi.json`` included unless ``serving.docs_public``, since the schema describes the
model's inputs; unknown routes and methods answer 401 without a key, like the others):

- ``POST /v1/predict``, ``POST /v1/feedback``, ``GET /v1/model`` (scope ``predict``);
- ``GET /metrics`` (scope ``metrics``);
- ``GET /health/live``, ``GET /health/ready``;
- ``GET /docs``, ``GET /openapi.json``: the request schema of the version serving now;
  Swagger UI's files (version 5, which reads OpenAPI 3.1) come from the ``fastapi-offline``
  package under ``/docs/assets/``, so the page works offline.

The app's lifespan starts the log writers, the admin listener when it was given a socket
(``modelyard.serving.admin``) and, for an alias, the watcher; it hands uvicorn the ``Door``
(``modelyard.serving.protocol``) through the lifespan state. At shutdown it reports not-ready,
stops the watcher and the admin listener, and writes what the logs still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.responses import FileResponse, HTMLResponse, JSONResponse

from modelyard import __version__
from modelyard.serving.access_log import AccessLog
from modelyard.serving.admin import AdminApp, start_admin
from modelyard.serving.admission import Admission
from modelyard.serving.auth import SCHEMES, ApiKeys
from modelyard.serving.draining import install_drain
from modelyard.serving.guard import ServingGuard
from modelyard.serving.metrics import ServingMetrics
from modelyard.serving.model import ServedModel
from modelyard.serving.prediction_log import (
    FEEDBACK_DIR,
    FEEDBACK_SCHEMA,
    PREDICTION_SCHEMA,
    PREDICTIONS_DIR,
    ParquetLog,
    feedback_rows,
    prediction_rows,
)
from modelyard.serving.problems import ApiError, install_handlers
from modelyard.serving.protocol import DOOR_KEY, Door
from modelyard.serving.routes import PREDICT_PATH, build_routers
from modelyard.serving.settings import ServeSettings
from modelyard.serving.source import RegistrySource
from modelyard.serving.state import ServingState
from modelyard.serving.watcher import watch_alias

HEALTH_PATHS = frozenset({"/health/live", "/health/ready"})
DOCS_PATHS = frozenset({"/docs", "/openapi.json"})
ASSETS_PATH = "/docs/assets/{name}"
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
_TELEMETRY_OFF: Any = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def public_paths(settings: ServeSettings) -> frozenset[str]:
    """The routes answered without a key: health, Swagger UI's files, and the docs if public."""
    return HEALTH_PATHS | {ASSETS_PATH} | (DOCS_PATHS if settings.serving.docs_public else set())


def create_app(
    settings: ServeSettings,
    *,
    model: ServedModel | None = None,
    source: RegistrySource | None = None,
    admin_socket: socket.socket | None = None,
) -> FastAPI:
    """Return the app serving ``model``, following ``source``'s alias when it has one.

    Args:
        settings: Limits, keys, hosts, logging and timing.
        model: The model to serve from the start; without one, readiness reports 503 until
            the watcher has loaded the source's target.
        source: Where new versions come from; None serves ``model`` as it is.
        admin_socket: A bound, listening socket for the admin listener; None runs none.
    """
    if model is None and source is None:
        raise ValueError("create_app needs a model, a source, or both")
    state = _new_state(settings, source)
    if model is not None:
        state.swap(model)
    app = FastAPI(
        title="modelyard model server",
        version=__version__,
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # a redirect would answer before the key is checked
        telemetry=_TELEMETRY_OFF,
    )
    keys = ApiKeys(settings.api_keys, settings.metrics_keys)
    app.state.serving = state
    app.state.admin = None if admin_socket is None else (admin_socket, keys)
    install_handlers(app, keys)
    routers = build_routers(state, keys)
    docs_router = routers.health if settings.serving.docs_public else routers.guarded

    @docs_router.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @docs_router.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="modelyard - API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )

    @routers.health.get(ASSETS_PATH, include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        if name not in SWAGGER_FILES:
            raise ApiError(404, "not_found", "No such Swagger UI file.")
        return FileResponse(_swagger_folder() / name, headers={"Cache-Control": "max-age=86400"})

    app.include_router(routers.guarded)  # first: routes are tried in order, predict leads
    app.include_router(routers.metrics)
    app.include_router(routers.health)
    app.openapi = lambda: _openapi(app, state)  # type: ignore[method-assign]
    app.add_middleware(
        ServingGuard,
        allowed_hosts=settings.host_allowlist,
        max_body_bytes=settings.serving.max_body_bytes,
        metrics=state.metrics,
        access=state.access,
        fast_routes={("POST", PREDICT_PATH): routers.predict},
    )
    return app


def _swagger_folder() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("fastapi_offline")  # a dependency, for its static files
    if spec is None or spec.origin is None:
        raise ApiError(404, "not_found", "Swagger UI's files are missing: install fastapi-offline.")
    return Path(spec.origin).parent / "static"


def door(state: ServingState) -> Door:
    """The main listener's limits, refusals counted and logged as the guard would."""
    serving = state.settings.serving
    metrics, access = state.metrics, state.access
    known = {PREDICT_PATH, "/v1/feedback", "/v1/model", "/metrics", *HEALTH_PATHS}

    def on_refused(scope: dict[str, Any]) -> None:
        path, method = scope.get("path", ""), scope.get("method", "")
        template = path if path in known else None
        metrics.rejections.inc()
        metrics.observe_request(template or "unmatched", method, 503, "", 0.0)
        if access is not None and access.is_enabled:
            client = scope.get("client")
            request_id = scope["state"].get("request_id", "")
            access.put((time.time(), request_id, method, template or path, template is not None,
                        503, 0.0, "", client[0] if client else None))  # fmt: skip

    return Door(
        header_timeout_s=serving.header_timeout_s,
        body_timeout_s=serving.body_timeout_s,
        keepalive_s=serving.keepalive_s,
        max_connections=serving.max_connections,
        max_requests=serving.max_concurrency + serving.max_queue,
        on_refused=on_refused,
        on_timeout=lambda phase: metrics.timed_out.labels(phase).inc(),
    )


def _new_state(settings: ServeSettings, source: RegistrySource | None) -> ServingState:
    serving = settings.serving
    metrics = ServingMetrics()
    state = ServingState(
        settings=settings,
        metrics=metrics,
        source=source,
        admission=Admission(serving.max_concurrency, serving.max_queue),
        # twice the slots: a timed-out prediction keeps its thread until it ends, and must
        # not starve the requests admitted after it
        executor=ThreadPoolExecutor(
            max_workers=min(2 * serving.max_concurrency, 32),
            thread_name_prefix="modelyard-predict",
        ),
    )
    if serving.access_log:
        state.access = AccessLog((*settings.api_keys, *settings.metrics_keys))
    if serving.prediction_log:
        name = source.ref.name if source is not None else None
        state.predictions = _log(
            settings, PREDICTIONS_DIR, PREDICTION_SCHEMA, prediction_rows, metrics, name
        )
        state.feedback = _log(settings, FEEDBACK_DIR, FEEDBACK_SCHEMA, feedback_rows, metrics, name)
    return state


def _log(
    settings: ServeSettings,
    folder: str,
    schema: Any,
    to_rows: Any,
    metrics: ServingMetrics,
    name: str | None,
) -> ParquetLog:
    serving = settings.serving
    return ParquetLog(
        settings.store / folder,
        name or settings.model_ref.name,
        schema,
        to_rows,
        flush_rows=serving.log_flush_rows,
        flush_s=serving.log_flush_s,
        queue_size=serving.log_queue_size,
        queue_bytes=serving.log_queue_bytes,
        on_drop=metrics.log_dropped.labels(folder).inc,
        on_error=metrics.log_errors.labels(folder).inc,
    )


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[dict[str, Door]]:
    state: ServingState = app.state.serving
    logs = [log for log in (state.predictions, state.feedback) if log is not None]
    for log in logs:
        log.start()
    if state.access is not None:
        state.access.start()
    serving = state.settings.serving
    restore_signals = install_drain(state.drain, serving.drain_delay_s)
    admin = None
    if app.state.admin is not None:
        admin_socket, keys = app.state.admin
        admin = await start_admin(
            AdminApp(state, keys, state.settings.host_allowlist),
            admin_socket,
            header_timeout_s=serving.header_timeout_s,
            keepalive_s=serving.keepalive_s,
        )
    watcher = None
    if state.source is not None and not state.source.ref.is_pinned:
        interval = serving.watch_interval_s
        watcher = asyncio.create_task(watch_alias(state, state.source, interval_s=interval))
    try:
        yield {DOOR_KEY: door(state)}
    finally:
        state.drain()
        restore_signals()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if admin is not None:
            admin.close()
        for log in logs:
            await asyncio.to_thread(log.close, serving.grace_period_s)
        if state.access is not None:
            await asyncio.to_thread(state.access.close, serving.grace_period_s)
        state.executor.shutdown(wait=False, cancel_futures=True)


def _openapi(app: FastAPI, state: ServingState) -> dict[str, Any]:
    model = state.model
    version = None if model is None else model.version
    cached = app.openapi_schema
    if cached is not None and cached.get("x-model-version") == version:
        return cached
    schema = get_openapi(
        title=app.title,
        version=app.version,
        routes=app.routes,
        description=f"Serving {model.name} version {model.version} ({model.runtime.name})."
        if model is not None
        else "No model loaded yet.",
    )
    schema["x-model-version"] = version
    if model is not None:
        example = {"records": [model.example]} if model.example is not None else None
        _set_body(schema, "/v1/predict", model.request.json_schema(ref_template=_REF), example)
        _set_body(schema, "/v1/feedback", model.feedback.json_schema(ref_template=_REF), None)
    if state.settings.api_keys or state.settings.metrics_keys:
        schema.setdefault("components", {})["securitySchemes"] = SCHEMES
        public = public_paths(state.settings)
        for path, operations in schema["paths"].items():
            if path not in public:
                for operation in operations.values():
                    operation["security"] = [{name: []} for name in SCHEMES]
    app.openapi_schema = schema
    return schema


_REF = "#/components/schemas/{model}"


def _set_body(
    schema: dict[str, Any], path: str, body: dict[str, Any], example: dict[str, Any] | None
) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(body.pop("$defs", {}))
    components[body["title"]] = body
    content: dict[str, Any] = {"schema": {"$ref": _REF.format(model=body["title"])}}
    if example is not None:
        content["example"] = example
    schema["paths"][path]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": content},
    }
