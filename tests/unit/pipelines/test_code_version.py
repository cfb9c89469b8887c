"""A step's code version follows the code it can reach, and modelyard's version."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

import modelyard
from modelyard.pipelines import registry_steps, train_steps
from modelyard.pipelines.code_version import code_files, code_version
from modelyard.pipelines.runner import Observer, Step, run_pipeline

SRC = Path(modelyard.__file__).parent


def relative(paths: list[Path]) -> set[str]:
    return {path.relative_to(SRC).as_posix() for path in paths}


@pytest.mark.parametrize(
    ("step", "reaches", "not_reaches"),
    [
        pytest.param(
            train_steps.split, {"data/split.py", "pipelines/data.py"}, {"evaluation/metrics.py"},
            id="split",
        ),
        pytest.param(
            train_steps.fit,
            {"features/transform.py", "features/pipeline.py", "models/catalog.py"},
            {"data/split.py", "evaluation/metrics.py"},
            id="fit",
        ),
        pytest.param(
            train_steps.evaluate,
            {"evaluation/metrics.py", "evaluation/slices.py", "evaluation/plots.py",
             "features/transform.py"},
            {"data/split.py", "training/search.py"},
            id="evaluate",
        ),
        pytest.param(
            train_steps.search, {"training/search.py", "training/validation.py"},
            {"evaluation/plots.py"}, id="search",
        ),
        pytest.param(
            registry_steps.gate, {"evaluation/gates.py", "evaluation/metrics.py"}, set(),
            id="gate",
        ),
    ],
)  # fmt: skip
def test_a_step_covers_the_modules_it_calls(
    step: object, reaches: set[str], not_reaches: set[str]
) -> None:
    files = relative(code_files(step))  # type: ignore[arg-type]
    assert reaches <= files
    assert not files & not_reaches
    assert "__init__.py" in files  # modelyard/__init__.py: it holds the version


def test_upgrading_modelyard_changes_every_version(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = (train_steps.ingest, train_steps.fit, registry_steps.card)
    before = [code_version(step) for step in steps]
    monkeypatch.setattr(modelyard, "__version__", modelyard.__version__ + ".post1")
    after = [code_version(step) for step in steps]
    assert all(old != new for old, new in zip(before, after, strict=True))


# --- a package of its own, edited while the test runs ------------------------------------------

STEPS = '''
"""Steps of a throwaway package."""
from toypkg import helper
from toypkg.constants import SCALE

OFFSET = 1


def unrelated():
    return "not called by the step"


def _double(value):
    return value * 2 + OFFSET


def step(spec, ctx):
    from toypkg.lazy import suffix

    value = helper.scaled(int(ctx.input("number").read_text()))
    ctx.output("out").write_text(str(_double(value)) + suffix())
'''
FILES = {
    "__init__.py": "",
    "steps.py": STEPS,
    "helper.py": "def scaled(value):\n    return value * 3\n",
    "constants.py": "SCALE = 1\n",
    "lazy.py": "def suffix():\n    return '!'\n",
    "elsewhere.py": "def nothing():\n    return None\n",
}


@dataclass(frozen=True)
class Nothing:
    pass


@pytest.fixture
def toypkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "toypkg"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield folder
    for name in [m for m in sys.modules if m == "toypkg" or m.startswith("toypkg.")]:
        del sys.modules[name]


def load(folder: Path) -> ModuleType:
    importlib.invalidate_caches()
    return importlib.import_module("toypkg.steps")


def edit(path: Path, old: str, new: str) -> None:
    """Edit a file as a person would: later than it was written (the version notices an edited
    file by its size and modification time, which a same-size edit in the same clock tick of a
    coarse file system would not change)."""
    text = path.read_text()
    assert old in text
    before = path.stat().st_mtime_ns
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before + 10**9, before + 10**9))


def version(folder: Path) -> str:
    return code_version(load(folder).step)


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        pytest.param("steps.py", "value * 2", "value * 4", id="the step's own helper"),
        pytest.param("steps.py", "OFFSET = 1", "OFFSET = 2", id="a constant the step reads"),
        pytest.param("helper.py", "value * 3", "value * 5", id="a module it imports"),
        pytest.param("lazy.py", "'!'", "'?'", id="a module it imports inside the function"),
        pytest.param("constants.py", "SCALE = 1", "SCALE = 2", id="a module its module imports"),
    ],
)
def test_changing_code_the_step_reaches_changes_its_version(
    toypkg: Path, file: str, old: str, new: str
) -> None:
    before = version(toypkg)
    edit(toypkg / file, old, new)
    assert version(toypkg) != before


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        pytest.param("elsewhere.py", "return None", "return 1", id="a module nobody imports"),
        pytest.param("steps.py", "not called by the step", "other", id="an unused function"),
        pytest.param(
            "steps.py", "    value = helper", "    # a comment\n    value = helper",
            id="a comment in the step",
        ),
    ],
)  # fmt: skip
def test_changing_code_the_step_cannot_reach_keeps_its_version(
    toypkg: Path, file: str, old: str, new: str
) -> None:
    before = version(toypkg)
    edit(toypkg / file, old, new)
    assert version(toypkg) == before


class Ran(Observer):
    def __init__(self) -> None:
        self.ran: list[str] = []

    def started(self, step: Step) -> None:
        self.ran.append(step.name)


def test_a_step_reruns_after_a_module_it_calls_changed(toypkg: Path, tmp_path: Path) -> None:
    number = tmp_path / "number.txt"
    number.write_text("2")

    def run() -> tuple[list[str], str]:
        observer = Ran()
        step = Step("toy", load(toypkg).step, Nothing(), inputs=("number",), outputs=("out",))
        result = run_pipeline(
            [step], cache_dir=tmp_path / "cache", external={"number": number}, observer=observer
        )
        return observer.ran, result["out"].read_text()

    assert run() == (["toy"], "13!")
    assert run() == ([], "13!")
    edit(toypkg / "helper.py", "value * 3", "value * 5")
    for name in [m for m in sys.modules if m.partition(".")[0] == "toypkg"]:
        del sys.modules[name]  # run the new code, as a new process would
    assert run() == (["toy"], "21!")


def test_a_step_reruns_after_modelyard_is_upgraded(
    toypkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = tmp_path / "number.txt"
    number.write_text("2")

    def ran() -> list[str]:
        observer = Ran()
        step = Step("toy", load(toypkg).step, Nothing(), inputs=("number",), outputs=("out",))
        run_pipeline(
            [step], cache_dir=tmp_path / "cache", external={"number": number}, observer=observer
        )
        return observer.ran

    assert ran() == ["toy"]
    assert ran() == []
    monkeypatch.setattr(modelyard, "__version__", modelyard.__version__ + ".post1")
    assert ran() == ["toy"]
