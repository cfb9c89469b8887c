"""Each step's cache key holds every field of its spec, and nothing of the others' specs.

Every leaf field of every stage's spec (nested specs, such as the features or the source,
included) is changed in turn; the key of the step that holds it must change, and no other
step's key may. Then, with the real wiring and stand-in step functions that copy their spec and
inputs into their outputs, a changed field reruns its step and the steps downstream of it, and
nothing upstream.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelyard.pipelines.runner import Observer, Step, StepContext, cache_key, run_pipeline
from modelyard.pipelines.specs import SearchSpec, TrainSpecs
from modelyard.pipelines.train import build_steps, external_inputs

from .fakes import MemoryRegistry, MemoryTracker
from .toy import make_specs, write_data

STAGES = ("ingest", "split", "search", "fit", "evaluate", "export", "register", "gate", "card")


def with_search(specs: TrainSpecs) -> TrainSpecs:
    search = SearchSpec(
        fit=specs.fit, space={"C": {"low": 0.01, "high": 10.0, "log": True}}, trials=3,
        timeout_s=60.0, validation="kfold", folds=3, metric="roc_auc", timestamp="when",
    )  # fmt: skip
    return dataclasses.replace(specs, search=search)


def changed(value: Any) -> Any:
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, float) and 0 < value < 1:
        return value / 2  # fractions and shares stay valid
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, Path):
        return value / "changed"
    if isinstance(value, tuple):
        return (*value, "changed")
    if isinstance(value, dict):
        return {**value, "changed": 1}
    if value is None:
        return "changed"
    raise TypeError(f"no change for {value!r}")


def leaf_fields(spec: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every leaf field of a spec, nested specs included."""
    for field in dataclasses.fields(spec):
        value = getattr(spec, field.name)
        if dataclasses.is_dataclass(value):
            yield from leaf_fields(value, f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}"


def replaced(spec: Any, path: str) -> Any:
    """``spec`` with the field at dotted ``path`` changed."""
    head, _, rest = path.partition(".")
    value = getattr(spec, head)
    new = replaced(value, rest) if rest else changed(value)
    if head in ("numeric", "categorical") and not rest:
        new = (*value, f"{head}-extra")  # a feature column may be listed under one kind only
    return dataclasses.replace(spec, **{head: new})


def keys(specs: TrainSpecs) -> dict[str, str]:
    tracker = MemoryTracker(Path("unused"))
    steps = build_steps(
        specs,
        run=None,
        registry=MemoryRegistry(tracker),
        on_trial=print,  # type: ignore[arg-type]
    )
    digests = {name: "same" for step in steps for name in step.inputs}
    return {step.name: cache_key(step, {n: digests[n] for n in step.inputs}) for step in steps}


def every_field() -> Iterator[Any]:
    specs = with_search(make_specs(Path("/project"), contract=Path("/project/contract.yaml")))
    for stage in STAGES:
        for path in leaf_fields(getattr(specs, stage)):
            yield pytest.param(stage, path, id=f"{stage}.{path}")


@pytest.mark.parametrize(("stage", "path"), list(every_field()))
def test_changing_a_field_changes_its_steps_key_and_no_other(stage: str, path: str) -> None:
    specs = with_search(make_specs(Path("/project"), contract=Path("/project/contract.yaml")))
    before = keys(specs)
    after = keys(dataclasses.replace(specs, **{stage: replaced(getattr(specs, stage), path)}))
    assert [name for name in STAGES if before[name] != after[name]] == [stage]


def test_the_specs_cover_every_stage_and_each_has_fields() -> None:
    specs = with_search(make_specs(Path("/project")))
    assert [step.name for step in build_steps(specs, run=None, registry=None, on_trial=print)] == [  # type: ignore[arg-type]
        *STAGES
    ]
    assert all(list(leaf_fields(getattr(specs, stage))) for stage in STAGES)


# --- reruns with the real wiring ---------------------------------------------------------------


def echo(spec: Any, ctx: StepContext, **ports: Any) -> None:
    """Stand-in step: each output holds the spec's fields and the inputs' contents."""
    payload = {
        "spec": json.loads(json.dumps(dataclasses.asdict(spec), default=str)),
        "inputs": {name: _content(path) for name, path in sorted(ctx.inputs.items())},
    }
    for name in _outputs[ctx.name]:
        target = ctx.output(name)
        if "." in name:
            target.write_text(json.dumps(payload, sort_keys=True))
        else:  # a folder output (model, plots, onnx, card)
            target.mkdir()
            (target / "content.json").write_text(json.dumps(payload, sort_keys=True))


def _content(path: Path) -> str:
    if path.is_dir():
        return "".join(p.read_text() for p in sorted(path.rglob("*")) if p.is_file())
    return path.read_bytes().decode(errors="replace")


_outputs: dict[str, tuple[str, ...]] = {}


class Ran(Observer):
    def __init__(self) -> None:
        self.ran: list[str] = []

    def started(self, step: Step) -> None:
        self.ran.append(step.name)


def run_echo(specs: TrainSpecs) -> list[str]:
    steps = build_steps(specs, run=None, registry=None, on_trial=print)  # type: ignore[arg-type]
    for step in steps:
        _outputs[step.name] = step.outputs
    stand_ins = [dataclasses.replace(s, run=echo, version="echo", is_valid=None) for s in steps]
    observer = Ran()
    run_pipeline(
        stand_ins, cache_dir=specs.cache_dir, external=external_inputs(specs), observer=observer
    )
    return observer.ran


DOWNSTREAM = {
    "ingest": STAGES,
    "split": STAGES[1:],
    "search": ("search", "fit", "evaluate", "export", "register", "gate", "card"),
    "fit": ("fit", "evaluate", "export", "register", "gate", "card"),
    "evaluate": ("evaluate", "register", "gate", "card"),
    "export": ("export", "register", "gate", "card"),
    "register": ("register", "gate", "card"),
    "gate": ("gate", "card"),
    "card": ("card",),
}
NEVER_CACHED = ("gate", "card")
CHANGES = {
    "ingest": "window",
    "split": "seed",
    "search": "trials",
    "fit": "params",
    "evaluate": "slices",
    "export": "enabled",
    "register": "seed",
    "gate": "champion_min_delta",
    "card": "primary_metric",
}


@pytest.fixture(scope="module")
def echoed(tmp_path_factory: pytest.TempPathFactory) -> TrainSpecs:
    root = tmp_path_factory.mktemp("echo")
    write_data(root, seed=5)
    specs = with_search(make_specs(root))
    assert run_echo(specs) == list(STAGES)
    return specs


def test_nothing_changed_reruns_only_the_uncached_steps(echoed: TrainSpecs) -> None:
    assert run_echo(echoed) == list(NEVER_CACHED)


@pytest.mark.parametrize("stage", STAGES)
def test_a_changed_field_reruns_its_step_and_those_downstream(
    echoed: TrainSpecs, stage: str
) -> None:
    spec = getattr(echoed, stage)
    ran = run_echo(dataclasses.replace(echoed, **{stage: replaced(spec, CHANGES[stage])}))
    assert ran == [name for name in STAGES if name in DOWNSTREAM[stage] or name in NEVER_CACHED]


def test_a_changed_source_file_reruns_everything(echoed: TrainSpecs) -> None:
    source = external_inputs(echoed)["source"]
    original = source.read_bytes()
    try:
        source.write_bytes(original + b"\n")
        assert run_echo(echoed) == list(STAGES)
    finally:
        source.write_bytes(original)
