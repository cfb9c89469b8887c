"""Fixtures: small real model versions, and apps serving them in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_support import SlowRuntime, build_version

from modelyard.features.bundle import read_bundle
from modelyard.serving.app import create_app
from modelyard.serving.model import ServedModel, build_served_model, load_served_model
from modelyard.serving.settings import ServeSettings


@pytest.fixture(scope="session")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Version folders: binary ONNX (v1, v2 with another seed), binary skops-only, regression."""
    root = tmp_path_factory.mktemp("versions")
    return {
        "onnx": build_version(root / "onnx", task="binary_classification", onnx=True, seed=1),
        "onnx-v2": build_version(root / "onnx-v2", task="binary_classification", onnx=True, seed=2),
        "native": build_version(root / "native", task="binary_classification", onnx=False, seed=1),
        "regression": build_version(root / "regression", task="regression", onnx=True, seed=1),
    }


@pytest.fixture
def load(versions: dict[str, Path]) -> Callable[..., ServedModel]:
    """Load a version folder by its key, as version ``version`` of model ``m``."""

    def loader(key: str = "onnx", version: int = 1, max_rows: int = 100) -> ServedModel:
        return load_served_model(
            versions[key],
            name="m",
            version=version,
            alias="champion",
            tags={"modelyard.gates": "passed"},
            max_rows=max_rows,
        )

    return loader


@pytest.fixture
def settings(tmp_path: Path) -> ServeSettings:
    """Settings for an in-process app: the test client's host allowed, logs in tmp_path."""
    return ServeSettings.of(
        "m@champion",
        "sqlite:///unused.db",
        tmp_path / "store",
        allowed_hosts=("testserver",),
        max_batch_rows=100,
        log_flush_s=0.2,
    )


@pytest.fixture
def serve(settings: ServeSettings) -> Iterator[Callable[..., TestClient]]:
    """Start an app in-process (lifespan included) and return a client; closed at teardown."""
    clients: list[TestClient] = []

    def start(model: ServedModel, **overrides: Any) -> TestClient:
        app = create_app(settings.with_overrides(**overrides), model=model)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def slow_model(versions: dict[str, Path]) -> Callable[[float], ServedModel]:
    """A served model whose predictions for hour 23 take ``delay`` seconds."""
    inputs = read_bundle(versions["onnx"]).inputs

    def make(delay: float) -> ServedModel:
        return build_served_model(SlowRuntime(delay), inputs, name="m", version=7)

    return make
