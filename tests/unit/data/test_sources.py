"""Reading a dataset from files, globs, fsspec URIs and DuckDB, and failing with the fix."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import fsspec
import numpy as np
import pandas as pd
import pytest

from modelyard.data.sources import SourceSpec, read_source, write_parquet_atomic
from modelyard.errors import SourceNotFoundError, SourceReadError

Writer = Callable[[pd.DataFrame, Path], None]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [1, 2, 3], "city": ["Oslo", "Lima", None], "fare": [9.5, 12.25, np.nan]}
    )


def write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False)


def write_jsonl(df: pd.DataFrame, path: Path) -> None:
    df.to_json(path, orient="records", lines=True)


FORMATS = [
    pytest.param("rides.csv", write_csv, id="csv"),
    pytest.param("rides.parquet", write_parquet, id="parquet"),
    pytest.param("rides.pq", write_parquet, id="pq"),
    pytest.param("rides.jsonl", write_jsonl, id="jsonl"),
    pytest.param("rides.ndjson", write_jsonl, id="ndjson"),
    pytest.param("rides.json", write_jsonl, id="json-lines"),
]


@pytest.mark.parametrize(("name", "write"), FORMATS)
def test_reads_each_format_by_extension(
    tmp_path: Path, frame: pd.DataFrame, name: str, write: Writer
) -> None:
    write(frame, tmp_path / name)

    df = read_source(SourceSpec(uri=name), base_dir=tmp_path)

    pd.testing.assert_frame_equal(df, frame, check_dtype=False)


def test_format_option_overrides_the_extension(tmp_path: Path, frame: pd.DataFrame) -> None:
    write_csv(frame, tmp_path / "rides.txt")

    df = read_source(SourceSpec(uri="rides.txt", format="csv"), base_dir=tmp_path)

    pd.testing.assert_frame_equal(df, frame)


def test_options_reach_the_reader(tmp_path: Path) -> None:
    (tmp_path / "rides.csv").write_text("id;fare\n1;2,5\n")

    spec = SourceSpec(uri="rides.csv", options={"sep": ";", "decimal": ","})
    df = read_source(spec, base_dir=tmp_path)

    assert df.to_dict("list") == {"id": [1], "fare": [2.5]}


def test_glob_concatenates_files_in_sorted_path_order(tmp_path: Path, frame: pd.DataFrame) -> None:
    (tmp_path / "parts").mkdir()
    for index in (2, 0, 1):  # written out of order on purpose
        write_parquet(frame.iloc[[index]], tmp_path / "parts" / f"part-{index}.parquet")

    df = read_source(SourceSpec(uri="parts/*.parquet"), base_dir=tmp_path)

    pd.testing.assert_frame_equal(df, frame)


def test_folder_reads_its_files_and_skips_hidden_ones(tmp_path: Path, frame: pd.DataFrame) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write_csv(frame.iloc[:1], folder / "a.csv")
    write_csv(frame.iloc[1:], folder / "b.csv")
    (folder / "_SUCCESS").write_text("")

    df = read_source(SourceSpec(uri="export"), base_dir=tmp_path)

    pd.testing.assert_frame_equal(df, frame)


def test_absolute_and_file_uris_ignore_base_dir(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "rides.csv"
    write_csv(frame, path)
    elsewhere = tmp_path / "elsewhere"

    by_path = read_source(SourceSpec(uri=str(path)), base_dir=elsewhere)
    by_uri = read_source(SourceSpec(uri=path.as_uri()), base_dir=elsewhere)

    pd.testing.assert_frame_equal(by_path, frame)
    pd.testing.assert_frame_equal(by_uri, frame)


@pytest.fixture
def memory_folder() -> Iterator[str]:
    root = f"memory://modelyard-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_reads_an_fsspec_memory_uri(memory_folder: str, frame: pd.DataFrame) -> None:
    for index, part in enumerate((frame.iloc[:1], frame.iloc[1:])):
        with fsspec.open(f"{memory_folder}/part-{index}.csv", "w") as handle:
            part.to_csv(handle, index=False)

    df = read_source(SourceSpec(uri=f"{memory_folder}/*.csv"), base_dir=Path("/unused"))

    pd.testing.assert_frame_equal(df, frame)


def test_reads_a_duckdb_file_with_a_query(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as connection:
        connection.execute("create table orders as select range as id from range(5)")

    spec = SourceSpec(uri="shop.duckdb", query="select id from orders where id >= 3")
    df = read_source(spec, base_dir=tmp_path)

    assert df["id"].tolist() == [3, 4]


def test_a_duckdb_file_is_opened_read_only(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as connection:
        connection.execute("create table orders (id int)")

    spec = SourceSpec(uri="shop.duckdb", query="insert into orders values (1)")
    with pytest.raises(SourceReadError, match=r"shop\.duckdb'?: the query failed: .*read-only"):
        read_source(spec, base_dir=tmp_path)


def test_a_duckdb_query_over_files_is_relative_to_base_dir(
    tmp_path: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    write_parquet(frame, tmp_path / "data" / "rides.parquet")
    monkeypatch.chdir(tmp_path / "data")  # the process's cwd must not matter

    query = "select id, fare from 'data/*.parquet' where id > ? order by id"
    df = read_source(SourceSpec(query=query, options={"params": [1]}), base_dir=tmp_path)

    assert df["id"].tolist() == [2, 3]
    assert Path.cwd() == tmp_path / "data"


def test_write_parquet_atomic_replaces_the_file_and_leaves_no_temp(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    path = tmp_path / "out" / "data.parquet"
    write_parquet_atomic(frame.iloc[:1], path)

    written = write_parquet_atomic(frame, path)

    assert written == path
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)
    assert os.listdir(path.parent) == ["data.parquet"]


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("missing.csv", id="file"),
        pytest.param("missing/*.parquet", id="glob"),
        pytest.param("missing.duckdb", id="duckdb"),
    ],
)
def test_missing_data_names_the_resolved_path(tmp_path: Path, uri: str) -> None:
    spec = SourceSpec(uri=uri, query="select 1" if uri.endswith(".duckdb") else None)

    expected = rf"No data at '{re.escape(str(tmp_path / uri))}'\. Check data\.source\.uri"
    with pytest.raises(SourceNotFoundError, match=expected):
        read_source(spec, base_dir=tmp_path)


def test_missing_file_in_a_duckdb_query_names_the_resolved_path(tmp_path: Path) -> None:
    spec = SourceSpec(query="select * from 'data/missing.parquet'")

    missing = re.escape(str(tmp_path / "data/missing.parquet"))
    expected = rf"No data at '{missing}'\. Check the paths"
    with pytest.raises(SourceNotFoundError, match=expected):
        read_source(spec, base_dir=tmp_path)


def test_corrupt_parquet_names_the_file_and_the_problem(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "rides.parquet"
    path.write_bytes(np.random.default_rng(seed).bytes(256))

    expected = rf"Cannot read '{re.escape(str(path))}': not valid parquet: .*magic bytes"
    with pytest.raises(SourceReadError, match=expected):
        read_source(SourceSpec(uri="rides.parquet"), base_dir=tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        pytest.param("bad.csv", "a,b\n1,2\n3,4,5,6\n", "Expected 2 fields in line 3", id="csv"),
        pytest.param("empty.csv", "", "No columns to parse", id="empty-csv"),
        pytest.param("bad.jsonl", '{"a": 1}\n{not json\n', "not valid jsonl", id="jsonl"),
    ],
)
def test_unreadable_text_files_name_the_file_and_the_problem(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    (tmp_path / name).write_text(content)

    expected = rf"Cannot read '{re.escape(str(tmp_path / name))}': .*{problem}"
    with pytest.raises(SourceReadError, match=expected):
        read_source(SourceSpec(uri=name), base_dir=tmp_path)


def test_unknown_extension_asks_for_a_format(tmp_path: Path) -> None:
    (tmp_path / "rides.xlsx").write_bytes(b"PK")

    with pytest.raises(SourceReadError, match=r"unknown format of extension '\.xlsx'\. Give data"):
        read_source(SourceSpec(uri="rides.xlsx"), base_dir=tmp_path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(SourceSpec(), "names no uri, url or query", id="empty"),
        pytest.param(SourceSpec(uri="shop.duckdb"), "a DuckDB database needs a query", id="no-q"),
        pytest.param(
            SourceSpec(uri="rides.csv", query="select 1"),
            "a query runs on a .duckdb database, and this is csv",
            id="query-on-csv",
        ),
        pytest.param(
            SourceSpec(query="selec 1"), "the query failed: Parser Error", id="duckdb-syntax"
        ),
        pytest.param(SourceSpec(uri="nope://x.csv"), "unknown protocol", id="protocol"),
        pytest.param(
            SourceSpec(uri="rides.csv", format="xlsx"),
            r"unknown format 'xlsx'\. Give data\.source\.format",
            id="unknown-format",
        ),
    ],
)
def test_sources_that_cannot_be_read_say_why(
    tmp_path: Path, spec: SourceSpec, message: str
) -> None:
    with pytest.raises(SourceReadError, match=message):
        read_source(spec, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "postgresql+psycopg2://ada:s3cret@db/x",
            r"'postgresql\+psycopg2://ada:\*+@db/x': the database driver 'psycopg2' is not "
            r"installed\. Install the driver: pip install 'modelyard\[postgres\]'",
            id="missing-driver",
        ),
        pytest.param("not a url", "not a SQLAlchemy URL", id="bad-url"),
        pytest.param("sqlite://", "the query failed: no such table: rides", id="bad-query"),
    ],
)
def test_sql_sources_that_cannot_be_read_say_why(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if the driver were not installed
    spec = SourceSpec(url=url, query="select * from rides")

    with pytest.raises(SourceReadError, match=message) as caught:
        read_source(spec, base_dir=Path("/unused"))
    assert "s3cret" not in str(caught.value)


def test_reads_a_sql_query_through_sqlalchemy(tmp_path: Path) -> None:
    spec = SourceSpec(url="sqlite://", query="select 1 as id, 'Oslo' as city")

    df = read_source(spec, base_dir=tmp_path)

    assert df.to_dict("records") == [{"id": 1, "city": "Oslo"}]
