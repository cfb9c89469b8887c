"""Peak memory and throughput of `modelyard predict` on 10 million rows (target: RSS < 1.5 GB).

Run: .venv/bin/python benchmarks/batch.py [--rows N] [--chunk-rows N] [--project DIR]
     [--workdir DIR] [--out FILE]

The input is synthetic: rows with the columns and types of the flights example's
`data/raw/flights.parquet` (categories drawn from the real values), written to a temporary
Parquet file one slice at a time, so the generator stays small too. The model is the champion of
`--project` (an already trained flights project), or of a flights project created here and trained
with small params. `modelyard predict --json` runs as a child process under `/usr/bin/time -v`
(or, where that is missing, with its peak RSS read from /proc while it runs); the report gives
the peak RSS, rows/s over the scoring (from the summary) and over the whole process (start-up,
model download and load included), and the load average when it started: on a busy machine,
trust the memory figure more than the speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TARGET_RSS_BYTES = 1.5e9
SLICE_ROWS = 500_000
SMALL_PARAMS = "params: {n_estimators: 20, num_leaves: 15}"
TIME = Path("/usr/bin/time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--project", type=Path, help="an already trained flights project")
    parser.add_argument("--workdir", type=Path, help="where input and output go (default: tmp)")
    parser.add_argument("--out", type=Path, help="also write the report here, as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="modelyard-bench-batch-", dir=args.workdir) as tmp:
        work = Path(tmp)
        project = args.project.resolve() if args.project else create_project(work / "flights")
        source = work / "input.parquet"
        started = time.perf_counter()
        write_rows(project / "data" / "raw" / "flights.parquet", source, args.rows)
        print(f"wrote {args.rows:,} rows ({source.stat().st_size / 1e6:,.0f} MB) "
              f"in {time.perf_counter() - started:.1f}s", file=sys.stderr)  # fmt: skip
        report = run_predict(project, source, work / "scored", args.chunk_rows)
    report["target_rss_bytes"] = TARGET_RSS_BYTES
    report["passed"] = report["peak_rss_bytes"] < TARGET_RSS_BYTES
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"peak RSS {report['peak_rss_bytes'] / 1e9:.2f} GB (target < 1.5 GB: "
        f"{'pass' if report['passed'] else 'FAIL'}); {report['rows_per_s']:,.0f} rows/s scoring, "
        f"{report['rows_per_s_process']:,.0f} rows/s for the whole process",
        file=sys.stderr,
    )


def create_project(root: Path) -> Path:
    """Write the flights example and train it with small params."""
    modelyard("example", "flights", str(root), cwd=root.parent)
    config = root / "modelyard.yaml"
    text = config.read_text()
    start = text.index("  params:")
    config.write_text(text[:start] + "  " + SMALL_PARAMS + text[text.index("\n", start) :])
    print("training a small flights model...", file=sys.stderr)
    modelyard("train", "--json", cwd=root)
    return root


def modelyard(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd, capture_output=True, text=True, check=False, env=_environ(),
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"modelyard {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def write_rows(flights: Path, dest: Path, rows: int, seed: int = 2013) -> None:
    """Write ``rows`` synthetic flights with the schema of ``flights``, a slice at a time."""
    schema = pq.read_schema(flights).remove_metadata()
    real = pq.read_table(flights, columns=["carrier", "dest", "tailnum"])
    choices = {name: real[name].drop_null().unique().to_numpy(zero_copy_only=False)
               for name in ("carrier", "dest", "tailnum")}  # fmt: skip
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(dest, schema, compression="snappy") as writer:
        for start in range(0, rows, SLICE_ROWS):
            n = min(SLICE_ROWS, rows - start)
            writer.write_table(pa.Table.from_pydict(_slice(rng, start, n, choices), schema=schema))


def _slice(
    rng: np.random.Generator, start: int, n: int, choices: dict[str, np.ndarray]
) -> dict[str, Any]:
    hours = rng.integers(0, 365 * 24, n)
    stamps = np.datetime64("2013-01-01T00:00", "us") + hours.astype("timedelta64[h]")
    age = rng.gamma(2.0, 6.0, n).round()
    return {
        "flight_id": np.arange(start, start + n, dtype=np.int64),
        "time_hour": stamps,
        "month": stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1,
        "day": rng.integers(1, 29, n),
        "weekday": (hours // 24 + 1) % 7,  # 2013-01-01 was a Tuesday
        "sched_dep_hour": rng.integers(5, 24, n),
        "sched_arr_hour": rng.integers(0, 24, n),
        "carrier": rng.choice(choices["carrier"], n),
        "flight": rng.integers(1, 6000, n),
        "tailnum": rng.choice(choices["tailnum"], n),
        "origin": rng.choice(np.array(["EWR", "JFK", "LGA"], dtype=object), n),
        "dest": rng.choice(choices["dest"], n),
        "distance": rng.uniform(80, 5000, n).round(),
        "plane_age": np.where(rng.random(n) < 0.1, np.nan, age),
        "temp": rng.normal(57.0, 18.0, n).round(2),
        "dewp": rng.normal(41.0, 19.0, n).round(2),
        "humid": rng.uniform(15, 100, n).round(2),
        "wind_speed": rng.gamma(2.5, 4.0, n).round(2),
        "precip": np.where(rng.random(n) < 0.95, 0.0, rng.uniform(0, 0.5, n).round(2)),
        "visib": np.where(rng.random(n) < 0.9, 10.0, rng.uniform(0, 10, n).round(2)),
        "arr_delayed": (rng.random(n) < 0.2).astype(np.int64),
    }


def run_predict(project: Path, source: Path, output: Path, chunk_rows: int) -> dict[str, Any]:
    """Run `modelyard predict --json` as a child; return its summary with peak RSS and times."""
    argv = [sys.executable, "-m", "modelyard", "predict", str(source), str(output),
            "--chunk-rows", str(chunk_rows), "--json"]  # fmt: skip
    load = os.getloadavg()[0]
    started = time.perf_counter()
    if TIME.exists():
        result = subprocess.run(
            [str(TIME), "-v", *argv], cwd=project, capture_output=True, text=True, check=False,
            env=_environ(),
        )  # fmt: skip
        stdout, stderr, code = result.stdout, result.stderr, result.returncode
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
        peak = int(match[1]) * 1024 if match else 0
        how = "/usr/bin/time -v"
    else:
        stdout, stderr, code, peak = _polled(argv, project)
        how = "/proc/PID/status VmHWM, polled"
    seconds = time.perf_counter() - started
    if code != 0:
        sys.exit(f"modelyard predict failed ({code}):\n{stderr[-3000:]}")
    summary: dict[str, Any] = json.loads(stdout)
    partitions = sorted(output.glob("part-*.parquet"))
    return {
        **summary,
        "peak_rss_bytes": peak,
        "peak_rss_measured_by": how,
        "process_seconds": round(seconds, 2),
        "rows_per_s_process": round(summary["rows"] / seconds, 1),
        "output_bytes": sum(p.stat().st_size for p in partitions),
        "load_average_at_start": load,
        "cpus": os.cpu_count(),
    }


def _polled(argv: list[str], cwd: Path) -> tuple[str, str, int, int]:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, env=_environ())
        peak = 0
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            try:
                found = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
            except OSError:
                break
            peak = max(peak, int(found[1]) * 1024 if found else 0)
            time.sleep(0.05)
        code = child.wait()
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), code, peak


def _environ() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    return environ


if __name__ == "__main__":
    main()
