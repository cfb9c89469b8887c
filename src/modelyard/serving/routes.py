"""The endpoints: prediction, feedback, model description, metrics, health.

Each handler reads ``state.model`` once and uses that model throughout, so the
``X-Model-Version`` header always names the model that produced the body, even mid-swap.

``POST /v1/predict`` is also a plain ASGI app, ``PredictEndpoint``, which the guard calls
directly: FastAPI's routing, dependency solving and response classes cost more than the
prediction itself. Its FastAPI route documents it and answers through the same code.

A prediction's deadline (``request_timeout_s``) runs from the moment the app sees the request:
waiting for admission, reading the body, validating and predicting all count, and a request
past it is not validated or predicted any further (504). A client gone mid-body is not an
error: nothing is answered, and the guard records status 499.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from modelyard.errors import FeatureError
from modelyard.serving.admission import OverloadedError
from modelyard.serving.auth import ApiKeys, api_key_guard
from modelyard.serving.health import LIVE, model_readiness, readiness
from modelyard.serving.metrics import CONTENT_TYPE
from modelyard.serving.model import Outputs, ServedModel
from modelyard.serving.problems import ApiError, ErrorBody, invalid_input
from modelyard.serving.protocol import ARRIVED_KEY, BODY_IN_KEY
from modelyard.serving.schema import FeedbackResponse, ModelDescription, PredictResponse
from modelyard.serving.state import ServingState

JSON = "application/json"
PREDICT_PATH = "/v1/predict"
_JSON_HEADER = (b"content-type", JSON.encode())
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Host header not allowed.",
        401: "Missing or invalid API key.",
        403: "The key lacks this route's scope.",
        404: "This server does not serve a model of that name.",
        413: "Body too large.",
        415: "Body is not JSON.",
        422: "Input breaks the schema.",
        503: "No model loaded yet, or overloaded (see Retry-After).",
        504: "The prediction timed out.",
    }.items()
}
_COMMON: dict[int | str, dict[str, Any]] = {status: _ERRORS[status] for status in (400, 401, 403)}


class PredictEndpoint:
    """``POST /v1/predict`` as a plain ASGI app: API key, then the prediction.

    Args:
        state: The app's state.
        keys: The accepted API keys, checked as the guarded router's dependency checks them.
    """

    def __init__(self, state: ServingState, keys: ApiKeys) -> None:
        self.state, self.keys = state, keys
        self.timeout_s = state.settings.serving.request_timeout_s
        self._timeout_message = (
            f"The request took longer than {self.timeout_s:g} s to read and predict "
            "(serving.request_timeout_s)."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = api_key = content_type = None
        for name, value in scope["headers"]:  # the first of repeated headers, as Starlette
            if name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"authorization":
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"x-api-key" and api_key is None:
                api_key = value.decode("latin-1")
        try:
            self.keys.check(authorization, api_key)
            payload, version = await self.answer(scope, receive, content_type)
        except ApiError as error:
            await error.response()(scope, receive, send)
            return
        except ClientDisconnect:
            return  # nobody to answer: the guard records 499
        headers = [
            (b"content-length", str(len(payload)).encode()),
            _JSON_HEADER,
            (b"x-model-version", version.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def answer(
        self, scope: Scope, receive: Receive, content_type: str | None
    ) -> tuple[bytes, str]:
        """Predict the request's records; return the response body and the model version.

        Raises:
            ApiError: 503 (no model yet, or overloaded), 504, 415 or 422, in the error schema.
        """
        state = self.state
        model = _current(state)
        headers = {"X-Model-Version": model.version_label}
        _check_json(content_type, headers)
        admission = state.admission
        weight = admission.weight(_content_length(scope["headers"]))
        loop = asyncio.get_running_loop()
        deadline = (scope["state"].get(ARRIVED_KEY) or loop.time()) + self.timeout_s
        try:
            if scope["state"].get(BODY_IN_KEY) and admission.try_acquire(weight):
                # the whole body is already here and a slot was free: nothing below waits for
                # the client or the queue, so no timer is armed (but around a thread's work)
                try:
                    raw, outputs = await self._work(receive, model, headers, deadline)
                finally:
                    admission.release(weight)
            else:
                async with asyncio.timeout_at(deadline):
                    if not admission.try_acquire(weight):
                        await admission.acquire(weight)
                    try:
                        raw, outputs = await self._work(receive, model, headers, deadline)
                    finally:
                        admission.release(weight)
        except OverloadedError:
            state.metrics.rejections.inc()
            raise ApiError(
                503,
                "overloaded",
                "Too many predictions in flight; retry shortly.",
                headers={**headers, "Retry-After": "1"},
            ) from None
        except TimeoutError:
            raise ApiError(504, "timeout", self._timeout_message, headers=headers) from None
        except FeatureError as error:
            raise ApiError(422, "invalid_input", str(error), headers=headers) from None
        request_id = scope["state"]["request_id"]
        # what json.dumps gives for {"request_id", "model", "predictions"}, without the dict
        payload = (
            f'{{"request_id": "{request_id}", "model": {model.id_json}, '
            f'"predictions": {json.dumps(outputs)}}}'
        ).encode()
        state.record(request_id, model, raw, payload, outputs)
        return payload, model.version_label

    async def _work(
        self, receive: Receive, model: ServedModel, headers: dict[str, str], deadline: float
    ) -> tuple[bytes, Outputs]:
        """Read, validate and predict, giving up (TimeoutError) once ``deadline`` has passed."""
        loop = asyncio.get_running_loop()
        raw = await _read_body(receive)
        if loop.time() >= deadline:  # validating would only waste the CPU
            raise TimeoutError
        records = _validated(model.request, raw, headers)["records"]
        if len(records) <= model.runtime.inline_rows:
            return raw, model.predict(records)
        if loop.time() >= deadline:
            raise TimeoutError
        async with asyncio.timeout_at(deadline):
            outputs = await loop.run_in_executor(self.state.executor, model.predict, records)
        if loop.time() >= deadline:  # too late to be worth encoding
            raise TimeoutError
        return raw, outputs


@dataclass(frozen=True, slots=True)
class Routers:
    """The app's routers: public health probes, the ``predict``-scoped API, ``/metrics``
    (``metrics`` scope), and the predict endpoint as a plain ASGI app."""

    health: APIRouter
    guarded: APIRouter
    metrics: APIRouter
    predict: PredictEndpoint


def build_routers(state: ServingState, keys: ApiKeys) -> Routers:
    """Return the app's routers, guarded by ``keys``."""
    health = APIRouter(tags=["health"])
    guarded = APIRouter(dependencies=[Depends(api_key_guard(keys))], responses=_COMMON)
    scraped = APIRouter(dependencies=[Depends(api_key_guard(keys, "metrics"))], responses=_COMMON)
    endpoint = PredictEndpoint(state, keys)

    @health.get("/health/live", summary="Liveness: the event loop answers.")
    async def live() -> Response:
        return _json(LIVE)

    @health.get(
        "/health/ready",
        summary="Readiness: a model is loaded and the server is not draining.",
        responses={503: _ERRORS[503]},
    )
    async def ready() -> Response:
        return _json(readiness(state))

    @guarded.get(
        "/v1/models/{name}/ready",
        summary="Readiness of one model: served here, loaded, and not draining.",
        tags=["model"],
        responses={404: _ERRORS[404], 503: _ERRORS[503]},
    )
    async def model_ready(name: str) -> Response:
        return _json(model_readiness(state, name))

    @guarded.post(
        PREDICT_PATH,
        summary="Predict one or more records.",
        tags=["predict"],
        responses={200: {"model": PredictResponse}, **_ERRORS},
        description='Body: `{"records": [record, ...]}` with 1 to max_batch_rows records, '
        "each with exactly the model's input fields (null for a missing value).",
    )
    async def predict(request: Request) -> Response:
        # reached only without the guard's fast path (which answers the same way)
        payload, version = await endpoint.answer(
            request.scope, request.receive, request.headers.get("content-type")
        )
        return Response(payload, media_type=JSON, headers={"X-Model-Version": version})

    @guarded.post(
        "/v1/feedback",
        summary="Send the true label of a prediction.",
        tags=["predict"],
        status_code=202,
        responses={202: {"model": FeedbackResponse}, **_ERRORS},
        description='Body: `{"request_id", "label", "row"?}`. Labels for unknown request '
        "ids are accepted and stored with matched=false.",
    )
    async def feedback(request: Request) -> Response:
        model = _current(state)
        label = _validated(model.feedback, await _json_body(request, {}), {})
        accepted, matched = state.record_feedback(model, label)
        body = {"request_id": label["request_id"], "accepted": accepted, "matched": matched}
        return Response(json.dumps(body).encode(), status_code=202, media_type=JSON)

    @guarded.get(
        "/v1/model",
        summary="The model serving now.",
        tags=["model"],
        responses={200: {"model": ModelDescription}, 503: _ERRORS[503]},
    )
    async def describe() -> Response:
        model = _current(state)
        headers = {"X-Model-Version": model.version_label}
        return Response(
            json.dumps(model.describe(), default=str).encode(), media_type=JSON, headers=headers
        )

    @scraped.get(
        "/metrics",
        summary="Prometheus metrics (keys with the metrics scope may read them).",
        tags=["model"],
        responses={200: {"content": {CONTENT_TYPE: {}}}},
    )
    async def metrics() -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE)

    return Routers(health, guarded, scraped, endpoint)


def _json(answer: tuple[int, bytes]) -> Response:
    return Response(answer[1], status_code=answer[0], media_type=JSON)


def _current(state: ServingState) -> ServedModel:
    model = state.model
    if model is None:
        raise ApiError(
            503, "not_ready", "No model is loaded yet; retry shortly.", headers={"Retry-After": "1"}
        )
    return model


async def _json_body(request: Request, headers: dict[str, str]) -> bytes:
    _check_json(request.headers.get("content-type"), headers)
    return await request.body()


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _check_json(content_type: str | None, headers: dict[str, str]) -> None:
    if content_type is None or content_type.split(";", 1)[0].strip().lower() != JSON:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the body as JSON with 'Content-Type: application/json'.",
            headers=headers,
        )


async def _read_body(receive: Receive) -> bytes:
    """Return the whole request body (the guard caps its size as it streams in)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if not chunks:
                return body  # the common case: one message
            chunks.append(body)
            return b"".join(chunks)
        chunks.append(body)


def _validated(adapter: Any, body: bytes, headers: dict[str, str]) -> Any:
    try:
        return adapter.validate_json(body)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_input=False, include_context=False)
        raise invalid_input(list(errors), headers=headers) from None
