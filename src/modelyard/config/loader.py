"""Load ``modelyard.yaml`` with its overlays into a validated ``ProjectConfig``.

Precedence, lowest first: schema defaults < ``modelyard.yaml`` < its ``environments.<env>``
block < ``configs/env/<env>.yaml`` < ``MODELYARD__SECTION__KEY`` variables < CLI overrides.
Strings may hold ``${VAR}`` or ``${VAR:-default}``; interpolated values are secrets.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelyard.config.secrets import mask, secret_values
from modelyard.config.yamlfile import KeyPath, read_yaml
from modelyard.errors import ConfigNotFoundError, InterpolationError

CONFIG_FILE = "modelyard.yaml"
ENV_DIR = Path("configs") / "env"
ENV_VAR = "MODELYARD_ENV"
OVERRIDE_PREFIX = "MODELYARD__"
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A validated config with where each value came from and which values are secret."""

    config: Any  # ProjectConfig; typed loosely so this module imports pydantic lazily
    root: Path
    env: str | None
    files: tuple[Path, ...]
    origins: Mapping[KeyPath, str] = field(default_factory=dict)
    secret_paths: frozenset[KeyPath] = frozenset()

    def to_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """Return the resolved config as plain data, secrets masked unless told otherwise."""
        data: dict[str, Any] = self.config.model_dump(mode="json")
        return mask(data, self.secret_paths) if masked else data

    def secrets(self) -> set[str]:
        """Return the plain-text secret values, for redacting logs."""
        return secret_values(self.config.model_dump(mode="json"), self.secret_paths)


def find_config(start: Path) -> Path:
    """Return the ``modelyard.yaml`` in ``start`` or the nearest folder above it."""
    start = start.resolve()
    if start.is_file():
        return start
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    raise ConfigNotFoundError(
        start / CONFIG_FILE,
        fix="Run modelyard inside a project (one with a modelyard.yaml), pass --project DIR, "
        "or create one with `modelyard example flights DIR`.",
    )


def load_config(
    project: Path | str = ".",
    *,
    env: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Load, overlay, interpolate and validate a project's config.

    Args:
        project: the project folder (or a folder below it, or the config file itself).
        env: the environment overlay to apply; defaults to ``$MODELYARD_ENV``.
        overrides: dotted keys to values, applied last (CLI flags).
        environ: the environment to read; defaults to ``os.environ``.
    """
    environ = os.environ if environ is None else environ
    path = find_config(Path(project))
    root = path.parent
    env = env or environ.get(ENV_VAR) or None

    data, lines = read_yaml(path)
    origins = {key: f"{path}:{line}" for key, line in lines.items()}
    secret_paths: set[KeyPath] = set()
    _interpolate(data, (), environ, origins, secret_paths, default_origin=str(path))
    files = [path]

    if env is not None:
        _apply_env(data, env, root, environ, origins, secret_paths, files)
    _apply_overrides(data, environ, origins)
    for dotted, value in (overrides or {}).items():
        keys = tuple(dotted.split("."))
        _set(data, keys, value)
        origins[keys] = f"command-line option {dotted}"

    from modelyard.config.validate import validate

    config = validate(data, origins, str(path))
    return LoadedConfig(
        config=config,
        root=root,
        env=env,
        files=tuple(files),
        origins=origins,
        secret_paths=frozenset(secret_paths),
    )


def _apply_env(
    data: dict[str, Any],
    env: str,
    root: Path,
    environ: Mapping[str, str],
    origins: dict[KeyPath, str],
    secret_paths: set[KeyPath],
    files: list[Path],
) -> None:
    inline = data.get("environments", {})
    inline = inline if isinstance(inline, dict) else {}
    overlay_path = root / ENV_DIR / f"{env}.yaml"
    if env not in inline and not overlay_path.is_file():
        known = sorted({*inline, *(p.stem for p in (root / ENV_DIR).glob("*.yaml"))})
        raise ConfigNotFoundError(
            overlay_path,
            what=f"overlay for environment {env!r}",
            fix=(f"Known environments: {', '.join(known)}." if known else "")
            + f" Create {ENV_DIR / (env + '.yaml')} or add environments.{env} to {CONFIG_FILE}.",
        )
    if env in inline and isinstance(inline[env], dict):
        block = copy.deepcopy(inline[env])
        _merge(
            data,
            block,
            (),
            origins,
            {k[2:]: v for k, v in origins.items() if k[:2] == ("environments", env)},
        )
    if overlay_path.is_file():
        overlay, lines = read_yaml(overlay_path, what=f"overlay for environment {env!r}")
        overlay_origins = {key: f"{overlay_path}:{line}" for key, line in lines.items()}
        _interpolate(
            overlay, (), environ, overlay_origins, secret_paths, default_origin=str(overlay_path)
        )
        _merge(data, overlay, (), origins, overlay_origins)
        files.append(overlay_path)


def _merge(
    base: dict[str, Any],
    overlay: dict[str, Any],
    path: KeyPath,
    origins: dict[KeyPath, str],
    overlay_origins: Mapping[KeyPath, str],
) -> None:
    for key, value in overlay.items():
        here = (*path, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, here, origins, overlay_origins)
        else:
            base[key] = value
            for origin_key in [k for k in origins if k[: len(here)] == here]:
                del origins[origin_key]
        for origin_key, origin in overlay_origins.items():
            if origin_key[: len(here)] == here and origin_key not in origins:
                origins[origin_key] = origin
        if here in overlay_origins:
            origins[here] = overlay_origins[here]


def _apply_overrides(
    data: dict[str, Any], environ: Mapping[str, str], origins: dict[KeyPath, str]
) -> None:
    for name in sorted(environ):
        if not name.startswith(OVERRIDE_PREFIX):
            continue
        keys = tuple(part.lower() for part in name[len(OVERRIDE_PREFIX) :].split("__") if part)
        if not keys:
            continue
        raw = environ[name]
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        _set(data, keys, value)
        origins[keys] = f"environment variable {name}"


def _set(data: dict[str, Any], keys: KeyPath, value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def _interpolate(
    node: Any,
    path: KeyPath,
    environ: Mapping[str, str],
    origins: Mapping[KeyPath, str],
    secret_paths: set[KeyPath],
    *,
    default_origin: str,
) -> Any:
    """Replace ``${VAR}`` references in place; return the (possibly new) value of ``node``."""
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _interpolate(
                node[key],
                (*path, key),
                environ,
                origins,
                secret_paths,
                default_origin=default_origin,
            )
        return node
    if isinstance(node, list):
        for index, item in enumerate(node):
            node[index] = _interpolate(
                item,
                (*path, str(index)),
                environ,
                origins,
                secret_paths,
                default_origin=default_origin,
            )
        return node
    if not isinstance(node, str) or "${" not in node:
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match["name"], match["default"]
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        where = origins.get(path, default_origin) + f" ({'.'.join(path)})"
        raise InterpolationError(name, where=where)

    secret_paths.add(path)
    return _REFERENCE.sub(replace, node)
