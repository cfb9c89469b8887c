"""The alias watcher swaps in new versions, and a version that fails to load changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_support import RECORD

from modelyard.errors import ArtifactIntegrityError, ModelNotFoundError
from modelyard.serving.app import create_app
from modelyard.serving.model import ServedModel
from modelyard.serving.settings import ModelRef, ServeSettings
from modelyard.serving.state import ServingState
from modelyard.serving.watcher import watch_alias


class FakeSource:
    """A registry source whose alias a test moves by hand."""

    def __init__(self, models: dict[int, ServedModel], broken: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.ref = ModelRef("m", alias="champion")
        self.models, self.broken = models, broken
        self.alias: int | None = 1
        self.loads: list[int] = []

    def target(self) -> int:
        if self.alias is None:
            raise ModelNotFoundError("m", ref="champion")
        return self.alias

    def load(self, version: int) -> ServedModel:
        self.loads.append(version)
        if version in self.broken:
            raise ArtifactIntegrityError(f"version {version}: model.onnx changed (sha256 differs)")
        return self.models[version]


async def settle(state: ServingState, version: int, seconds: float = 2.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if state.model is not None and state.model.version == version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still serving {state.model and state.model.version}, not {version}")


def loads_by_outcome(state: ServingState) -> dict[str, float]:
    return {
        sample.labels["outcome"]: sample.value
        for family in state.metrics.model_loads.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def test_watcher_swaps_refuses_a_broken_version_and_follows_the_alias_back(
    load: Callable[..., ServedModel], settings: ServeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    models = {1: load("onnx", 1), 2: load("onnx-v2", 2), 3: load("onnx", 3)}
    source = FakeSource(models, broken={3})
    app = create_app(settings, model=models[1], source=source)  # type: ignore[arg-type]
    state: ServingState = app.state.serving

    async def scenario() -> None:
        watcher = asyncio.create_task(watch_alias(state, source, interval_s=0.01))  # type: ignore[arg-type]
        try:
            source.alias = 2
            await settle(state, 2)
            source.alias = 3
            await asyncio.sleep(0.2)  # many polls: the broken version is tried once
            assert state.model is models[2]
            source.alias = None  # the registry hiccups: keep serving
            await asyncio.sleep(0.05)
            source.alias = 1
            await settle(state, 1)
        finally:
            watcher.cancel()
            with pytest.raises(asyncio.CancelledError):
                await watcher

    asyncio.run(scenario())

    assert source.loads == [2, 3, 1]
    assert loads_by_outcome(state) == {
        "loaded": 2.0,
        "integrity_error": 1.0,
        "unsafe": 0.0,  # every outcome starts at 0, so increase() sees the first one
        "error": 0.0,
    }
    assert "refused version 3 of m, still serving version 2" in caplog.text
    assert "sha256 differs" in caplog.text


def test_without_a_model_the_app_is_not_ready_until_the_watcher_loads_one(
    load: Callable[..., ServedModel], settings: ServeSettings
) -> None:
    source = FakeSource({1: load()})
    app = create_app(settings.with_overrides(watch_interval_s=0.05), source=source)  # type: ignore[arg-type]
    client = TestClient(app)

    assert client.get("/health/ready").status_code == 503
    assert client.post("/v1/predict", json={"records": [RECORD]}).status_code == 503
    with client:  # the lifespan starts the watcher, which loads at once
        for _ in range(100):
            if client.get("/health/ready").status_code == 200:
                break
            asyncio.run(asyncio.sleep(0.02))
        ready = client.get("/health/ready")
        assert ready.json() == {"status": "ready", "model": "m", "version": 1}
        assert client.post("/v1/predict", json={"records": [RECORD]}).status_code == 200
    assert client.get("/health/ready").status_code == 503  # shut down: draining


def test_each_request_uses_the_model_it_started_with(
    load: Callable[..., ServedModel], settings: ServeSettings
) -> None:
    first, second = load("onnx", 1), load("onnx-v2", 2)
    app = create_app(settings, model=first)
    state: ServingState = app.state.serving
    original = first.runtime.predict

    def swap_mid_request(records: Any) -> Any:
        state.swap(second)  # the swap lands while this request is predicting
        return original(records)

    first.runtime.predict = swap_mid_request  # type: ignore[method-assign]
    with TestClient(app) as client:
        during = client.post("/v1/predict", json={"records": [RECORD]})
        after = client.post("/v1/predict", json={"records": [RECORD]})

    assert during.headers["x-model-version"] == "1"
    assert during.json()["model"]["version"] == 1
    assert during.json()["predictions"] == first.predict([RECORD])
    assert after.headers["x-model-version"] == "2"
    assert after.json()["predictions"] == second.predict([RECORD])
    assert first.predict([RECORD]) != second.predict([RECORD])


def test_model_route_describes_version_runtime_card_and_inputs(
    load: Callable[..., ServedModel], settings: ServeSettings
) -> None:
    with TestClient(create_app(settings, model=load("native"))) as client:
        body = client.get("/v1/model").json()

    assert (body["name"], body["version"], body["alias"], body["runtime"]) == (
        "m",
        1,
        "champion",
        "native",
    )
    assert body["card"]["test_metrics"] == {"roc_auc": 0.81}
    assert body["card"]["gates"] == "passed"
    assert [c["name"] for c in body["inputs"]] == list(RECORD)
    assert body["inputs"][3]["allowed"] == ["AA", "DL", "UA"]


def test_openapi_shows_the_real_input_fields(
    load: Callable[..., ServedModel], settings: ServeSettings
) -> None:
    with TestClient(create_app(settings, model=load())) as client:
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")

    record = schema["components"]["schemas"]["Record"]
    assert record["additionalProperties"] is False
    assert record["properties"]["hour"]["maximum"] == 23
    assert record["properties"]["carrier"]["enum"] == ["AA", "DL", "UA"]
    assert set(record["required"]) == set(RECORD)
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == {"records": [RECORD]}  # the float 17.0 of an int column fixed
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
