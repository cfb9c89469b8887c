"""A step's code version: the code it can reach, and modelyard's version.

The runner keys a step's outputs by this version, so a cached output is never reused after the
code that made it changed. What is hashed:

- modelyard's version (``modelyard.__version__``): upgrading reruns every step;
- from the step's own module: the step function, every top-level statement that runs when the
  module is imported (imports, constants; ``if TYPE_CHECKING:`` blocks excepted), and the
  functions and classes those use, followed by name, as their syntax tree (so comments and
  formatting do not count, and neither does a function the step cannot call; annotations are
  not followed either: they do not change what the code computes);
- the ``__init__.py`` of every package above the step's module;
- every module all of the above import, at the top of a file or inside a function, and every
  module those import in turn: whole files, as bytes. Only modelyard's own modules and those of
  the step's own package are followed; third-party libraries are covered by their versions in a
  run's lineage, not by the cache key (``--no-cache`` after upgrading one).

Over-approximating is deliberate: a spurious rerun costs seconds, a stale hit a wrong model.
Files are parsed and hashed once per process while their size and modification time stay the
same, so computing a version is cheap.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from modelyard.errors import PipelineError

FOLLOWED = "modelyard"
_Stamp = tuple[int, int]
_trees: dict[Path, tuple[_Stamp, ast.Module]] = {}
_scanned: dict[Path, tuple[_Stamp, bytes, frozenset[str]]] = {}
_own: dict[tuple[Path, str], tuple[_Stamp, str, frozenset[str]]] = {}
_roots: dict[str, Path | None] = {}
_paths: dict[tuple[Path, str], Path | None] = {}
_versions: dict[tuple[Path, str], tuple[str, tuple[tuple[Path, _Stamp], ...], str]] = {}


def code_version(function: Callable[..., Any]) -> str:
    """Hash what ``function`` can run: see the module docstring."""
    import modelyard

    release = modelyard.__version__
    key = (_source_file(function), function.__qualname__)
    cached = _versions.get(key)
    if cached is not None and cached[0] == release and _unchanged(cached[1]):
        return cached[2]
    sha = hashlib.sha256(f"modelyard {release}\0".encode())
    own, modules = _own_code(function)
    sha.update(own.encode())
    closure = _module_closure(modules, _followed(function))
    for name, path in closure:
        sha.update(f"\0{name}\0".encode())
        sha.update(_scan(name, path)[0])
    version = sha.hexdigest()[:20]
    stamps = tuple((path, _stamp(path)) for path in (key[0], *(path for _, path in closure)))
    _versions[key] = (release, stamps, version)
    return version


def code_files(function: Callable[..., Any]) -> list[Path]:
    """Return the files (besides the function's own definitions) that its version covers."""
    _, modules = _own_code(function)
    return [path for _, path in _module_closure(modules, _followed(function))]


# --- the function's own definitions -------------------------------------------------------------


def _own_code(function: Callable[..., Any]) -> tuple[str, frozenset[str]]:
    """What runs of ``function``'s own module (see the module docstring); what it imports."""
    path, module, name = _source_file(function), function.__module__, function.__name__
    tree, stamp = _parse(path)
    cached = _own.get((path, name))
    if cached is not None and cached[0] == stamp:
        return cached[1], cached[2]
    bindings = _top_level_bindings(tree)
    if name not in bindings:
        raise PipelineError(
            f"Cannot find the definition of step function {function.__qualname__!r} at the top "
            f"of {str(path)!r}. Define step functions with `def` at the top of a module."
        )
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    parts: dict[int, str] = {}
    modules: set[str] = set()
    seen: set[str] = set()
    todo = [name]

    def include(node: ast.stmt) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules.update(_imported(node, package))
        elif id(node) not in parts:
            parts[id(node)] = ast.unparse(node)
            for inner in _executed(node):
                if isinstance(inner, ast.Name):
                    todo.append(inner.id)
                elif isinstance(inner, ast.Import | ast.ImportFrom):
                    modules.update(_imported(inner, package))

    for node in _runs_on_import(tree.body):
        include(node)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            for node in bindings.get(current, ()):
                include(node)
    modules.update(list(_with_parents(package)) if package else ())  # run before the module
    result = (stamp, "\n".join(sorted(parts.values())), frozenset(modules))
    _own[(path, name)] = result
    return result[1], result[2]


def _runs_on_import(statements: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """The top-level statements besides definitions, ``if TYPE_CHECKING:`` bodies left out."""
    for node in statements:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            yield from _runs_on_import(node.orelse)
        elif isinstance(node, ast.If | ast.Try):
            yield from _runs_on_import(node.body)
            yield from _runs_on_import(node.orelse)
            for handler in getattr(node, "handlers", ()):
                yield from _runs_on_import(handler.body)
            yield from _runs_on_import(getattr(node, "finalbody", ()))
        else:
            yield node


def _executed(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` except annotations, which do not change what code computes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for field, value in ast.iter_fields(current):
            if field in ("annotation", "returns"):
                continue
            if isinstance(value, ast.AST):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(item for item in value if isinstance(item, ast.AST))


def _top_level_bindings(tree: ast.Module) -> dict[str, list[ast.stmt]]:
    """Each name the module binds at its top level (inside ``if``/``try`` too), with its node."""
    bindings: dict[str, list[ast.stmt]] = {}

    def bind(name: str, node: ast.stmt) -> None:
        bindings.setdefault(name, []).append(node)

    def visit(statements: Iterable[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bind(node.name, node)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    bind((alias.asname or alias.name).split(".")[0], node)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for inner in ast.walk(target):
                        if isinstance(inner, ast.Name):
                            bind(inner.id, node)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", ()):
                    visit(handler.body)
                visit(getattr(node, "finalbody", ()))

    visit(tree.body)
    return bindings


# --- the modules it reaches ------------------------------------------------------------------


def _module_closure(modules: Iterable[str], followed: tuple[str, ...]) -> list[tuple[str, Path]]:
    """Every followed module reachable from ``modules`` by imports, with its file, sorted."""
    found: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in found or name.split(".")[0] not in followed:
            continue
        for candidate in _with_parents(name):
            if candidate in found:
                continue
            path = _module_file(candidate)
            if path is None:
                continue
            found[candidate] = path
            todo.extend(_scan(candidate, path)[1])
    return sorted(found.items())


_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]*)", re.M)


def _scan(name: str, path: Path) -> tuple[bytes, frozenset[str]]:
    """The digest of module ``name``'s file, and every module it imports anywhere in it.

    Imports are found by their text, not parsed: much faster, and a line that only looks like
    an import (in a docstring) merely adds a module to the version.
    """
    stamp = _stamp(path)
    cached = _scanned.get(path)
    if cached is None or cached[0] != stamp:
        data = path.read_bytes()
        text = data.decode("utf-8", errors="replace")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for match in _FROM.finditer(text):
            names = re.sub(r"#[^\n]*", "", match.group(2)).strip("() \t\n")
            base = _absolute(match.group(1), package)
            found.add(base)
            for item in names.split(","):
                imported = item.split()[0] if item.split() else ""
                if imported.isidentifier():
                    found.add(f"{base}.{imported}")
        for match in _IMPORT.finditer(text):
            for item in re.sub(r"#.*", "", match.group(1)).split(","):
                words = item.split()
                if words:
                    found.add(words[0])
        cached = (stamp, hashlib.sha256(data).digest(), frozenset(found))
        _scanned[path] = cached
    return cached[1], cached[2]


def _with_parents(name: str) -> Iterator[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: every package Python runs to import it."""
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> set[str]:
    """The module names an import statement may load (``from a import b``: ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = _absolute("." * node.level + (node.module or ""), package)
    return {base} | {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}


def _absolute(module: str, package: str) -> str:
    """Resolve a (possibly relative, ``..a``) module name from inside ``package``."""
    level = len(module) - len(module.lstrip("."))
    if not level:
        return module
    anchor = package.split(".")
    anchor = anchor[: len(anchor) - (level - 1)]
    rest = module[level:]
    return ".".join([*anchor, rest] if rest else anchor)


def _followed(function: Callable[..., Any]) -> tuple[str, ...]:
    own = function.__module__.split(".")[0]
    return (FOLLOWED,) if own in (FOLLOWED, "__main__") else (FOLLOWED, own)


def _module_file(name: str) -> Path | None:
    """The source file of module ``name``, found without importing it; None if there is none."""
    top, _, rest = name.partition(".")
    root = _package_root(top)
    if root is None:
        return None
    if (root, rest) not in _paths:
        _paths[(root, rest)] = _find_module_file(root, rest)
    return _paths[(root, rest)]


def _find_module_file(root: Path, rest: str) -> Path | None:
    if root.name != "__init__.py":  # a top-level module, not a package
        return root if not rest else None
    if not rest:
        return root
    base = root.parent.joinpath(*rest.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def _package_root(top: str) -> Path | None:
    """The ``__init__.py`` of top-level package ``top`` (or its file, for a plain module)."""
    module = sys.modules.get(top)
    origin = getattr(module, "__file__", None)
    if origin is None:  # not imported: ask the import system where it would come from
        if top not in _roots:
            spec = importlib.util.find_spec(top)
            _roots[top] = None if spec is None or spec.origin is None else Path(spec.origin)
        found = _roots[top]
    else:
        found = Path(origin)
    return found if found is not None and found.suffix == ".py" else None


def _source_file(function: Callable[..., Any]) -> Path:
    try:
        path = inspect.getsourcefile(function)
    except TypeError:
        path = None
    if path is None:
        raise PipelineError(
            f"Step function {function!r} has no source file, so its code version cannot be "
            "computed. Define it with `def` in a module, or give the Step an explicit version."
        )
    return Path(path)


def _stamp(path: Path) -> _Stamp:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _unchanged(stamps: Iterable[tuple[Path, _Stamp]]) -> bool:
    """Whether every file still has its recorded stamp (so the closure and hashes still hold)."""
    try:
        return all(_stamp(path) == stamp for path, stamp in stamps)
    except OSError:
        return False


def _parse(path: Path) -> tuple[ast.Module, _Stamp]:
    """A file's syntax tree and stamp, parsed once while its size and mtime stay the same."""
    stamp = _stamp(path)
    cached = _trees.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, ast.parse(path.read_bytes(), filename=str(path)))
        _trees[path] = cached
    return cached[1], stamp
