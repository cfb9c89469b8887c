"""Readiness goes to 503 the moment SIGTERM (or SIGINT) arrives; the server stops later.

Inside a uvicorn process the app wraps uvicorn's own signal handler: the first signal marks
the app as draining (``/health/ready`` answers 503, requests are still served) and hands the
signal on to uvicorn after ``drain_delay_s``, which then refuses new connections and lets
in-flight requests finish within its graceful-shutdown timeout. A second signal is handed on
at once. This works with any number of workers, each wrapping its own handler.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("modelyard.serving")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_drain(on_drain: Callable[[], None], delay_s: float) -> Callable[[], None]:
    """Wrap the running server's SIGTERM and SIGINT handlers; return a function undoing it.

    Does nothing outside the main thread (tests running the app in a thread) or where no
    Python-level handler is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    progress = {"signalled": False, "handed_on": False}

    def hand_on(signum: int, frame: Any) -> None:
        if not progress["handed_on"]:
            progress["handed_on"] = True
            previous[signum](signum, frame)

    def on_signal(signum: int, frame: Any) -> None:
        if progress["handed_on"]:  # a repeated signal during shutdown: let the server force it
            previous[signum](signum, frame)
        elif progress["signalled"]:  # a second signal while draining: shut down now
            hand_on(signum, frame)
        else:
            progress["signalled"] = True
            on_drain()
            log.info("signal %s: draining for %.1f s, then shutting down", signum, delay_s)
            loop.call_soon_threadsafe(loop.call_later, delay_s, hand_on, signum, None)

    for signum in SIGNALS:
        handler = signal.getsignal(signum)
        if callable(handler):
            previous[signum] = handler
            signal.signal(signum, on_signal)

    def restore() -> None:
        for signum, handler in previous.items():
            if signal.getsignal(signum) is on_signal:
                signal.signal(signum, handler)

    return restore
