"""How fast `import modelyard` and `modelyard --help` answer (target: --help < 0.5 s).

Run: .venv/bin/python benchmarks/cli_startup.py [--repeats N]
Reports the median and worst of N fresh processes next to a bare `python -c pass`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def time_command(argv: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    script = shutil.which("modelyard") or str(Path(sys.executable).with_name("modelyard"))
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import modelyard": [sys.executable, "-c", "import modelyard"],
        "modelyard --help": [script, "--help"],
        "modelyard data --help": [script, "data", "--help"],
    }
    print(f"{'case':<24}{'median':>10}{'max':>10}")
    for name, argv in cases.items():
        times = time_command(argv, args.repeats)
        print(f"{name:<24}{statistics.median(times):>9.3f}s{max(times):>9.3f}s")
    help_median = statistics.median(time_command([script, "--help"], args.repeats))
    verdict = "meets" if help_median < 0.5 else "MISSES"
    print(f"modelyard --help median {help_median:.3f}s {verdict} the 0.5 s target")


if __name__ == "__main__":
    main()
