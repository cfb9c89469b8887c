"""The data steps: ingest (read, check, snapshot, store), validate, split, profile.

Nothing downstream of a failed contract runs: ``ingest`` raises before writing a byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import NotIngestedError

if TYPE_CHECKING:
    import pandas as pd

    from modelyard.data.report import ValidationReport
    from modelyard.data.snapshot import Snapshot
    from modelyard.data.source_spec import SourceSpec
    from modelyard.pipelines.specs import IngestSpec, SplitSpec

Stage = Callable[[str], None]
SPLITS = ("train", "valid", "test")


def quiet(_: str) -> None:
    """Report nothing; the default stage callback."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ``ingest`` stored."""

    path: Path
    snapshot: Snapshot
    report: ValidationReport | None


@dataclass(frozen=True, slots=True)
class SplitResult:
    """Where each split went, with its size and content digest."""

    strategy: str
    seed: int
    paths: dict[str, Path]
    rows: dict[str, int]
    digests: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-safe data."""
        return {
            "strategy": self.strategy,
            "seed": self.seed,
            "splits": {
                name: {
                    "path": str(self.paths[name]),
                    "rows": self.rows[name],
                    "digest": self.digests[name],
                }
                for name in self.paths
            },
        }


def read_dataset(spec: SourceSpec, *, base_dir: Path, on_stage: Stage = quiet) -> pd.DataFrame:
    """Read a source into a DataFrame."""
    from modelyard.data.sources import read_source

    on_stage(f"reading {spec.uri or spec.url or 'query'}")
    return read_source(spec, base_dir=base_dir)


def check_dataset(
    df: pd.DataFrame, contract_path: Path, *, source: str, on_stage: Stage = quiet
) -> ValidationReport:
    """Check a DataFrame against the contract at ``contract_path`` and return the report."""
    from modelyard.data.contract import check_contract, load_contract

    on_stage(f"checking {len(df):,} rows against {contract_path.name}")
    return check_contract(df, load_contract(contract_path), source=source)


def ingest(
    spec: IngestSpec,
    *,
    contract_path: Path | None,
    out: Path,
    snapshot_path: Path,
    on_stage: Stage = quiet,
) -> IngestResult:
    """Read a source, enforce its contract, and store it as Parquet with its snapshot.

    With ``spec.window`` (``180d``), only the latest rows are kept: those whose
    ``spec.timestamp`` is after the newest one minus the window (relative to the data, not the
    clock, so the same source gives the same rows).

    Raises:
        ContractViolationError: the data breaks the contract; nothing is written.
    """
    from modelyard.data.snapshot import save_snapshot, take_snapshot
    from modelyard.data.sources import write_parquet_atomic
    from modelyard.errors import ContractViolationError

    df = read_dataset(spec.source, base_dir=spec.base_dir, on_stage=on_stage)
    if spec.window is not None:
        df = latest_window(df, spec.window, spec.timestamp, on_stage=on_stage)
    report = None
    if contract_path is not None:
        source = describe_source(spec.source)
        report = check_dataset(df, contract_path, source=source, on_stage=on_stage)
        if not report.passed:
            raise ContractViolationError(report)
    on_stage("computing the snapshot digest")
    snapshot = take_snapshot(df)
    on_stage(f"writing {out.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(df, out)
    save_snapshot(snapshot, snapshot_path)
    return IngestResult(path=out, snapshot=snapshot, report=report)


def latest_window(
    df: pd.DataFrame, window: str, timestamp: str | None, *, on_stage: Stage = quiet
) -> pd.DataFrame:
    """Keep the rows of the latest ``window`` by ``timestamp`` (see ``ingest``).

    Raises:
        ConfigValueError: No timestamp column is configured, or it is not in the data.
    """
    import pandas as pd

    from modelyard.config.durations import parse_duration
    from modelyard.errors import ConfigValueError

    if timestamp is None or timestamp not in df.columns:
        raise ConfigValueError(
            [
                f"monitoring.retrain.window={window!r} needs the data's time column, but "
                + (
                    "data.timestamp is not set. "
                    if timestamp is None
                    else f"data.timestamp={timestamp!r} is not a column of the source. "
                )
                + "Set data.timestamp to a datetime column, or remove the window."
            ]
        )
    stamps = pd.to_datetime(df[timestamp])
    start = stamps.max() - parse_duration(window)
    kept = df.loc[stamps > start].reset_index(drop=True)
    on_stage(f"keeping the latest {window}: {len(kept):,} of {len(df):,} rows after {start}")
    return kept


def load_ingested(path: Path) -> pd.DataFrame:
    """Read the ingested dataset, or say how to make it."""
    import pandas as pd

    if not path.is_file():
        raise NotIngestedError(path)
    return pd.read_parquet(path)


def split_dataset(
    spec: SplitSpec, dataset: Path, out_dir: Path, *, on_stage: Stage = quiet
) -> SplitResult:
    """Split the ingested dataset into train/valid/test Parquet files, with a manifest."""
    from modelyard.data.snapshot import take_snapshot
    from modelyard.data.sources import write_parquet_atomic
    from modelyard.data.split import apply_split, split_frame

    df = load_ingested(dataset)
    on_stage(f"splitting {len(df):,} rows ({spec.strategy})")
    split = split_frame(
        df, strategy=spec.strategy, valid=spec.valid, test=spec.test, seed=spec.seed,
        target=spec.target, timestamp=spec.timestamp, group=spec.group,
    )  # fmt: skip
    parts = apply_split(df, split)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, rows, digests = {}, {}, {}
    for name in SPLITS:
        frame = parts[name]
        on_stage(f"writing {name} ({len(frame):,} rows)")
        paths[name] = out_dir / f"{name}.parquet"
        write_parquet_atomic(frame, paths[name])
        rows[name] = len(frame)
        digests[name] = take_snapshot(frame).digest
    result = SplitResult(spec.strategy, spec.seed, paths, rows, digests)
    manifest = out_dir / "split.json"
    manifest.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    return result


def describe_source(spec: SourceSpec) -> str:
    from modelyard.config.secrets import mask_url_passwords

    if spec.url:
        return mask_url_passwords(spec.url)
    return spec.uri or (spec.query or "query")
