"""GET /v1/models/{name}/ready: one model's readiness (RELIABILITY RR-1)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from fastapi.testclient import TestClient

from modelyard.serving.app import create_app
from modelyard.serving.model import ServedModel
from modelyard.serving.settings import ServeSettings


def test_the_served_model_is_ready_once_loaded(
    serve: Callable[..., TestClient], load: Callable[..., ServedModel]
) -> None:
    client = serve(load("onnx", 4))
    response = client.get("/v1/models/m/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "model": "m", "version": 4, "alias": "champion"}


def test_another_name_is_404_naming_the_model_served(
    serve: Callable[..., TestClient], load: Callable[..., ServedModel]
) -> None:
    response = serve(load()).get("/v1/models/other/ready")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "unknown_model"
    assert "'m'" in error["message"]


def test_not_ready_before_a_model_loads_and_while_draining(
    settings: ServeSettings, load: Callable[..., ServedModel]
) -> None:
    # a source whose watcher never runs (no lifespan): no model is loaded
    source = SimpleNamespace(ref=settings.model_ref)
    empty = TestClient(create_app(settings, source=source), raise_server_exceptions=False)  # type: ignore[arg-type]
    assert empty.get("/v1/models/m/ready").status_code == 503

    app = create_app(settings, model=load())
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/v1/models/m/ready").status_code == 200
    app.state.serving.drain()
    draining = client.get("/v1/models/m/ready")
    assert draining.status_code == 503
    assert "draining" in draining.json()["error"]["message"]
