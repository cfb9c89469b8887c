"""S4: with API keys set, every route but the two health probes refuses missing or bad keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from serving_support import API_KEY, RECORD
from starlette.routing import BaseRoute

from modelyard.serving.app import ASSETS_PATH, HEALTH_PATHS
from modelyard.serving.auth import matches, presented_key
from modelyard.serving.model import ServedModel

Serve = Callable[..., TestClient]
PUBLIC_PATHS = HEALTH_PATHS | {ASSETS_PATH}
BAD_CREDENTIALS = [
    pytest.param({}, id="none"),
    pytest.param({"authorization": "Bearer wrong-key-0123456789abcdef"}, id="bad-bearer"),
    pytest.param({"x-api-key": "wrong-key-0123456789abcdef"}, id="bad-api-key"),
    pytest.param({"authorization": f"Basic {API_KEY}"}, id="wrong-scheme"),
    pytest.param({"authorization": "Bearer "}, id="empty-bearer"),
    pytest.param({"x-api-key": API_KEY[:-1]}, id="prefix-of-key"),
]


def routes_and_methods(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """Every (path, method) the app answers, included routers flattened."""
    return [
        (str(context.path), method)
        for context in iter_route_contexts(routes)
        for method in sorted(context.methods or ())
    ]


@pytest.fixture
def guarded(load: Callable[..., ServedModel], serve: Serve) -> TestClient:
    return serve(load(), api_keys=(API_KEY, "another-key-0123456789abcdef"))


def test_every_route_is_walked(guarded: TestClient) -> None:
    walked = {path for path, _ in routes_and_methods(guarded.app.routes)}  # type: ignore[attr-defined]

    assert walked >= {
        "/v1/predict",
        "/v1/feedback",
        "/v1/model",
        "/v1/models/{name}/ready",
        "/metrics",
        "/docs",
        "/openapi.json",
        "/health/live",
        "/health/ready",
    }


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS)
def test_every_route_outside_the_allowlist_refuses_bad_credentials(
    guarded: TestClient, credentials: dict[str, str]
) -> None:
    for path, method in routes_and_methods(guarded.app.routes):  # type: ignore[attr-defined]
        if path in PUBLIC_PATHS:
            continue
        response = guarded.request(method, path, headers=credentials, json={"records": [RECORD]})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["type"] == "unauthorized"
        assert API_KEY not in response.text


def test_every_guarded_route_carries_the_one_dependency(guarded: TestClient) -> None:
    """A route added without the router's dependency fails here, before any request."""
    contexts = list(iter_route_contexts(guarded.app.routes))  # type: ignore[attr-defined]
    assert len(contexts) >= 8
    for context in contexts:
        route = context.original_route
        assert isinstance(route, APIRoute), context.path  # no bare Starlette route slips by
        names = [d.call.__name__ for d in route.dependant.dependencies if d.call]
        expected = [] if route.path in PUBLIC_PATHS else ["require_api_key"]
        assert names[:1] == expected, route.path


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"authorization": f"Bearer {API_KEY}"}, id="bearer"),
        pytest.param({"authorization": f"bearer {API_KEY}"}, id="bearer-lower-case"),
        pytest.param({"x-api-key": API_KEY}, id="x-api-key"),
        pytest.param({"x-api-key": "another-key-0123456789abcdef"}, id="second-key"),
    ],
)
def test_a_valid_key_opens_every_route(guarded: TestClient, credentials: dict[str, str]) -> None:
    for path, method in routes_and_methods(guarded.app.routes):  # type: ignore[attr-defined]
        response = guarded.request(method, path, headers=credentials, json={"records": [RECORD]})
        assert response.status_code != 401, (method, path)


def test_health_probes_need_no_key(guarded: TestClient) -> None:
    for path in HEALTH_PATHS:
        assert guarded.get(path).status_code == 200


def test_openapi_documents_both_schemes(guarded: TestClient) -> None:
    schema = guarded.get("/openapi.json", headers={"x-api-key": API_KEY}).json()

    assert set(schema["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert "security" in schema["paths"]["/v1/predict"]["post"]
    assert "security" not in schema["paths"]["/health/ready"]["get"]


def test_without_keys_everything_is_open(load: Callable[..., ServedModel], serve: Serve) -> None:
    client = serve(load())

    assert client.get("/v1/model").status_code == 200
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})


def test_key_matching_reads_both_headers_and_compares_every_key() -> None:
    import hashlib

    digests = [hashlib.sha256(k.encode()).digest() for k in ("a" * 16, "b" * 16)]

    assert presented_key("Bearer  tok ", None) == "tok"
    assert presented_key(None, "tok") == "tok"
    assert presented_key("Token tok", None) is None
    assert matches("b" * 16, digests)
    assert not matches("c" * 16, digests)
