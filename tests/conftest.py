"""Fixtures shared by every test: a seed, and guards for the real services."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
POSTGRES_URL = os.environ.get(
    "MODELYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("MODELYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def services_required() -> bool:
    """In CI an unreachable service fails its tests instead of skipping them."""
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("MODELYARD_REQUIRE_SERVICES") == "1"
    )


def is_reachable(address: tuple[str, int], timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def _require(name: str, address: tuple[str, int]) -> None:
    if is_reachable(address):
        return
    message = f"{name} is not reachable on {address[0]}:{address[1]}"
    if services_required():
        pytest.fail(f"{message}, and CI requires it (start the service)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def seed() -> int:
    """The one seed tests use, so failures reproduce."""
    return 20131


@pytest.fixture
def postgres_url() -> str:
    """A SQLAlchemy URL of the local PostgreSQL `test` database."""
    _require("PostgreSQL", POSTGRES)
    return POSTGRES_URL


@pytest.fixture
def redis_url() -> str:
    """The URL of the local Redis server."""
    _require("Redis", REDIS)
    return REDIS_URL


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Drop MODELYARD_* variables so a developer's shell cannot change a test's outcome."""
    for name in list(os.environ):
        if name.startswith("MODELYARD_") and name != "MODELYARD_REQUIRE_SERVICES":
            monkeypatch.delenv(name)
    return
