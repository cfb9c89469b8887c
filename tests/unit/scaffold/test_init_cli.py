"""`modelyard init` on the command line: exit codes and messages (in-process)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from modelyard.cli import app


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_help_lists_init(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "init" in result.output


def test_missing_target_exits_1_with_did_you_mean(runner: CliRunner, tmp_path: Path) -> None:
    pd.DataFrame({"x": range(40), "churned": [0, 1] * 20}).to_csv(tmp_path / "d.csv", index=False)
    result = runner.invoke(app, ["init", "p", "--data", "d.csv", "--target", "churn"])
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "No column 'churn' in the data to use as the target. Did you mean 'churned'?" in message
    assert "Traceback" not in result.output
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--data", "d.csv"], id="data-without-target"),
        pytest.param(["--target", "y"], id="target-without-data"),
        pytest.param(["--example", "flights", "--data", "d.csv", "--target", "y"], id="both"),
    ],
)
def test_arguments_that_do_not_fit_are_usage_errors(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    result = runner.invoke(app, ["init", "p", *args])
    assert result.exit_code == 2
    assert not (tmp_path / "p").exists()


def test_non_empty_folder_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "keep.txt").write_text("x")
    result = runner.invoke(app, ["init", "p"])
    assert result.exit_code == 1
    assert "is not empty" in result.stderr
    assert "--force" in result.stderr
