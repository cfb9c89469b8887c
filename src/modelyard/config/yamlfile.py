"""Read YAML files, remembering the line of every key so errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from modelyard.errors import ConfigNotFoundError, ConfigSyntaxError, ConfigValueError

KeyPath = tuple[str, ...]


def read_yaml(
    path: Path, *, what: str = "config file"
) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """Parse a YAML mapping and return it with the 1-based line of every key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigNotFoundError(path, what=what) from exc
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise ConfigSyntaxError(
            path, None, f"not a UTF-8 text file ({exc.__class__.__name__})"
        ) from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path | str) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """Parse YAML text (``path`` names it in errors) into a mapping and its key lines."""
    loader = yaml.SafeLoader(text)
    loader.name = str(path)  # marks carry this name into error messages
    lines: dict[KeyPath, int] = {}
    try:
        node = loader.get_single_node()
        data = {} if node is None else _construct(loader, node, (), lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigSyntaxError(path, line, exc.problem or str(exc)) from exc
    except yaml.YAMLError as exc:
        raise ConfigSyntaxError(path, None, str(exc)) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigValueError(
            [f"{path}: the top level must be a mapping of keys, found {type(data).__name__}"]
        )
    return data, lines


def _construct(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            if key in result:
                raise ConfigSyntaxError(
                    str(key_node.start_mark.name),
                    key_node.start_mark.line + 1,
                    f"duplicate key {key!r}",
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(loader, value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*path, str(index)), lines)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
