#!/usr/bin/env bash
# Create .venv-evidently: Evidently, a test and benchmark peer for modelyard's drift statistics.
#
# Evidently 0.7.23 does not import with pandas 3.x (it imports a pandas internal that 3.0
# removed), so it lives in its own virtual environment with pandas 2.3.3, never in .venv.
# Used by tests/integration/test_drift_evidently.py and benchmarks/drift.py.
#
# Idempotent: a stamp file records the pins of the last good install; when it matches, nothing
# runs (well under a second, so `make test` can depend on it).
#
# Usage: scripts/evidently-env.sh [VENV_DIR]   (default: .venv-evidently at the repo root)
# Env:   PYTHON  the interpreter to create the venv with (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-evidently}"
PYTHON="${PYTHON:-python3}"
PINS=("evidently==0.7.23" "pandas==2.3.3" "pyarrow>=16" "numpy" "scipy")
STAMP="$VENV/.modelyard-pins"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${PINS[*]}" ]; then
    echo "evidently-env: $VENV is up to date (${PINS[*]})"
    exit 0
fi

echo "evidently-env: installing ${PINS[*]} into $VENV"
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${PINS[@]}"
"$VENV/bin/python" -c "import evidently.presets, pandas; print('evidently-env: ready, pandas', pandas.__version__)"
echo "${PINS[*]}" > "$STAMP"
