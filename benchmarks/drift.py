"""detect_drift against Evidently's DataDriftPreset (targets: >= 20x faster, <= 1/3 memory).

Run: .venv/bin/python benchmarks/drift.py [--rows 100000 1000000] [--repeats N] [--out FILE]
Needs .venv-evidently (`make evidently-env`); --no-evidently times modelyard alone.

For each size, one seeded dataset (20 numeric + 3 categorical columns, some shifted, some
stable, some with missing values) is written once as reference/current Parquet. Each side then
runs as its own fresh process on those files: modelyard in .venv (pandas 3), Evidently 0.7.23 in
.venv-evidently (pandas 2.3.3; it does not import with pandas 3). Both load the Parquet files
with the same code (pyarrow, one column at a time, into a pandas frame), then time their drift
call only, after a first untimed call (Evidently at 1M rows: one run, no warm-up):
modelyard's `detect_drift(ref, cur, columns=kinds)`; Evidently's `Dataset.from_pandas` x2 +
`Report([DataDriftPreset()], include_tests=True).run(...)`, which is what the ANCHORS timings
measure. Peak memory is each process's maximum resident set from `/usr/bin/time -v` (whole
process: interpreter, imports, both frames), as in ANCHORS; "RSS before" is its resident set
after loading the frames, so the difference is what the drift computation itself added. Both
use the same column kinds and drift_share 0.3; per-column verdicts are compared too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EVIDENTLY_PYTHON = ROOT / ".venv-evidently" / "bin" / "python"
TARGET_SPEEDUP, TARGET_MEMORY = 20.0, 1 / 3
TIME = "/usr/bin/time"
SHIFTS = {7: 0.15, 8: 0.5, 12: 0.08, 16: 0.3}  # numeric column -> mean shift in sd

COMMON = """\
import json, sys, time
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

def status_mib(field):  # VmRSS: resident now; VmHWM: the peak of this process image
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024

def load(path):  # column by column: pd.read_parquet peaks near twice the frame
    file = pq.ParquetFile(path)
    columns = {}
    for name in file.schema_arrow.names:
        columns[name] = file.read(columns=[name], use_threads=False).column(0).to_pandas()
        pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns, copy=False)

spec = json.loads(sys.argv[1])
ref, cur = load(spec["reference"]), load(spec["current"])
rss_before = status_mib("VmRSS")
times = []
for repeat in range(spec["warmup"] + spec["repeats"]):
    start = time.perf_counter()
    verdicts = run(ref, cur, spec)
    if repeat >= spec["warmup"]:
        times.append(time.perf_counter() - start)
print(json.dumps({"times": times, "rss_before_mib": rss_before,
                  "peak_mib": status_mib("VmHWM"), "verdicts": verdicts}))
"""

MODELYARD_SIDE = """\
from modelyard.monitoring.drift import detect_drift

def run(ref, cur, spec):
    report = detect_drift(ref, cur, columns=spec["kinds"], drift_share=0.3)
    return {c.column: [c.method, c.statistic if c.p_value is None else c.p_value, c.drifted]
            for c in report.columns}
"""

EVIDENTLY_SIDE = """\
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

def run(ref, cur, spec):
    kinds = spec["kinds"]
    definition = DataDefinition(
        numerical_columns=[c for c, k in kinds.items() if k == "numeric"],
        categorical_columns=[c for c, k in kinds.items() if k == "categorical"])
    report = Report([DataDriftPreset(drift_share=0.3)], include_tests=True)
    snapshot = report.run(Dataset.from_pandas(cur, data_definition=definition),
                          Dataset.from_pandas(ref, data_definition=definition)).dict()
    status = {t["metric_config"]["metric_id"]: t["status"] for t in snapshot["tests"]}
    return {m["config"]["column"]: [m["config"]["method"], m["value"], status[m["id"]] == "FAIL"]
            for m in snapshot["metrics"] if m["config"]["type"].endswith(":ValueDrift")}
"""


def make_windows(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Return reference and current frames of 20 numeric and 3 categorical columns, and kinds."""
    rng = np.random.default_rng(seed)
    ref: dict[str, Any] = {}
    cur: dict[str, Any] = {}
    for j in range(20):
        scale = 1.0 + 0.5 * (j == 10)
        ref[f"num_{j:02d}"] = rng.normal(size=rows)
        cur[f"num_{j:02d}"] = rng.normal(SHIFTS.get(j, 0.0), scale, size=rows)
    for frame, rate in ((ref, 0.05), (cur, 0.2)):
        frame["num_05"][rng.random(rows) < rate] = np.nan
    categories = np.array(list("abcdefgh"))
    shifted = np.array([0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
    for j, p_cur in enumerate((np.full(8, 1 / 8), shifted, np.full(8, 1 / 8))):
        ref[f"cat_{j}"] = rng.choice(categories, size=rows)
        cur[f"cat_{j}"] = rng.choice(categories, size=rows, p=p_cur)
    cur["cat_2"][rng.random(rows) < 0.02] = "unseen"
    kinds = {name: "numeric" if name.startswith("num") else "categorical" for name in ref}
    return pd.DataFrame(ref), pd.DataFrame(cur), kinds


def run_side(python: Path, code: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one side in a fresh process and return what it printed, with its peak RSS.

    The peak comes from `/usr/bin/time -v` where it exists, else from the process's VmHWM.
    Not from `ru_maxrss` of a child of this process: Linux carries the RSS of the forked copy
    of this (large) parent into the child's `ru_maxrss` across exec.
    """
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    timer = [TIME, "-v"] if Path(TIME).exists() else []
    done = subprocess.run(
        [*timer, str(python), "-c", code, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
        env=env,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"{python} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if timer:
        line = next(x for x in done.stderr.splitlines() if "Maximum resident set size" in x)
        result["peak_mib"] = int(line.rsplit(":", 1)[1]) / 1024
    return result


def bench(rows: int, repeats: int, workdir: Path, with_evidently: bool) -> dict[str, Any]:
    """Benchmark one size; return the figures."""
    ref, cur, kinds = make_windows(rows)
    spec = {"reference": str(workdir / f"ref-{rows}.parquet"), "repeats": repeats, "kinds": kinds}
    spec["warmup"] = 1
    spec["current"] = str(workdir / f"cur-{rows}.parquet")
    ref.to_parquet(spec["reference"])
    cur.to_parquet(spec["current"])
    del ref, cur
    sides = {
        "modelyard": run_side(
            Path(sys.executable),
            COMMON.replace("spec = json", MODELYARD_SIDE + "\nspec = json"),
            spec,
        )
    }
    if with_evidently:
        # Evidently takes minutes a run at 1M rows: one timed run there, no warm-up (its first
        # run is within 10 % of later ones, see docs ANCHORS)
        big = rows >= 10**6
        evidently_spec = {**spec, "repeats": 1 if big else repeats, "warmup": 0 if big else 1}
        sides["evidently"] = run_side(
            EVIDENTLY_PYTHON,
            COMMON.replace("spec = json", EVIDENTLY_SIDE + "\nspec = json"),
            evidently_spec,
        )
    return {"rows": rows, "sides": sides}


def report(result: dict[str, Any]) -> None:
    """Print one size's table, ratios and verdict agreement."""
    rows, sides = result["rows"], result["sides"]
    print(f"\n## {rows:,} + {rows:,} rows x 23 columns")
    print(f"{'side':<10}{'runs':>5}{'median s':>10}{'min s':>9}{'RSS before':>12}{'peak RSS':>10}")
    for name, side in sides.items():
        times = side["times"]
        print(
            f"{name:<10}{len(times):>5}{statistics.median(times):>10.3f}{min(times):>9.3f}"
            f"{side['rss_before_mib']:>10.0f}Mi{side['peak_mib']:>8.0f}Mi"
        )
    if "evidently" not in sides:
        return
    ours, theirs = sides["modelyard"], sides["evidently"]
    speedup = statistics.median(theirs["times"]) / statistics.median(ours["times"])
    memory = ours["peak_mib"] / theirs["peak_mib"]
    added = (ours["peak_mib"] - ours["rss_before_mib"]) / max(
        1.0, theirs["peak_mib"] - theirs["rss_before_mib"]
    )
    print(
        f"speed-up {speedup:.1f}x (target >= {TARGET_SPEEDUP:.0f}x: "
        f"{'met' if speedup >= TARGET_SPEEDUP else 'MISSED'}); peak memory ratio {memory:.2f} "
        f"(target <= 0.33: {'met' if memory <= TARGET_MEMORY else 'MISSED'}); "
        f"memory added by the drift call, ratio {added:.2f}"
    )
    agree = [c for c in ours["verdicts"] if ours["verdicts"][c][2] == theirs["verdicts"][c][2]]
    print(f"verdicts agree on {len(agree)}/{len(ours['verdicts'])} columns")
    for column in sorted(set(ours["verdicts"]) - set(agree)):
        print(
            f"  {column}: modelyard {ours['verdicts'][column]} evidently "
            f"{theirs['verdicts'][column]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the raw figures as JSON")
    args = parser.parse_args()
    with_evidently = not args.no_evidently
    if with_evidently and not EVIDENTLY_PYTHON.exists():
        raise SystemExit(
            f"No {EVIDENTLY_PYTHON}: run `make evidently-env`, or pass --no-evidently."
        )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, repeats {args.repeats}")
    results = []
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        for rows in args.rows:
            results.append(bench(rows, args.repeats, Path(tmp), with_evidently))
            report(results[-1])
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
