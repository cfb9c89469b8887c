"""``create_app``: the FastAPI app around one served model, with everything wired in.

Routes (all but the two health probes need an API key when keys are configured, ``/docs`` and
``/openapi.json`` included, since the schema describes the model's inputs):

- ``POST /v1/predict``, ``POST /v1/feedback``, ``GET /v1/model``, ``GET /metrics``;
- ``GET /health/live``, ``GET /health/ready``;
- ``GET /docs``, ``GET /openapi.json``: the request schema of the version serving now.

The app's lifespan starts the log writers and, for an alias, the watcher; at shutdown it
reports not-ready, stops the watcher and writes what the logs still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.responses import HTMLResponse, JSONResponse

from modelyard import __version__
from modelyard.serving.access_log import AccessLog
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
from modelyard.serving.problems import install_handlers
from modelyard.serving.routes import PREDICT_PATH, build_routers
from modelyard.serving.settings import ServeSettings
from modelyard.serving.source import RegistrySource
from modelyard.serving.state import ServingState
from modelyard.serving.watcher import watch_alias

PUBLIC_PATHS = frozenset({"/health/live", "/health/ready"})
_TELEMETRY_OFF: Any = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def create_app(
    settings: ServeSettings,
    *,
    model: ServedModel | None = None,
    source: RegistrySource | None = None,
) -> FastAPI:
    """Return the app serving ``model``, following ``source``'s alias when it has one.

    Args:
        settings: Limits, keys, hosts, logging and timing.
        model: The model to serve from the start; without one, readiness reports 503 until
            the watcher has loaded the source's target.
        source: Where new versions come from; None serves ``model`` as it is.
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
        telemetry=_TELEMETRY_OFF,
    )
    app.state.serving = state
    install_handlers(app)
    health, guarded, predict = build_routers(state, ApiKeys(settings.api_keys))

    @guarded.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @guarded.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="modelyard - API")

    app.include_router(guarded)  # first: route matching tries routes in order, predict leads
    app.include_router(health)
    app.openapi = lambda: _openapi(app, state)  # type: ignore[method-assign]
    app.add_middleware(
        ServingGuard,
        allowed_hosts=settings.host_allowlist,
        max_body_bytes=settings.max_body_bytes,
        metrics=state.metrics,
        access=state.access,
        fast_routes={("POST", PREDICT_PATH): predict},
    )
    return app


def _new_state(settings: ServeSettings, source: RegistrySource | None) -> ServingState:
    metrics = ServingMetrics()
    state = ServingState(
        settings=settings,
        metrics=metrics,
        source=source,
        admission=Admission(settings.max_concurrency, settings.max_queue),
        # twice the slots: a timed-out prediction keeps its thread until it ends, and must
        # not starve the requests admitted after it
        executor=ThreadPoolExecutor(
            max_workers=min(2 * settings.max_concurrency, 32),
            thread_name_prefix="modelyard-predict",
        ),
    )
    if settings.access_log:
        state.access = AccessLog(settings.api_keys)
    if settings.prediction_log:
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
    return ParquetLog(
        settings.store / folder,
        name or settings.model_ref.name,
        schema,
        to_rows,
        flush_rows=settings.log_flush_rows,
        flush_s=settings.log_flush_s,
        queue_size=settings.log_queue_size,
        on_drop=metrics.log_dropped.labels(folder).inc,
        on_error=metrics.log_errors.labels(folder).inc,
    )


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServingState = app.state.serving
    logs = [log for log in (state.predictions, state.feedback) if log is not None]
    for log in logs:
        log.start()
    if state.access is not None:
        state.access.start()
    restore_signals = install_drain(state.drain, state.settings.drain_delay_s)
    watcher = None
    if state.source is not None and not state.source.ref.is_pinned:
        interval = state.settings.watch_interval_s
        watcher = asyncio.create_task(watch_alias(state, state.source, interval_s=interval))
    try:
        yield
    finally:
        state.drain()
        restore_signals()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        for log in logs:
            await asyncio.to_thread(log.close, state.settings.grace_period_s)
        if state.access is not None:
            await asyncio.to_thread(state.access.close, state.settings.grace_period_s)
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
    if state.settings.api_keys:
        schema.setdefault("components", {})["securitySchemes"] = SCHEMES
        for path, operations in schema["paths"].items():
            if path not in PUBLIC_PATHS:
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
