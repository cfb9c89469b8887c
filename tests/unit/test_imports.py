"""`import modelyard` and `modelyard --help` stay cheap: no heavy library is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "sklearn", "mlflow", "fastapi", "pyarrow", "pandera", "duckdb", "numpy")


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import modelyard", id="import-package"),
        pytest.param("import modelyard.config, modelyard.errors, modelyard.project", id="config"),
        pytest.param(
            "import sys\nsys.argv = ['modelyard', '--help']\n"
            "from modelyard.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
            id="cli-help",
        ),
    ],
)
def test_no_heavy_imports(code: str) -> None:
    modules = imported_after(code)
    assert sorted(name for name in HEAVY if name in modules) == []


def test_public_api_is_exported() -> None:
    import modelyard

    assert set(modelyard.__all__) == {"ModelyardError", "__version__"}
    for name in modelyard.__all__:
        assert hasattr(modelyard, name)
