"""A user mistake gives exit 1 and one paragraph naming the problem and the fix, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

VALID = """\
name: demo
data:
  source: {uri: data.csv}
  target: {column: y}
"""


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def project(tmp_path: Path, config: str, files: dict[str, bytes] | None = None) -> Path:
    (tmp_path / "modelyard.yaml").write_text(config, encoding="utf-8")
    for name, content in (files or {}).items():
        (tmp_path / name).write_bytes(content)
    return tmp_path


CASES = [
    pytest.param(
        "name: demo\ndata:\n  source: {uri: data.csv\n  target: {column: y}\n", {},
        ("config", "validate"), r"modelyard.yaml:4: invalid YAML", "Fix the syntax",
        id="malformed-yaml",
    ),
    pytest.param(
        VALID + "modle: {type: rf}\n", {}, ("config", "validate"),
        "unknown key 'modle'", "Did you mean 'model'?", id="unknown-key",
    ),
    pytest.param(
        VALID + "serving: {port: eighty}\n", {}, ("config", "show"),
        "modelyard.yaml:5: serving.port = 'eighty'", "valid integer", id="wrong-type",
    ),
    pytest.param(
        VALID.replace("data.csv", "missing.csv"), {}, ("data", "ingest"),
        "No data at", "Check data.source.uri", id="missing-data-file",
    ),
    pytest.param(
        VALID + "  contract: configs/none.yaml\n", {"data.csv": b"y\n1\n"}, ("data", "validate"),
        "none.yaml", "contract", id="missing-contract",
    ),
    pytest.param(
        VALID.replace("data.csv", "data.parquet"), {"data.parquet": b"PAR1 this is not parquet"},
        ("data", "ingest"), "Cannot read", "data.parquet", id="corrupt-parquet",
    ),
    pytest.param(
        "name: demo\ndata:\n  source: {url: 'postgresql+psycopg://me:hunter2@127.0.0.1:1/db', "
        "query: select 1}\n  target: {column: y}\n", {}, ("data", "ingest"),
        "Cannot connect to 'postgresql+psycopg://me:********@127.0.0.1:1/db'",
        "Check that the database server is running", id="postgres-refused",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("config", "files", "command", "problem", "fix"), CASES)
def test_user_mistakes_exit_1_with_problem_and_fix(
    tmp_path: Path,
    config: str,
    files: dict[str, bytes],
    command: tuple[str, ...],
    problem: str,
    fix: str,
) -> None:
    result = run_cli(*command, cwd=project(tmp_path, config, files))
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())  # rich wraps long lines
    assert problem in message
    assert fix in message
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_no_project_here(tmp_path: Path) -> None:
    result = run_cli("config", "show", cwd=tmp_path)
    assert result.returncode == 1
    assert "No config file at" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("data", "nosuch"), id="unknown-command"),
        pytest.param(("config", "show", "--bogus"), id="unknown-option"),
        pytest.param(("example",), id="missing-argument"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_secrets_never_reach_config_show_or_logs(tmp_path: Path) -> None:
    config = VALID + (
        "serving: {api_keys: '${MY_KEYS}'}\n"
        "stores: {tracking_uri: 'postgresql://ml:pg-pass-42@db:5432/mlflow'}\n"
    )
    root = project(tmp_path, config, {"data.csv": b"y\n1\n"})
    env = {"MY_KEYS": "key-alpha-123,key-beta-456"}
    for args in (("config", "show"), ("config", "show", "--json"), ("data", "profile", "-vv")):
        result = run_cli(*args, cwd=root, env=env)
        assert result.returncode == 0, result.stderr
        output = result.stdout + result.stderr
        for secret in ("key-alpha-123", "key-beta-456", "pg-pass-42"):
            assert secret not in output, (args, secret)
    assert "********" in run_cli("config", "show", "--json", cwd=root, env=env).stdout


def test_unknown_example_suggests_the_right_one(tmp_path: Path) -> None:
    result = run_cli("example", "flight", str(tmp_path / "x"), cwd=tmp_path)
    assert result.returncode == 1
    assert "No example named 'flight'" in result.stderr
    assert "Did you mean 'flights'?" in result.stderr


def test_example_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    result = run_cli("example", "flights", "x", cwd=tmp_path)
    assert result.returncode == 1
    assert "is not empty" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
