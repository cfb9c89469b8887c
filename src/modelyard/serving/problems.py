"""One error schema for every 4xx and 5xx: ``{"error": {"type", "message", "fields"}}``.

``fields`` lists ``{"field", "rule", "message"}`` for input that broke the request schema
(``records[0].month``, ``less_than_equal``, ...). Bodies never carry stack traces, file paths,
header values or internal identifiers; a 500 says only that the server failed, and the server
log holds the rest under the request id (``X-Request-ID``).
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

if TYPE_CHECKING:
    from modelyard.serving.auth import ApiKeys

MAX_FIELDS = 20
MAX_NAME = 100
log = logging.getLogger("modelyard.serving")


class ErrorField(BaseModel):
    field: str
    rule: str
    message: str


class ErrorDetail(BaseModel):
    type: str
    message: str
    fields: list[ErrorField]


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error a handler raises to answer with the error schema."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        fields: Iterable[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type, message
        self.fields, self.headers = list(fields), dict(headers or {})

    def response(self) -> Response:
        return problem_response(self.status, self.type, self.message, self.fields, self.headers)


def problem_response(
    status: int,
    type: str,
    message: str,
    fields: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return an error response in the stable schema."""
    body = {"error": {"type": type, "message": message, "fields": list(fields)}}
    return Response(
        json.dumps(body).encode(),
        status_code=status,
        headers=dict(headers or {}),
        media_type="application/json",
    )


def invalid_input(errors: list[Any], *, headers: Mapping[str, str] | None = None) -> ApiError:
    """Return the 422 for pydantic ``errors``: each bad field, the rule it broke, and why."""
    fields = [
        {
            "field": _location(error.get("loc", ())),
            "rule": str(error.get("type", "invalid")),
            "message": str(error.get("msg", ""))[:300],
        }
        for error in errors[:MAX_FIELDS]
    ]
    first = fields[0] if fields else {"field": "body", "message": "invalid"}
    more = f" (and {len(errors) - 1} more; see fields)" if len(errors) > 1 else ""
    message = f"Invalid request: {first['field']}: {first['message']}{more}."
    return ApiError(422, "invalid_input", message, fields=fields, headers=headers)


CLIENT_GONE = 499


def install_handlers(app: FastAPI, keys: ApiKeys | None = None) -> None:
    """Answer every error in the stable schema, 500s included.

    With ``keys``, a request for an unknown route or method that presents no valid key gets
    401 like every other route (routes cannot be listed without a key). A client gone
    mid-request is answered 499, which never reaches it and is logged as such, not as an error.
    """

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def on_validation(request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError | ValidationError) else []
        return invalid_input(list(errors)).response()

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        headers = request.headers
        if keys is not None and not keys.is_known(
            headers.get("authorization"), headers.get("x-api-key")
        ):
            try:
                keys.check(headers.get("authorization"), headers.get("x-api-key"))
            except ApiError as error:
                return error.response()
        phrase = http.HTTPStatus(exc.status_code).phrase
        messages = {
            404: "No such route; see /docs for the API.",
            405: "Method not allowed on this route; see the Allow header.",
        }
        type_ = phrase.lower().replace(" ", "_").replace("-", "_")
        allowed = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
        return problem_response(
            exc.status_code, type_, messages.get(exc.status_code, phrase), headers=allowed
        )

    async def on_error(request: Request, exc: Exception) -> Response:
        request_id = request.scope.get("state", {}).get("request_id", "")
        log.error("request %s failed", request_id, exc_info=exc)
        return problem_response(
            500,
            "internal_error",
            f"The server failed to answer this request; its log has the details under "
            f"request id {request_id}.",
            headers={"X-Request-ID": request_id},
        )

    async def on_disconnect(request: Request, exc: Exception) -> Response:
        return Response(status_code=CLIENT_GONE)

    app.add_exception_handler(ApiError, on_problem)
    app.add_exception_handler(ClientDisconnect, on_disconnect)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_error)


def _location(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part)[:MAX_NAME]
            text += f".{name}" if text else name
    return text or "body"
