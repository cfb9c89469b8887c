"""Run steps in order, skipping those whose spec, inputs and code have not changed.

A step is a module-level function ``run(spec, ctx, **ports)``: ``spec`` is a frozen dataclass
built from the config, ``ctx`` gives its declared input files and the folder for its outputs,
and ``ports`` are the services it talks to (the registry, say), which hold no settings. Its
cache key hashes the step's name, every field of its spec, the digests of its inputs and its
code version (``code_version``: the code it can reach and modelyard's version). A step sees
nothing else, so a cached output cannot be stale. Outputs are files in a folder named by that
key, made complete by a marker written last: a step killed half-way leaves no marker, so the
next run starts again at the first step without one, and everything before it is reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.errors import ModelyardError, PipelineError
from modelyard.pipelines.code_version import code_version

MARKER = "_complete.json"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a running step sees besides its spec: its input files and its output folder."""

    name: str
    out: Path
    inputs: Mapping[str, Path]

    def input(self, name: str) -> Path:
        """Return the path of input ``name``."""
        try:
            return self.inputs[name]
        except KeyError:
            raise PipelineError(
                f"Step {self.name!r} read input {name!r}, which it did not declare "
                f"(declared: {', '.join(sorted(self.inputs)) or 'none'}). Declare it in its Step."
            ) from None

    def output(self, name: str) -> Path:
        """Return where output ``name`` goes."""
        return self.out / name


@dataclass(frozen=True, slots=True)
class Step:
    """One step: ``run(spec, ctx, **ports)`` writes each of ``outputs`` into ``ctx.out``.

    Inputs name outputs of earlier steps, or external files given to ``run_pipeline``.
    ``spec`` is a frozen dataclass instance; each of its fields is part of the cache key.
    ``run`` must be a function defined at the top of a module (no lambda, closure or partial),
    so it reads nothing but its spec, its inputs and its ``ports``. Ports are effects, not
    settings: they are not part of the key, so a step that reads one (the registry's current
    champion, say) is ``cache=False``, and a cached step can check through ``is_valid``
    (called like ``run``) that what it recorded still holds. ``version`` replaces the computed
    code version (for code outside a module, in tests).
    """

    name: str
    run: Callable[..., None]
    spec: Any
    outputs: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    ports: Mapping[str, Any] = field(default_factory=dict)
    cache: bool = True
    version: str | None = None
    is_valid: Callable[..., bool] | None = None

    def __post_init__(self) -> None:
        _check_function(self.name, self.run)
        _check_spec(self.name, self.spec)

    def code_version(self) -> str:
        """The step's code version: given, or computed from the code it can reach."""
        return self.version if self.version is not None else code_version(self.run)

    def call(self, ctx: StepContext) -> None:
        """Run the step into ``ctx.out``."""
        self.run(self.spec, ctx, **self.ports)

    def still_valid(self, ctx: StepContext) -> bool:
        """Whether a cached result in ``ctx.out`` may be reused."""
        return self.is_valid is None or self.is_valid(self.spec, ctx, **self.ports)


@dataclass(frozen=True, slots=True)
class StepResult:
    """How one step went."""

    name: str
    key: str
    cached: bool
    seconds: float
    out: Path


@dataclass(frozen=True, slots=True)
class PipelineResult:
    """Every step's result, in order, with each output's path."""

    steps: tuple[StepResult, ...]
    outputs: Mapping[str, Path]

    @property
    def all_cached(self) -> bool:
        return all(step.cached for step in self.steps)

    def __getitem__(self, output: str) -> Path:
        return self.outputs[output]


class Observer:
    """Hears about each step; the CLI shows progress, tests record."""

    def started(self, step: Step) -> None:
        """A step starts running."""

    def finished(self, result: StepResult) -> None:
        """A step finished or was served from the cache."""


def run_pipeline(
    steps: Sequence[Step],
    *,
    cache_dir: Path,
    external: Mapping[str, Path] | None = None,
    use_cache: bool = True,
    observer: Observer | None = None,
) -> PipelineResult:
    """Run ``steps`` in order under ``cache_dir``, reusing complete outputs.

    Args:
        steps: the steps; each input must be an external file or an earlier step's output.
        cache_dir: where each step keeps its outputs, by step name and cache key.
        external: files the pipeline starts from, by input name.
        use_cache: False reruns every step (``--no-cache``).
        observer: told when each step starts and finishes.
    """
    observer = observer or Observer()
    available: dict[str, Path] = dict(external or {})
    digests: dict[str, str] = {}
    results: list[StepResult] = []
    _check_wiring(steps, set(available))
    _sweep_abandoned(cache_dir)
    for step in steps:
        inputs = {name: available[name] for name in step.inputs}
        for name, path in inputs.items():
            if name not in digests:
                digests[name] = digest_path(path)
        key = cache_key(step, {name: digests[name] for name in step.inputs})
        folder = cache_dir / step.name / key
        ctx = StepContext(step.name, folder, inputs)
        start = time.perf_counter()
        complete = use_cache and step.cache and _is_complete(folder, step)
        cached = complete and step.still_valid(ctx)
        if not cached:
            observer.started(step)
            # a complete folder that is no longer valid must make way, or every run redoes it
            replace = not (use_cache and step.cache) or complete
            folder = _run_step(step, inputs, folder, replace=replace)
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        for name in step.outputs:
            available[name] = folder / name
            digests[name] = marker["outputs"][name]
        result = StepResult(step.name, key, cached, time.perf_counter() - start, folder)
        results.append(result)
        observer.finished(result)
    return PipelineResult(tuple(results), available)


def reuse_pipeline(
    steps: Sequence[Step],
    *,
    cache_dir: Path,
    external: Mapping[str, Path] | None = None,
    checks: Mapping[str, Callable[[StepContext], bool]],
) -> PipelineResult | None:
    """Every step's result from the cache alone, or None as soon as one step would have to run.

    Runs nothing and calls no step's ``is_valid`` (which may need a service the caller wants to
    avoid starting). A step named in ``checks`` is reused when its latest complete outputs for
    its key (cached or not: an uncached step's folder holds its last run's) pass its check; any
    other step only when it is cached, has no ``is_valid`` and its outputs are complete.
    """
    available: dict[str, Path] = dict(external or {})
    digests: dict[str, str] = {}
    results: list[StepResult] = []
    _check_wiring(steps, set(available))
    for step in steps:
        start = time.perf_counter()
        inputs = {name: available[name] for name in step.inputs}
        for name, path in inputs.items():
            if name not in digests:
                digests[name] = digest_path(path)
        key = cache_key(step, {name: digests[name] for name in step.inputs})
        folder = cache_dir / step.name / key
        check = checks.get(step.name)
        plain = step.cache and step.is_valid is None
        if not (check is not None or plain) or not _is_complete(folder, step):
            return None
        try:
            marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
            if check is not None and not check(StepContext(step.name, folder, inputs)):
                return None
        except (OSError, ValueError) as exc:  # replaced by a concurrent run: not sure, so no
            log.debug("cannot reuse step %s: %s", step.name, exc)
            return None
        for name in step.outputs:
            available[name] = folder / name
            digests[name] = marker["outputs"][name]
        results.append(StepResult(step.name, key, True, time.perf_counter() - start, folder))
    return PipelineResult(tuple(results), available)


def cache_key(step: Step, input_digests: Mapping[str, str]) -> str:
    """Hash a step's name, code version, spec fields and input digests."""
    payload = {
        "step": step.name,
        "code": step.code_version(),
        "spec": spec_fields(step.spec),
        "inputs": dict(sorted(input_digests.items())),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def spec_fields(spec: Any) -> dict[str, Any]:
    """A spec as canonical JSON-able data: its type, and every field (nested specs too)."""
    fields = json.loads(json.dumps(dataclasses.asdict(spec), sort_keys=True, default=_jsonable))
    return {"type": f"{type(spec).__module__}.{type(spec).__qualname__}", "fields": fields}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(
        f"Spec field value {value!r} ({type(value).__name__}) has no canonical form for the cache "
        "key. Use str, int, float, bool, None, Path, tuples, dicts or nested frozen dataclasses."
    )


def digest_path(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    sha = hashlib.sha256()
    for file in _files(path):
        sha.update(file.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        sha.update(b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
    return sha.hexdigest()


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file() and p.name != MARKER)
    elif path.is_file():
        yield path
    else:
        raise PipelineError(f"Input {str(path)!r} does not exist. Run the step that makes it.")


def _check_wiring(steps: Sequence[Step], external: set[str]) -> None:
    available = set(external)
    for step in steps:
        missing = [name for name in step.inputs if name not in available]
        if missing:
            raise PipelineError(
                f"Step {step.name!r} needs {', '.join(map(repr, missing))}, which no earlier "
                "step makes. Reorder the steps or pass the file as an external input."
            )
        available.update(step.outputs)


def _is_complete(folder: Path, step: Step) -> bool:
    marker = folder / MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))["outputs"]
    except (ValueError, KeyError):
        return False
    return all(name in recorded and (folder / name).exists() for name in step.outputs)


def _check_function(name: str, function: Callable[..., None]) -> None:
    """Refuse a step function that could read something besides its spec and inputs."""
    if not inspect.isfunction(function) or "<" in function.__qualname__ or function.__closure__:
        raise PipelineError(
            f"Step {name!r} runs {function!r}, which is not a function defined at the top of a "
            "module (a lambda, closure, partial or method can hold settings the cache key does "
            "not see). Define it with `def` at module level, put its settings in its spec and "
            "the services it talks to in its ports."
        )


def _check_spec(name: str, spec: Any) -> None:
    params = getattr(type(spec), "__dataclass_params__", None)
    if isinstance(spec, type) or params is None or not params.frozen:
        raise PipelineError(
            f"Step {name!r} has spec {spec!r}, which is not a frozen dataclass instance. "
            "Give each step a @dataclass(frozen=True) spec built once from the config."
        )


def _run_step(step: Step, inputs: Mapping[str, Path], folder: Path, *, replace: bool) -> Path:
    """Run into a private folder, then move it into place complete; return where it is.

    Several processes may run the same step at once (parallel ``modelyard train``); each
    writes its own folder, so no reader ever sees a half-written output, and each goes on
    with its own outputs. For the cache, the first complete folder to land wins, unless
    ``replace`` (``--no-cache``, or a step that is never cached) puts the new one in its place.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        _execute(step, StepContext(step.name, private, inputs))
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    return _land(private, folder, step, replace=replace)


def _execute(step: Step, ctx: StepContext) -> None:
    try:
        step.call(ctx)
    except ModelyardError:
        raise
    except Exception as exc:
        log.debug("step %s failed", step.name, exc_info=True)
        raise PipelineError(
            f"Step {step.name!r} failed: {exc.__class__.__name__}: {exc}. "
            "Rerun with -vv for details; finished steps are cached and will not rerun."
        ) from exc
    missing = [name for name in step.outputs if not (ctx.out / name).exists()]
    if missing:
        raise PipelineError(
            f"Step {step.name!r} finished without writing {', '.join(map(repr, missing))}. "
            "This is a bug in the step: it must write every output it declares."
        )
    outputs = {name: digest_path(ctx.out / name) for name in step.outputs}
    marker = {"step": step.name, "outputs": outputs, "finished_at": time.time()}
    (ctx.out / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")


def _land(private: Path, folder: Path, step: Step, *, replace: bool) -> Path:
    """Move a finished private folder to ``folder``; return where the outputs now are."""
    if not replace and _is_complete(folder, step):
        return private  # another process cached the same step; ours stays private
    trash = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    try:
        if folder.exists():
            folder.rename(trash)
        private.rename(folder)
    except OSError:
        return private  # lost a race with another process; our outputs are complete here
    finally:
        shutil.rmtree(trash, ignore_errors=True)
    return folder


def _sweep_abandoned(cache_dir: Path, *, older_than_s: float = 6 * 3600) -> None:
    """Delete private step folders left by killed or superseded runs."""
    cutoff = time.time() - older_than_s
    for leftover in cache_dir.glob("*/.*"):
        try:
            if leftover.is_dir() and leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue
