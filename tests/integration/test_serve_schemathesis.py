"""S1: schemathesis fuzzes every operation of the served OpenAPI schema: no server error, and
every response conforms to the schema (status codes, content types, bodies, auth)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from serve_support import API_KEY, MODEL, Server, Trained, trained_flights

from modelyard.tracking.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, flights_template: Path) -> Trained:
    project = trained_flights(tmp_path_factory, flights_template)
    Registry(project.tracking_uri).set_alias(MODEL, "champion", 1)
    return project


def test_openapi_fuzzing_finds_no_failure(trained: Trained, tmp_path: Path) -> None:
    pytest.importorskip("schemathesis")
    st = Path(sys.executable).with_name("st")
    with Server(trained.root, env={"MODELYARD_API_KEYS": API_KEY}) as server:
        result = subprocess.run(
            [
                str(st),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "50",
                "--seed",
                "20131",
                "--workers",
                "2",
                "--warnings",
                "off",
                "-H",
                f"Authorization: Bearer {API_KEY}",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        alive = server.process.poll() is None

    assert alive
    assert result.returncode == 0, result.stdout[-6000:]
    assert "No issues found" in result.stdout
