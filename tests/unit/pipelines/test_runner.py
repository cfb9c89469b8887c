"""The step runner: cache keys, reuse, invalidation, and resuming after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelyard.errors import PipelineError
from modelyard.pipelines.runner import (
    Observer,
    Step,
    StepContext,
    StepResult,
    cache_key,
    run_pipeline,
)


class Recorder(Observer):
    def __init__(self) -> None:
        self.ran: list[str] = []
        self.finished_steps: list[StepResult] = []

    def started(self, step: Step) -> None:
        self.ran.append(step.name)

    def finished(self, result: StepResult) -> None:
        self.finished_steps.append(result)


@dataclass(frozen=True)
class Factor:
    factor: int = 2


@dataclass(frozen=True)
class Nothing:
    pass


def double(spec: Factor, ctx: StepContext) -> None:
    value = int(ctx.input("number").read_text())
    ctx.output("doubled").write_text(str(value * spec.factor))


def add_one(spec: Nothing, ctx: StepContext) -> None:
    ctx.output("result").write_text(str(int(ctx.input("doubled").read_text()) + 1))


def steps(factor: int = 2) -> list[Step]:
    return [
        Step("double", double, Factor(factor), inputs=("number",), outputs=("doubled",)),
        Step("add", add_one, Nothing(), inputs=("doubled",), outputs=("result",)),
    ]


@pytest.fixture
def number(tmp_path: Path) -> Path:
    path = tmp_path / "number.txt"
    path.write_text("20")
    return path


def run(tmp_path: Path, number: Path, **kwargs: object) -> tuple[Recorder, Path]:
    recorder = Recorder()
    result = run_pipeline(
        kwargs.pop("steps", steps()),  # type: ignore[arg-type]
        cache_dir=tmp_path / "cache",
        external={"number": number},
        observer=recorder,
        **kwargs,  # type: ignore[arg-type]
    )
    return recorder, result["result"]


def test_runs_every_step_the_first_time(tmp_path: Path, number: Path) -> None:
    recorder, result = run(tmp_path, number)
    assert recorder.ran == ["double", "add"]
    assert result.read_text() == "41"


def test_unchanged_steps_are_served_from_cache(tmp_path: Path, number: Path) -> None:
    run(tmp_path, number)
    recorder, result = run(tmp_path, number)
    assert recorder.ran == []
    assert all(r.cached for r in recorder.finished_steps)
    assert result.read_text() == "41"


def test_no_cache_reruns_everything(tmp_path: Path, number: Path) -> None:
    run(tmp_path, number)
    recorder, _ = run(tmp_path, number, use_cache=False)
    assert recorder.ran == ["double", "add"]


def test_changed_spec_reruns_the_step_and_what_follows(tmp_path: Path, number: Path) -> None:
    run(tmp_path, number)
    recorder, result = run(tmp_path, number, steps=steps(factor=3))
    assert recorder.ran == ["double", "add"]
    assert result.read_text() == "61"


def test_changed_input_content_reruns(tmp_path: Path, number: Path) -> None:
    run(tmp_path, number)
    number.write_text("5")
    recorder, result = run(tmp_path, number)
    assert recorder.ran == ["double", "add"]
    assert result.read_text() == "11"


def test_same_output_downstream_stays_cached(tmp_path: Path, number: Path) -> None:
    """A rerun upstream step that produces identical bytes does not invalidate the next."""
    run(tmp_path, number)
    first = [
        Step("double", double, Factor(2), inputs=("number",), outputs=("doubled",), version="v2"),
        steps()[1],
    ]
    recorder, _ = run(tmp_path, number, steps=first)
    assert recorder.ran == ["double"]


def test_changed_code_version_reruns(tmp_path: Path, number: Path) -> None:
    run(tmp_path, number)
    changed = [
        steps()[0],
        Step("add", add_one, Nothing(), inputs=("doubled",), outputs=("result",), version="x"),
    ]
    recorder, _ = run(tmp_path, number, steps=changed)
    assert recorder.ran == ["add"]


def test_uncacheable_steps_always_run(tmp_path: Path, number: Path) -> None:
    run(tmp_path, number)
    fresh = [
        Step("double", double, Factor(2), inputs=("number",), outputs=("doubled",), cache=False),
        steps()[1],
    ]
    recorder, _ = run(tmp_path, number, steps=fresh)
    assert recorder.ran == ["double"]


def test_is_valid_can_veto_a_cached_result(tmp_path: Path, number: Path) -> None:
    run(tmp_path, number)
    vetoed = [
        steps()[0],
        Step(
            "add", add_one, Nothing(), inputs=("doubled",), outputs=("result",),
            is_valid=lambda spec, ctx: False,
        ),
    ]  # fmt: skip
    recorder, _ = run(tmp_path, number, steps=vetoed)
    assert recorder.ran == ["add"]


def forget(spec: Nothing, ctx: StepContext) -> None:
    """Write nothing."""


def boom(spec: Nothing, ctx: StepContext) -> None:
    ctx.output("x").write_text("partial")
    raise RuntimeError("disk on fire")


def test_a_step_that_forgets_an_output_fails(tmp_path: Path, number: Path) -> None:
    lazy = [Step("lazy", forget, Nothing(), inputs=("number",), outputs=("missing.txt",))]
    with pytest.raises(PipelineError, match=r"Step 'lazy' finished without writing 'missing\.txt'"):
        run_pipeline(lazy, cache_dir=tmp_path / "cache", external={"number": number})


def test_unwired_input_is_refused_before_anything_runs(tmp_path: Path, number: Path) -> None:
    wrong = [steps()[1]]
    with pytest.raises(
        PipelineError, match=r"Step 'add' needs 'doubled', which no earlier step makes"
    ):
        run_pipeline(wrong, cache_dir=tmp_path / "cache", external={"number": number})


def test_a_failing_step_names_itself_and_leaves_no_marker(tmp_path: Path, number: Path) -> None:
    with pytest.raises(PipelineError, match=r"Step 'boom' failed: RuntimeError: disk on fire"):
        run_pipeline([Step("boom", boom, Nothing(), outputs=("x",))], cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache" / "boom").rglob("_complete.json"))


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from dataclasses import dataclass
    from pathlib import Path
    from modelyard.pipelines.runner import Step, run_pipeline

    log = Path(sys.argv[1]) / "log.txt"

    @dataclass(frozen=True)
    class Spec:
        pass

    def first(spec, ctx):
        with log.open("a") as f: f.write("first\\n")
        ctx.output("a").write_text("a")

    def slow(spec, ctx):
        with log.open("a") as f: f.write("slow-start\\n")
        ctx.output("b").write_text("partial")
        if Path(sys.argv[1], "hang").exists():
            time.sleep(60)
        ctx.output("b").write_text("b")

    steps = [Step("first", first, Spec(), outputs=("a",), version="1"),
             Step("slow", slow, Spec(), inputs=("a",), outputs=("b",), version="1")]
    result = run_pipeline(steps, cache_dir=Path(sys.argv[1]) / "cache")
    print(result["b"].read_text())
    """
)


def test_kill_9_mid_step_resumes_at_the_first_missing_output(tmp_path: Path) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text(SCRIPT)
    (tmp_path / "hang").touch()
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while (
            "slow-start" not in (tmp_path / "log.txt").read_text()
            if (tmp_path / "log.txt").exists()
            else True
        ):
            assert time.monotonic() < deadline, "the pipeline never reached the slow step"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    (tmp_path / "hang").unlink()
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "b"
    assert (tmp_path / "log.txt").read_text().splitlines() == ["first", "slow-start", "slow-start"]
    markers = [json.loads(p.read_text()) for p in (tmp_path / "cache").rglob("_complete.json")]
    assert sorted(m["step"] for m in markers) == ["first", "slow"]


def count(spec: Nothing, ctx: StepContext, *, counter: list[int]) -> None:
    counter.append(len(counter) + 1)
    ctx.output("n").write_text(str(counter[-1]))


def counter_step(counter: list[int], **kwargs: object) -> Step:
    """A step that counts its runs in ``counter``, a port."""
    return Step(
        "count", count, Nothing(), outputs=("n",), ports={"counter": counter}, version="1",
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_no_cache_replaces_the_cached_outputs(tmp_path: Path) -> None:
    counter: list[int] = []
    run_pipeline([counter_step(counter)], cache_dir=tmp_path)
    again = run_pipeline([counter_step(counter)], cache_dir=tmp_path, use_cache=False)
    assert again["n"].read_text() == "2"
    cached = run_pipeline([counter_step(counter)], cache_dir=tmp_path)
    assert cached["n"].read_text() == "2"  # the cache now holds the newer outputs
    assert counter == [1, 2]


def test_a_run_that_finds_the_step_cached_meanwhile_keeps_its_own_outputs(tmp_path: Path) -> None:
    """Two processes ran the same step: each goes on with what it computed itself."""
    counter: list[int] = []
    first = run_pipeline([counter_step(counter)], cache_dir=tmp_path / "cache")
    landed, aside = first["n"].parent, tmp_path / "aside"
    landed.rename(aside)  # not cached yet when the second run looks, but landed while it ran
    racing = Step(
        "count", count_while_another_lands, Nothing(), outputs=("n",), version="1",
        ports={"counter": counter, "landing": (aside, landed)},
    )  # fmt: skip
    second = run_pipeline([racing], cache_dir=tmp_path / "cache")
    assert second["n"].read_text() == "2"
    assert (landed / "n").read_text() == "1"  # the copy that landed first stays cached
    assert second["n"].parent != landed


def count_while_another_lands(
    spec: Nothing, ctx: StepContext, *, counter: list[int], landing: tuple[Path, Path]
) -> None:
    """Count, while another process lands its complete copy (moved from ``landing[0]``)."""
    count(spec, ctx, counter=counter)
    landing[0].rename(landing[1])


def test_a_cached_step_that_is_no_longer_valid_is_replaced(tmp_path: Path) -> None:
    counter: list[int] = []
    run_pipeline([counter_step(counter)], cache_dir=tmp_path)
    vetoed = counter_step(counter, is_valid=lambda spec, ctx, counter: False)
    assert run_pipeline([vetoed], cache_dir=tmp_path)["n"].read_text() == "2"
    again = run_pipeline([counter_step(counter)], cache_dir=tmp_path)
    assert again["n"].read_text() == "2"  # not the stale copy, and not run a third time
    assert counter == [1, 2]


# --- what a step may be -------------------------------------------------------------------------


def test_a_step_gets_its_spec_its_declared_inputs_and_its_ports(tmp_path: Path) -> None:
    seen: list[tuple[object, list[str]]] = []
    source = tmp_path / "in.txt"
    source.write_text("x")
    step = Step("look", look, Factor(5), inputs=("in",), outputs=("out",), ports={"seen": seen})
    run_pipeline([step], cache_dir=tmp_path / "cache", external={"in": source, "other": source})
    assert seen == [(Factor(5), ["in"])]


def look(spec: Factor, ctx: StepContext, *, seen: list[tuple[object, list[str]]]) -> None:
    seen.append((spec, sorted(ctx.inputs)))
    ctx.output("out").write_text("seen")


def test_reading_an_undeclared_input_fails(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("x")
    step = Step("peek", peek, Nothing(), outputs=("out",))
    with pytest.raises(PipelineError, match=r"Step 'peek' read input 'in', which it did not"):
        run_pipeline([step], cache_dir=tmp_path / "cache", external={"in": source})


def peek(spec: Nothing, ctx: StepContext) -> None:
    ctx.input("in")


def make_closure(factor: int) -> object:
    def closure(spec: Nothing, ctx: StepContext) -> None:
        ctx.output("out").write_text(str(factor))

    return closure


@pytest.mark.parametrize(
    "function",
    [
        pytest.param(lambda spec, ctx: None, id="lambda"),
        pytest.param(make_closure(3), id="closure"),
        pytest.param(__import__("functools").partial(double, Factor(3)), id="partial"),
    ],
)
def test_a_step_that_could_hide_settings_is_refused(function: object) -> None:
    with pytest.raises(PipelineError, match=r"not a function defined at the top of a module"):
        Step("hidden", function, Nothing(), outputs=("out",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"factor": 2}, id="dict"),
        pytest.param(Factor, id="class"),
        pytest.param(__import__("types").SimpleNamespace(factor=2), id="namespace"),
    ],
)
def test_a_spec_must_be_a_frozen_dataclass_instance(spec: object) -> None:
    with pytest.raises(PipelineError, match=r"is not a frozen dataclass instance"):
        Step("double", double, spec, outputs=("doubled",))


@dataclass
class Mutable:
    factor: int = 2


def test_a_mutable_spec_is_refused() -> None:
    with pytest.raises(PipelineError, match=r"Step 'double' has spec Mutable\(factor=2\)"):
        Step("double", double, Mutable(), outputs=("doubled",))


def test_the_key_holds_every_spec_field_and_the_spec_type() -> None:
    def key(spec: object) -> str:
        return cache_key(Step("double", double, spec, outputs=("doubled",), version="1"), {})

    @dataclass(frozen=True)
    class OtherFactor:
        factor: int = 2

    assert key(Factor(2)) == key(Factor(2))
    assert key(Factor(2)) != key(Factor(3))
    assert key(Factor(2)) != key(OtherFactor(2))


def test_the_key_holds_the_input_digests_and_the_code_version() -> None:
    step = steps()[0]
    assert cache_key(step, {"number": "a"}) != cache_key(step, {"number": "b"})
    other = Step("double", double, Factor(2), outputs=("doubled",), version="other")
    assert cache_key(step, {}) != cache_key(other, {})
