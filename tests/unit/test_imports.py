"""`import modelyard` and `modelyard --help` stay cheap: no heavy library is imported; and each
vendor library is imported by one package only (the import-linter contracts)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

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


# --- one vendor, one place: the import-linter contracts -------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "modelyard"
ONLY_ONE = {"Only tracking imports mlflow": "tracking", "Only serving imports fastapi": "serving"}


def contracts() -> dict[str, dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        config = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    return {contract["name"]: contract for contract in config}


def packages() -> set[str]:
    """Every package and top-level module of modelyard (the root ``__init__`` aside)."""
    names = {path.parent.name for path in SRC.glob("*/__init__.py")}
    names |= {path.stem for path in SRC.glob("*.py") if path.stem != "__init__"}
    return {f"modelyard.{name}" for name in names}


@pytest.mark.parametrize("name", sorted(ONLY_ONE))
def test_a_vendor_contract_names_every_package_but_its_owner(name: str) -> None:
    assert set(contracts()[name]["source_modules"]) == packages() - {f"modelyard.{ONLY_ONE[name]}"}


LEAKS = {
    "serving/_leak_mlflow.py": "import mlflow\n",
    "inference/_leak_mlflow.py": "from mlflow import MlflowClient\n",
    "monitoring/_leak_mlflow.py": "import mlflow.tracking\n",
    "inference/_leak_web.py": "from starlette.responses import Response\n",
    "monitoring/_leak_web.py": "import fastapi\n",
    "demo.py": "import fastapi\n",
}


def test_importing_a_vendor_outside_its_package_breaks_the_contracts(tmp_path: Path) -> None:
    """A copy of the source with one planted import per hole the contracts used to leave."""
    copy = tmp_path / "src" / "modelyard"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for name, line in LEAKS.items():
        path = copy / name
        path.write_text((path.read_text() if path.exists() else "") + line)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache", str(tmp_path / "pyproject.toml")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "src")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Only tracking imports mlflow BROKEN" in done.stdout
    assert "Only serving imports fastapi BROKEN" in done.stdout
    assert "Lifecycle layers KEPT" in done.stdout
    found = set(re.findall(r"^-   (modelyard[\w.]*) -> (\w+)", done.stdout, flags=re.M))
    planted = {
        (f"modelyard.{name.removesuffix('.py').replace('/', '.')}", line.split()[1].split(".")[0])
        for name, line in LEAKS.items()
    }
    assert found == planted
