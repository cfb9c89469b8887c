"""predict_batch: partitions per chunk, markers, byte-identical resume, and refusals (RR-7)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from modelyard.errors import DataError, FeatureError
from modelyard.inference.batch import BatchResult, ChunkReport, predict_batch
from modelyard.inference.inputs import resolve_inputs
from modelyard.inference.model import BatchModel
from modelyard.inference.partitions import OutputFolder

Rows = Callable[..., pd.DataFrame]


class SimulatedCrashError(Exception):
    """Stands in for the process dying between two chunks."""


def digests(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }


def run(
    model: BatchModel, source: Path, out: Path, chunk_rows: int = 20, **kwargs: Any
) -> BatchResult:
    return predict_batch(model, resolve_inputs(str(source)), out, chunk_rows=chunk_rows, **kwargs)


def test_each_chunk_becomes_a_partition_listed_in_the_success_manifest(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    reports: list[ChunkReport] = []
    result = run(classifier, rows_file, tmp_path / "out", on_chunk=reports.append)

    names = [f"part-{i:05d}.parquet" for i in range(5)]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "_RUN.json",
        "_SUCCESS.json",
        *names,
    ]
    assert (result.rows, result.scored_rows, result.partitions, result.skipped) == (95, 95, 5, ())
    assert [(r.index, r.rows, r.is_skipped) for r in reports] == [
        (0, 20, False), (1, 20, False), (2, 20, False), (3, 20, False), (4, 15, False),
    ]  # fmt: skip
    success = json.loads((tmp_path / "out" / "_SUCCESS.json").read_text())
    assert success["rows"] == 95
    assert success["chunk_rows"] == 20
    assert success["model"] == {"name": "m", "version": 1, "digest": classifier.digest}
    assert success["inputs"][0]["path"] == str(rows_file)
    assert success["inputs"][0]["size"] == rows_file.stat().st_size
    on_disk = digests(tmp_path / "out")
    assert [(p["name"], p["rows"]) for p in success["partitions"]] == list(
        zip(names, [20, 20, 20, 20, 15], strict=True)
    )
    assert all(p["sha256"] == on_disk[p["name"]] for p in success["partitions"])
    assert result.to_dict()["skipped_partitions"] == []


def test_the_output_is_every_input_row_once_in_order_with_predictions(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    run(classifier, rows_file, tmp_path / "out", chunk_rows=30)
    out = pd.read_parquet(tmp_path / "out")
    source = pd.read_parquet(rows_file)
    pd.testing.assert_frame_equal(out[source.columns], source)
    assert out["proba_1"].between(0, 1).all()
    assert pq.ParquetFile(tmp_path / "out" / "part-00000.parquet").metadata.num_row_groups == 1


def test_two_runs_write_the_same_bytes(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    run(classifier, rows_file, tmp_path / "a")
    run(classifier, rows_file, tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_a_rerun_after_a_crash_skips_complete_partitions_and_matches_a_clean_run(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    run(classifier, rows_file, tmp_path / "clean")
    out = tmp_path / "out"

    def die_after_two(report: ChunkReport) -> None:
        if report.index == 1:
            raise SimulatedCrashError

    with pytest.raises(SimulatedCrashError):
        run(classifier, rows_file, out, on_chunk=die_after_two)
    assert not (out / "_SUCCESS.json").exists()
    (out / ".part-00002.parquet.tmp").write_bytes(b"PAR1 half a partition")  # killed mid-write

    result = run(classifier, rows_file, out)

    assert result.skipped == (0, 1)
    assert result.scored_rows == 55
    assert digests(out) == digests(tmp_path / "clean")  # temp file gone, bytes identical


def test_a_damaged_partition_is_written_again(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    run(classifier, rows_file, tmp_path / "out")
    clean = digests(tmp_path / "out")
    (tmp_path / "out" / "part-00003.parquet").write_bytes(b"not parquet")
    result = run(classifier, rows_file, tmp_path / "out")
    assert result.skipped == (0, 1, 2, 4)
    assert digests(tmp_path / "out") == clean


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param("chunk", r"chunk rows 20 \(now 25\)", id="chunk-size"),
        pytest.param("model", r"model 'm' version 1 \(now 'm' version 2\)", id="model-version"),
        pytest.param("files", r"model 'm' version 1 \(now with other files\)", id="model-files"),
        pytest.param("input", r"input file\(s\) \['.*rows.parquet'\] changed", id="input-changed"),
    ],
)
def test_a_rerun_with_other_settings_is_refused_unless_restart(
    classifier: BatchModel,
    versions: dict[str, Path],
    rows_file: Path,
    rows: Rows,
    tmp_path: Path,
    change: str,
    match: str,
) -> None:
    out = tmp_path / "out"
    run(classifier, rows_file, out)
    model, chunk_rows = classifier, 20
    if change == "chunk":
        chunk_rows = 25
    elif change == "model":
        model = BatchModel(versions["binary_onnx"], name="m", version=2)
    elif change == "files":
        model = BatchModel(versions["other"], name="m", version=1)
    else:
        rows(96).to_parquet(rows_file)
    before = digests(out)

    with pytest.raises(DataError, match=match + r".*--restart"):
        run(model, rows_file, out, chunk_rows=chunk_rows)
    assert digests(out) == before

    result = run(model, rows_file, out, chunk_rows=chunk_rows, restart=True)
    assert result.skipped == ()
    success = json.loads((out / "_SUCCESS.json").read_text())
    assert sorted(p["name"] for p in success["partitions"]) == sorted(
        p.name for p in out.glob("part-*.parquet")
    )


def test_a_folder_with_other_files_is_refused(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match=r"files that batch scoring did not write \(keep.txt\)"):
        run(classifier, rows_file, out, restart=True)
    assert (out / "keep.txt").read_text() == "mine"


def test_partitions_without_a_run_marker_need_restart(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    run(classifier, rows_file, tmp_path / "out")
    (tmp_path / "out" / "_RUN.json").unlink()
    with pytest.raises(DataError, match=r"no _RUN\.json marker"):
        run(classifier, rows_file, tmp_path / "out")
    assert run(classifier, rows_file, tmp_path / "out", restart=True).partitions == 5


def test_a_folder_in_use_by_another_job_is_refused(
    classifier: BatchModel, rows_file: Path, tmp_path: Path
) -> None:
    files = resolve_inputs(str(rows_file))
    other = {"model": classifier.to_dict(), "chunk_rows": 20, "inputs": []}
    with OutputFolder(tmp_path / "out", other), pytest.raises(DataError, match="lock is held"):
        predict_batch(classifier, files, tmp_path / "out", chunk_rows=20)


def test_no_rows_is_refused_before_writing(
    classifier: BatchModel, rows: Rows, tmp_path: Path
) -> None:
    rows(0).to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(DataError, match=r"holds no rows \(1 file\(s\)"):
        run(classifier, tmp_path / "empty.parquet", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_model_column_is_refused_before_writing(
    classifier: BatchModel, rows: Rows, tmp_path: Path
) -> None:
    rows(10).rename(columns={"city": "cty"}).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(FeatureError, match=r"\['city'\].*Did you mean 'cty'\?"):
        run(classifier, tmp_path / "in.parquet", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_bad_value_names_the_rows_of_its_chunk(
    classifier: BatchModel, rows: Rows, tmp_path: Path
) -> None:
    frame = rows(50).astype({"amount": "object"})
    frame.loc[33, "amount"] = "lots"
    frame.astype({"amount": "str"}).to_parquet(tmp_path / "in.parquet")
    with pytest.raises(FeatureError, match=r"rows 20-39 of '.*in.parquet'.*'amount'.*'lots'"):
        run(classifier, tmp_path / "in.parquet", tmp_path / "out")
    assert sorted(os.listdir(tmp_path / "out")) == ["_RUN.json", "part-00000.parquet"]


def test_csv_and_parquet_inputs_score_alike(
    classifier: BatchModel, rows: Rows, tmp_path: Path
) -> None:
    frame = rows(45).drop(columns=["signup"])
    frame["signup"] = "2023-05-01 10:00:00"
    frame.to_parquet(tmp_path / "in.parquet")
    frame.to_csv(tmp_path / "in.csv", index=False)
    from_parquet = run(classifier, tmp_path / "in.parquet", tmp_path / "p")
    from_csv = run(classifier, tmp_path / "in.csv", tmp_path / "c")
    assert from_parquet.rows == from_csv.rows == 45
    scored_parquet = pd.read_parquet(tmp_path / "p")
    scored_csv = pd.read_parquet(tmp_path / "c")
    pd.testing.assert_series_equal(scored_parquet["proba_1"], scored_csv["proba_1"])
    assert list(scored_csv.columns) == list(scored_parquet.columns)
