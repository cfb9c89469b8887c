"""A snapshot digest names the data, not the file, the process or the machine it came from."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelyard.data.snapshot import Snapshot, load_snapshot, save_snapshot, take_snapshot
from modelyard.data.sources import SourceSpec, read_source, write_parquet_atomic
from modelyard.errors import NotIngestedError, SourceReadError


@pytest.fixture
def frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = 300
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "city": rng.choice(["Oslo", "Lima", "Kyoto", "Accra"], size=rows),
            "fare": rng.integers(0, 4000, size=rows) / 4,  # exact in decimal, so CSV-safe
            "late": rng.integers(0, 2, size=rows),
        }
    )


def test_digest_is_stable_through_a_parquet_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    write_parquet_atomic(frame, tmp_path / "rides.parquet")

    read_back = read_source(SourceSpec(uri="rides.parquet"), base_dir=tmp_path)

    assert take_snapshot(read_back).digest == take_snapshot(frame).digest


def test_one_parquet_and_chunked_csvs_of_the_same_data_share_a_digest(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    frame.to_parquet(tmp_path / "rides.parquet", index=False)
    (tmp_path / "chunks").mkdir()
    for number, chunk in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[chunk].to_csv(tmp_path / "chunks" / f"part-{number}.csv", index=False)

    whole = read_source(SourceSpec(uri="rides.parquet"), base_dir=tmp_path)
    chunked = read_source(SourceSpec(uri="chunks/*.csv"), base_dir=tmp_path)

    assert take_snapshot(chunked).digest == take_snapshot(whole).digest


def test_digest_ignores_the_index(frame: pd.DataFrame) -> None:
    shuffled_index = frame.set_axis(np.arange(len(frame))[::-1] * 7)

    assert take_snapshot(shuffled_index).digest == take_snapshot(frame).digest


def test_digest_is_the_same_in_another_process(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "rides.parquet"
    frame.to_parquet(path, index=False)
    program = (
        "import sys, pandas as pd\n"
        "from modelyard.data.snapshot import take_snapshot\n"
        "print(take_snapshot(pd.read_parquet(sys.argv[1])).digest)\n"
    )
    digests = set()
    for hash_seed in ("1", "4242"):
        environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", program, str(path)],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        digests.add(result.stdout.strip())

    assert digests == {take_snapshot(frame).digest}


KNOWN_DIGEST = "03f6ceac5f1f0cc1c1bffcd3d55d7c022d59a2e0380c04f7ef6bf37012d76fec"


def test_digest_of_known_data_never_changes() -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "fare": [9.5, -0.0, np.nan]})

    # If this fails, every stored snapshot is stale: bump DIGEST_VERSION and say so in the notes.
    assert take_snapshot(df).digest == KNOWN_DIGEST


def change_one_value(df: pd.DataFrame) -> pd.DataFrame:
    changed = df.copy()
    changed.loc[150, "fare"] += 0.25
    return changed


CHANGES: list[object] = [
    pytest.param(change_one_value, id="one-value"),
    pytest.param(lambda df: df.rename(columns={"fare": "price"}), id="renamed-column"),
    pytest.param(lambda df: df[["city", "id", "fare", "late"]], id="column-order"),
    pytest.param(lambda df: df.astype({"late": "float64"}), id="int-to-float"),
    pytest.param(lambda df: df.astype({"late": "Int64"}), id="int-to-nullable-int"),
    pytest.param(lambda df: df.astype({"city": "category"}), id="str-to-category"),
    pytest.param(lambda df: df.iloc[:-1], id="one-row-fewer"),
    pytest.param(lambda df: df.iloc[::-1], id="row-order"),
    pytest.param(lambda df: df.drop(columns="late"), id="one-column-fewer"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_digest_changes_with_the_data_or_schema(
    frame: pd.DataFrame, change: Callable[[pd.DataFrame], pd.DataFrame]
) -> None:
    assert take_snapshot(change(frame)).digest != take_snapshot(frame).digest


def test_snapshot_records_shape_and_schema(frame: pd.DataFrame) -> None:
    snapshot = take_snapshot(frame)

    assert (snapshot.rows, snapshot.columns) == (300, 4)
    assert [name for name, _ in snapshot.schema] == ["id", "city", "fare", "late"]
    assert dict(snapshot.schema)["fare"] == "float64"
    assert re.fullmatch(r"[0-9a-f]{64}", snapshot.digest)
    assert snapshot.created_at.endswith("+00:00")


def test_datetimes_in_different_units_share_a_digest() -> None:
    times = pd.Series(pd.to_datetime(["2024-01-01 10:00", "2024-03-01 12:30", None]))
    in_seconds = pd.DataFrame({"at": times.dt.as_unit("s")})
    in_nanoseconds = pd.DataFrame({"at": times.dt.as_unit("ns")})

    assert take_snapshot(in_seconds).digest == take_snapshot(in_nanoseconds).digest
    assert take_snapshot(in_seconds).schema == (("at", "datetime64"),)


def test_save_and_load_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    snapshot = take_snapshot(frame)
    path = tmp_path / ".modelyard" / "snapshot.json"

    save_snapshot(snapshot, path)

    assert load_snapshot(path) == snapshot
    assert json.loads(path.read_text())["digest"] == snapshot.digest
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot


def test_loading_a_missing_snapshot_asks_for_ingest(tmp_path: Path) -> None:
    with pytest.raises(NotIngestedError, match=r"Run `modelyard data ingest` first"):
        load_snapshot(tmp_path / "snapshot.json")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param('{"digest": "00"}', id="missing-fields"),
        pytest.param(
            '{"digest": "x", "rows": 1, "columns": 2, "schema": [], "created_at": ""}',
            id="columns-disagree",
        ),
    ],
)
def test_loading_a_broken_snapshot_says_to_ingest_again(tmp_path: Path, content: str) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text(content)

    with pytest.raises(
        SourceReadError, match=r"not a snapshot .* Run `modelyard data ingest` again"
    ):
        load_snapshot(path)
