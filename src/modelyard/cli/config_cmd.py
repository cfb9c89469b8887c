"""`modelyard config`: show and validate the resolved configuration."""

from __future__ import annotations

from pathlib import Path

import typer

from modelyard.cli.options import EnvOption, JsonOption, ProjectOption, VerboseOption

app = typer.Typer(help="Show and check the project configuration.", no_args_is_help=True)


@app.command("show")
def show(
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Print the resolved configuration, with every overlay applied and secrets masked."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout

    with exit_on_error():
        loaded = open_project(project, env, verbose).loaded
    data = loaded.to_dict(masked=True)
    if as_json:
        print_json(data)
        return
    import yaml
    from rich.syntax import Syntax

    console = stdout()
    files = ", ".join(str(f) for f in loaded.files)
    console.print(f"# resolved from {files} (env: {loaded.env or 'none'})", style="dim")
    console.print(Syntax(yaml.safe_dump(data, sort_keys=False), "yaml", theme="ansi_dark"))


@app.command("validate")
def validate(
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Check the configuration (and the files it names) without running anything."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, stdout

    with exit_on_error():
        loaded = open_project(project, env, verbose)
        contract = loaded.contract_path()
        if contract is not None:
            from modelyard.data.contract import load_contract

            load_contract(contract)
    files = ", ".join(str(f) for f in loaded.loaded.files)
    stdout().print(f"[green]✓[/] configuration is valid ({files})")
