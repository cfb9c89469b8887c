"""The access log: one JSON line per request on stderr, written off the request path.

A line holds the time the request ended (UTC), request id, method, route template, status,
milliseconds, model version and client address: never headers, bodies or query strings. When
no route matched, the raw path stands in for the template, cut to 200 characters, with every
secret masked: the app's API keys, URL passwords, and whatever the ``RedactingFilter`` of the
``modelyard.serving.access`` logger's handlers masks (``modelyard serve`` installs one that
knows the project's secrets).

Lines are written while that logger takes INFO (``modelyard serve`` sets it), but not through
the logging machinery: a log record per request cost as much CPU as the rest of a prediction's
bookkeeping. A request appends a tuple to a queue; a background thread turns the queue into
lines every ``flush_s`` seconds and writes them in one call. Before ``start`` and after
``close`` a line is written at once.
"""

from __future__ import annotations

import collections
import json
import logging
import sys
import threading
import time
from collections.abc import Iterable
from typing import TextIO

from modelyard.config.secrets import MASK, RedactingFilter, mask_url_passwords

access_log = logging.getLogger("modelyard.serving.access")
log = logging.getLogger("modelyard.serving")
MAX_LOGGED_PATH = 200
FLUSH_S = 0.1

# (ended, request_id, method, path, is_template, status, seconds, version, client)
Entry = tuple[float, str, str, str, bool, int, float, str, str | None]


class AccessLog:
    """Access lines, queued by requests and written by a background thread.

    Args:
        secrets: Values masked wherever a raw path is logged (the API keys).
        stream: Where lines go; None means ``sys.stderr`` as it is when they are written.
        flush_s: How often the thread writes what is queued.
        queue_size: Lines the queue holds; beyond it a line is dropped and counted.
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        stream: TextIO | None = None,
        flush_s: float = FLUSH_S,
        queue_size: int = 100_000,
    ) -> None:
        self.secrets = {secret for secret in secrets if secret}
        self.stream, self.flush_s, self.queue_size = stream, flush_s, queue_size
        self.dropped = 0
        # a deque polled by the writer, not a queue.Queue: no thread wake-up per request
        self._entries: collections.deque[Entry] = collections.deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._second, self._stamp = -1, ""

    @property
    def is_enabled(self) -> bool:
        """Whether ``modelyard.serving.access`` takes INFO lines (a cached check)."""
        return access_log.isEnabledFor(logging.INFO)

    def put(self, entry: Entry) -> None:
        """Queue one request's line, or write it at once when no writer runs."""
        if self._thread is None:
            self._write([entry])
        elif len(self._entries) < self.queue_size:
            self._entries.append(entry)
        else:
            self.dropped += 1

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="modelyard-access-log", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer, waiting up to ``timeout`` seconds."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)
        if thread.is_alive():
            log.error("access log writer did not finish in %.0f s", timeout)
        self._thread = None
        self._drain()  # lines queued while it stopped
        if self.dropped:
            log.warning("access log dropped %d lines: its queue was full", self.dropped)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.flush_s)
            self._drain()
            if stopping:
                return

    def _drain(self) -> None:
        entries = []
        while self._entries:
            entries.append(self._entries.popleft())
        if entries:
            self._write(entries)

    def _write(self, entries: list[Entry]) -> None:
        try:
            text = "".join([self._line(entry) for entry in entries])
            stream = self.stream or sys.stderr
            stream.write(text)
            stream.flush()
        except Exception:  # a closed or full stream must not stop the server
            log.exception("cannot write %d access log lines", len(entries))

    def _line(self, entry: Entry) -> str:
        ended, request_id, method, path, is_template, status, seconds, version, client = entry
        second = int(ended)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        # our own fields (hex id, route template, digits) go in as they are; the others are
        # encoded, so the line reads as json.dumps of the same dict would
        shown = f'"{path}"' if is_template else json.dumps(self._masked(path))
        return (
            f'{{"time": "{self._stamp}.{int((ended - second) * 1000):03d}Z", '
            f'"request_id": "{request_id}", "method": {json.dumps(method)}, '
            f'"path": {shown}, "status": {status}, "ms": {round(seconds * 1000, 3)}, '
            f'"model_version": {json.dumps(version)}, "client": {json.dumps(client)}}}\n'
        )

    def _masked(self, path: str) -> str:
        masked = mask_url_passwords(path)
        for secret in sorted(self.secrets | _filtered_secrets(), key=len, reverse=True):
            masked = masked.replace(secret, MASK)
        return masked[:MAX_LOGGED_PATH]


def _filtered_secrets() -> set[str]:
    """The secrets the ``RedactingFilter`` of the access logger's handlers mask."""
    found: set[str] = set()
    logger: logging.Logger | None = access_log
    while logger is not None:
        for handler in logger.handlers:
            for candidate in handler.filters:
                if isinstance(candidate, RedactingFilter):
                    found.update(candidate.secrets)
        logger = logger.parent if logger.propagate else None
    return found
