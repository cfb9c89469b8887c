"""Validate merged config data and turn pydantic's errors into messages a user can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from modelyard.config.schema import GatesConfig, MetricGate, ProjectConfig
from modelyard.config.secrets import is_secret_key, mask_url_passwords
from modelyard.config.yamlfile import KeyPath
from modelyard.errors import ConfigValueError, describe, did_you_mean


def validate(data: Mapping[str, Any], origins: Mapping[KeyPath, str], file: str) -> ProjectConfig:
    """Build a ``ProjectConfig``; raise ``ConfigValueError`` listing every problem."""
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, origins, file) for error in exc.errors()]
        raise ConfigValueError(problems) from None


def _describe(error: Any, origins: Mapping[KeyPath, str], file: str) -> str:
    loc: KeyPath = tuple(str(part) for part in error["loc"])
    # pydantic puts union and tagged-type names into loc; keep only real keys
    keys = _real_keys(loc)
    dotted = ".".join(keys) or "(top level)"
    where = _origin(keys, origins, file)
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _fields_at(keys[:-1])
        hint = did_you_mean(keys[-1], known) or (
            f" Allowed keys here: {', '.join(sorted(known))}." if known else ""
        )
        return f"{where}: unknown key {dotted!r}.{hint}"
    if kind == "missing":
        return f"{where}: missing required key {dotted!r}. Add it to the config."
    value = error.get("input")
    shown = "********" if keys and is_secret_key(keys[-1]) else mask_url_passwords(describe(value))
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {dotted} = {shown}: {message}."


def _real_keys(loc: KeyPath) -> KeyPath:
    keys: list[str] = []
    model: Any = ProjectConfig
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel):
            fields = model.model_fields
            if part in fields:
                keys.append(part)
                model = _model_of(fields[part].annotation)
                continue
            if model is GatesConfig:  # extra keys are metric gates
                keys.append(part)
                model = MetricGate
                continue
            if part in {"function-after", "function-before"} or "[" in part:
                continue
        keys.append(part)
        model = None
    return tuple(keys)


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _fields_at(keys: KeyPath) -> list[str]:
    model: Any = ProjectConfig
    for key in keys:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(key)
        if field is None:
            model = MetricGate if model is GatesConfig else None
            continue
        model = _model_of(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _origin(keys: KeyPath, origins: Mapping[KeyPath, str], file: str) -> str:
    for end in range(len(keys), 0, -1):
        if keys[:end] in origins:
            return origins[keys[:end]]
    return file
