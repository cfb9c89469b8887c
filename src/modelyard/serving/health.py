"""Liveness and readiness answers, shared by the main app and the admin listener.

Each function returns ``(status, JSON body)``; a body for 503 or 404 is in the error schema.
"""

from __future__ import annotations

import json

from modelyard.serving.state import ServingState

LIVE = (200, b'{"status": "live"}')


def readiness(state: ServingState) -> tuple[int, bytes]:
    """200 with the model and version serving; 503 before a model is loaded and while draining."""
    model = state.model
    if model is None or state.draining:
        reason = "draining for shutdown" if state.draining else "no model loaded yet"
        return 503, _error("not_ready", f"Not ready: {reason}.")
    body = {"status": "ready", "model": model.name, "version": model.version}
    return 200, json.dumps(body).encode()


def model_readiness(state: ServingState, name: str) -> tuple[int, bytes]:
    """Readiness of model ``name``: 404 when it is not the one served here."""
    served = state.settings.model_ref.name
    if name != served:
        message = f"This server serves {served!r} only; ask /v1/models/{served}/ready."
        return 404, _error("unknown_model", message)
    model = state.model
    if model is None or state.draining:
        reason = "draining for shutdown" if state.draining else "not loaded yet"
        return 503, _error("not_ready", f"Model {served!r} is not ready: {reason}.")
    body = {"status": "ready", "model": model.name, "version": model.version,
            "alias": model.alias}  # fmt: skip
    return 200, json.dumps(body).encode()


def _error(type_: str, message: str) -> bytes:
    return json.dumps({"error": {"type": type_, "message": message, "fields": []}}).encode()
