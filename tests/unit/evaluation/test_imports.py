"""The evaluation package stays cheap to import; matplotlib loads only to draw."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        pytest.param(
            "import modelyard.evaluation", {"numpy", "sklearn", "matplotlib"}, id="package"
        ),
        pytest.param(
            "import modelyard.evaluation.plots, modelyard.evaluation.card",
            {"matplotlib"},
            id="plots-and-card",
        ),
    ],
)
def test_heavy_modules_are_not_imported(code: str, absent: set[str]) -> None:
    assert sorted(absent & imported_after(code)) == []
