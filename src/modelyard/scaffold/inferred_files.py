"""Write an inferred project's ``modelyard.yaml`` and data contract as commented YAML."""

from __future__ import annotations

import textwrap
from typing import Any

from modelyard.scaffold.inference import ColumnProfile, InferredProject

CONTRACT_PATH = "configs/data_contract.yaml"
MODEL_PARAMS = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31}
SEARCH = {
    "trials": 20,
    "timeout_s": 300,
    "space": {
        "num_leaves": {"int": [15, 255], "log": True},
        "learning_rate": {"float": [0.01, 0.2], "log": True},
        "n_estimators": {"int": [100, 800]},
    },
}
PRIMARY_METRIC = {
    "binary_classification": "roc_auc",
    "multiclass_classification": "f1_macro",
    "regression": "r2",
}
MAX_SLICES = 2
MAX_SLICE_VALUES = 10
_SPLIT_NOTES = {
    "time": "train on the earliest rows, validate and test on later ones: no look-ahead",
    "stratified": "a random split that keeps each class's share in train, valid and test",
    "random": "a random split (no datetime column without gaps to split by time)",
}


def render_config(
    inferred: InferredProject,
    *,
    name: str,
    source_uri: str,
    origin: str,
    gate: float | None = None,
) -> str:
    """Return the text of ``modelyard.yaml`` for an inferred project.

    Args:
        inferred: The task and column roles.
        name: The project and registered-model name.
        source_uri: The training data, relative to the project.
        origin: Where the data came from, for the header comment.
        gate: A minimum on the primary metric; None leaves the absolute gates out, so the
            first model trained becomes champion whatever it scores.
    """
    metric = PRIMARY_METRIC[inferred.task]
    split: dict[str, Any] = {"strategy": inferred.split, "valid": 0.15, "test": 0.15, "seed": 42}
    data: dict[str, Any] = {"source": {"uri": source_uri}, "target": {"column": inferred.target}}
    if inferred.timestamp:
        data["timestamp"] = inferred.timestamp
    data |= {"contract": CONTRACT_PATH, "split": split}
    features: dict[str, Any] = {
        kind: columns
        for kind in ("numeric", "categorical", "datetime")
        if (columns := inferred.names(kind))
    }
    features |= {"scale_numeric": False, "rare_category_min_frequency": 0.01}
    gates: dict[str, Any] = {} if gate is None else {metric: {"min": gate}}
    gates["champion"] = {"metric": metric, "min_delta": 0.0}
    left_out = "".join(
        f"\nnot a feature: {c.name} ({c.note})"
        for c in inferred.columns
        if c.role in {"id", "excluded"}
    )
    task_words = inferred.task.replace("_", " ")
    sections: list[tuple[str, dict[str, Any]]] = [
        (
            f"modelyard project {name}: predict {inferred.target!r} ({task_words}).\n"
            f"Written by `modelyard init` from {origin} ({inferred.rows:,} rows). Every value "
            "below was inferred from that data; edit freely. Which role each column got, and "
            "why: docs/data_dictionaries/.",
            {"name": name, "task": inferred.task},
        ),
        (_SPLIT_NOTES[inferred.split], {"data": data}),
        (
            "trees need no scaling (and unscaled numbers keep the ONNX export exact); rare "
            "categories (under 1% of training rows) are grouped, so they cannot break a model"
            + left_out,
            {"features": features},
        ),
        (
            "`modelyard train --search` searches the space below",
            {"model": {"type": "lightgbm", "params": MODEL_PARAMS, "search": SEARCH}},
        ),
        (
            (
                "no absolute gate: the first model becomes champion. Add one once you know "
                f"what good is,\ne.g. {metric}: {{min: 0.7}} under gates."
            )
            if gate is None
            else f"a model below {metric} {gate} is never promoted",
            {
                "evaluation": {
                    "primary_metric": metric,
                    "slices": _slices(inferred),
                    "gates": gates,
                }
            },
        ),
        ("", {"registry": {"model": name}}),
        (
            "API keys come from the environment, never from this file",
            {
                "serving": {
                    "host": "127.0.0.1",
                    "port": 8000,
                    "api_keys": "${MODELYARD_API_KEYS:-}",
                }
            },
        ),
        ("", {"monitoring": {"window": "7d", "drift": {"share": 0.3}}}),
        (
            "embedded defaults: no server needed; configs/env/prod.yaml points at real ones",
            {
                "stores": {
                    "tracking_uri": "sqlite:///.modelyard/mlflow.db",
                    "artifacts": ".modelyard/artifacts",
                }
            },
        ),
    ]
    return "\n".join(_comment(note) + dump_yaml(body) for note, body in sections)


def render_contract(inferred: InferredProject, *, origin: str) -> str:
    """Return the text of the data contract inferred from the data."""
    header = (
        f"What every batch of this data must look like before anything trains on it.\n"
        f"Inferred by `modelyard init` from {origin} ({inferred.rows:,} rows):\n"
        "- types and nullability as seen; IDs must be unique;\n"
        "- numeric ranges are the observed ones widened by half their span on each side,\n"
        "  with a floor of 0 for columns that held no negative value;\n"
        "- text columns with few values list them under allowed;\n"
        f"- at least a tenth of the rows seen ({inferred.min_rows:,}).\n"
        "Tighten what you know better; `modelyard data validate` checks data against it."
    )
    columns = {column.name: contract_rule(column) for column in inferred.columns}
    body = {"columns": columns, "rows": {"min": inferred.min_rows}, "strict": False}
    return _comment(header) + dump_yaml(body)


def contract_rule(column: ColumnProfile) -> dict[str, Any]:
    """Return one column's contract entry."""
    rule: dict[str, Any] = {"type": column.type, "nullable": column.nullable}
    if column.unique:
        rule["unique"] = True
    for key in ("min", "max"):
        value = getattr(column, key)
        if value is not None:
            rule[key] = int(value) if float(value).is_integer() else value
    if column.allowed is not None:
        rule["allowed"] = list(column.allowed)
    return rule


def dump_yaml(data: dict[str, Any]) -> str:
    """Return ``data`` as block YAML two levels deep; deeper collections on one line if they fit."""
    parts = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            inner = "".join(_dump_item(name, item) for name, item in value.items())
            parts.append(f"{key}:\n" + textwrap.indent(inner, "  "))
        else:
            parts.append(_dump_item(key, value))
    return "".join(parts)


def _dump_item(key: str, value: Any) -> str:
    import yaml

    text: str = yaml.safe_dump(
        {key: value},
        default_flow_style=None if isinstance(value, dict | list) else False,
        sort_keys=False,
        width=96,
        allow_unicode=True,
    )
    return text


def _comment(note: str) -> str:
    lines = [line for paragraph in note.splitlines() for line in textwrap.wrap(paragraph, 96)]
    return "".join(f"# {line}\n" for line in lines)


def _slices(inferred: InferredProject) -> list[str]:
    """The categorical features with a handful of values: metrics per value of each."""
    small = [
        column.name
        for column in inferred.columns
        if column.role == "categorical" and 2 <= column.distinct <= MAX_SLICE_VALUES
    ]
    return small[:MAX_SLICES]
