"""Reading a SQL source from the real local PostgreSQL, and failing to reach one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from modelyard.data.sources import SourceSpec, read_source
from modelyard.errors import SourceConnectionError, SourceReadError

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def rides_table(postgres_url: str) -> Iterator[str]:
    """A table of three rides in the `test` database, dropped afterwards."""
    table = f"rides_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text(f"create table {table} (id int primary key, city text, fare real)")
            )
            connection.execute(
                sqlalchemy.text(f"insert into {table} values (:id, :city, :fare)"),
                [
                    {"id": 1, "city": "Oslo", "fare": 9.5},
                    {"id": 2, "city": "Lima", "fare": 12.25},
                    {"id": 3, "city": None, "fare": None},
                ],
            )
        yield table
    finally:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"drop table if exists {table}"))
        engine.dispose()


def test_reads_a_postgres_query(postgres_url: str, rides_table: str, tmp_path: Path) -> None:
    spec = SourceSpec(url=postgres_url, query=f"select * from {rides_table} order by id")

    df = read_source(spec, base_dir=tmp_path)

    assert df["id"].tolist() == [1, 2, 3]
    assert df["city"].tolist()[:2] == ["Oslo", "Lima"]
    assert pd.isna(df["city"].iloc[2])
    assert df["fare"].tolist()[:2] == [9.5, 12.25]


def test_a_bad_query_names_the_problem(postgres_url: str, tmp_path: Path) -> None:
    spec = SourceSpec(url=postgres_url, query="select * from no_such_table_here")

    with pytest.raises(SourceReadError, match=r'the query failed: relation "no_such_table_here"'):
        read_source(spec, base_dir=tmp_path)


def test_a_closed_port_is_a_connection_error_with_the_password_masked(tmp_path: Path) -> None:
    spec = SourceSpec(url="postgresql+psycopg://ada:s3cret@127.0.0.1:1/test", query="select 1")

    expected = (
        r"Cannot connect to 'postgresql\+psycopg://ada:\*{8}@127\.0\.0\.1:1/test': .*refused.*"
        r"Check that the database server is running"
    )
    with pytest.raises(SourceConnectionError, match=expected) as caught:
        read_source(spec, base_dir=tmp_path)
    assert "s3cret" not in str(caught.value)
