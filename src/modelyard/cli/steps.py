"""Pipeline progress on the terminal: one line per step with its time, cached or not."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from modelyard.pipelines.runner import Observer, Step, StepResult

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status


class StepProgress(Observer):
    """Show a spinner on the running step and a line for each finished one."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.console, self.enabled = console, enabled
        self._status: Status | None = None
        self._started = 0.0

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def started(self, step: Step) -> None:
        if not self.enabled:
            return
        self._stop()
        self._started = time.perf_counter()
        self._status = self.console.status(f"[bold]{step.name}[/] running…")
        self._status.start()

    def finished(self, result: StepResult) -> None:
        if not self.enabled:
            return
        self._stop()
        how = "[dim]cached[/]" if result.cached else "[green]done[/]"
        self.console.print(f"  {result.name:<9} {how:<20} {result.seconds:7.2f}s")

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
