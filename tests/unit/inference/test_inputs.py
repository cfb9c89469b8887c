"""Input files: found by path, folder or glob; streamed in chunks of exactly chunk_rows rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from modelyard.errors import FeatureError, SourceNotFoundError, SourceReadError
from modelyard.inference.inputs import check_columns, iter_chunks, resolve_inputs, total_rows

Rows = Callable[..., pd.DataFrame]


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def test_a_file_a_folder_and_a_glob_find_files_in_sorted_order(tmp_path: Path, rows: Rows) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("b.parquet", "a.parquet"):
        rows(10).to_parquet(data / name)
    write_csv(data / "c.csv", rows(4))
    (data / "notes.txt").write_text("not data")

    single = resolve_inputs("data/a.parquet", base_dir=tmp_path)
    in_folder = resolve_inputs(str(data))
    globbed = resolve_inputs("data/*.parquet", base_dir=tmp_path)

    assert [f.path.name for f in single] == ["a.parquet"]
    assert [f.path.name for f in in_folder] == ["a.parquet", "b.parquet", "c.csv"]
    assert [f.path.name for f in globbed] == ["a.parquet", "b.parquet"]
    assert single[0].path.is_absolute()
    assert single[0].rows == 10
    assert "amount" in single[0].columns
    assert total_rows(globbed) == 20
    assert total_rows(in_folder) is None  # a CSV's rows are known only by reading it


def test_nothing_matching_is_source_not_found(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"No data at 'missing/\*\.parquet'.*quote"):
        resolve_inputs("missing/*.parquet", base_dir=tmp_path)


def test_an_unsupported_file_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rows.json").write_text("{}")
    with pytest.raises(
        SourceReadError, match=r"unsupported file type '\.json'.*\.parquet and \.csv"
    ):
        resolve_inputs("*.json", base_dir=tmp_path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("bad.parquet", b"PAR1 this is not parquet", id="parquet-garbage"),
        pytest.param("bad.csv", b"a,b\n1,2\n3,4,5\n", id="csv-ragged"),
    ],
)
def test_a_corrupt_file_is_a_source_read_error(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceReadError, match=rf"Cannot read '.*{name}'"):
        resolve_inputs(name, base_dir=tmp_path)


def test_a_truncated_parquet_file_is_a_source_read_error(rows_file: Path) -> None:
    rows_file.write_bytes(rows_file.read_bytes()[:-100])
    with pytest.raises(SourceReadError, match="Cannot read"):
        resolve_inputs(str(rows_file))


def test_empty_files_have_no_rows(tmp_path: Path, rows: Rows) -> None:
    rows(0).to_parquet(tmp_path / "empty.parquet")
    (tmp_path / "zero.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("row_id,amount\n")
    found = {f.path.name: f for f in resolve_inputs(str(tmp_path))}
    assert {name: f.has_rows for name, f in found.items()} == {
        "empty.parquet": False,
        "header.csv": False,
        "zero.csv": False,
    }
    assert list(iter_chunks(list(found.values()), 10)) == []


@pytest.mark.parametrize("chunk_rows", [1, 7, 20, 30, 95, 1000])
def test_chunks_have_exactly_chunk_rows_rows_across_row_groups(
    rows_file: Path, chunk_rows: int
) -> None:
    files = resolve_inputs(str(rows_file))
    chunks = list(iter_chunks(files, chunk_rows))
    sizes = [chunk.table.num_rows for chunk in chunks]
    full, rest = divmod(95, chunk_rows)
    assert sizes == [chunk_rows] * full + ([rest] if rest else [])
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    assert [chunk.start for chunk in chunks] == [i * chunk_rows for i in range(len(chunks))]
    joined = pa.concat_tables([chunk.table for chunk in chunks]).to_pandas()
    pd.testing.assert_frame_equal(joined, pd.read_parquet(rows_file))


def test_chunks_never_span_files_and_are_numbered_across_them(tmp_path: Path, rows: Rows) -> None:
    rows(25).to_parquet(tmp_path / "a.parquet")
    write_csv(tmp_path / "b.csv", rows(12))
    chunks = list(iter_chunks(resolve_inputs(str(tmp_path)), 10))
    assert [(c.index, c.file.path.name, c.start, c.table.num_rows) for c in chunks] == [
        (0, "a.parquet", 0, 10),
        (1, "a.parquet", 10, 10),
        (2, "a.parquet", 20, 5),
        (3, "b.csv", 0, 10),
        (4, "b.csv", 10, 2),
    ]


def test_csv_is_streamed_in_chunks(tmp_path: Path, rows: Rows) -> None:
    path = write_csv(tmp_path / "rows.csv", rows(2500))
    chunks = list(iter_chunks(resolve_inputs(str(path)), 1000))
    assert [c.table.num_rows for c in chunks] == [1000, 1000, 500]
    assert chunks[0].table.column("row_id").to_pylist()[:3] == [0, 1, 2]


def test_a_missing_model_column_is_named_with_a_close_match(rows_file: Path) -> None:
    frame = pd.read_parquet(rows_file).rename(columns={"amount": "amont"})
    frame.to_parquet(rows_file)
    files = resolve_inputs(str(rows_file))
    with pytest.raises(FeatureError, match=r"no column\(s\) \['amount'\].*Did you mean 'amont'\?"):
        check_columns(files, ["amount", "city"])


def test_an_input_column_the_output_would_add_is_refused(rows_file: Path) -> None:
    files = resolve_inputs(str(rows_file))
    with pytest.raises(FeatureError, match=r"already has column\(s\) \['note'\]"):
        check_columns(files, ["amount"], reserved=["prediction", "note"])
