"""Fixtures for the egress tests: loopback servers started on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from loopback_server import Server, start_server


@pytest.fixture
def servers() -> Iterator[Callable[[], Server]]:
    """Start loopback servers on demand; every one is shut down after the test."""
    started: list[Server] = []

    def start() -> Server:
        started.append(start_server())
        return started[-1]

    yield start
    for served in started:
        served.server.shutdown()
        served.server.server_close()
