"""The access log: one JSON line per request on the ``modelyard.serving.access`` logger.

A line holds the request id, method, route template (the raw path, cut to 200 characters,
when no route matched), status, milliseconds, model version and client address: never
headers, bodies or query strings. It goes through the logging machinery, so the handlers'
filters (the CLI's masks every known secret) and formatters apply.

Building and handling a log record costs more than a prediction's bookkeeping, so while the
app runs a request only appends a tuple to a queue, and a background thread turns the queue
into records every ``flush_s`` seconds, each dated when its request ended. Before ``start``
and after ``close`` lines are written at once.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time

access_log = logging.getLogger("modelyard.serving.access")
log = logging.getLogger("modelyard.serving")
MAX_LOGGED_PATH = 200
FLUSH_S = 0.1
CHUNK = 256

# (ended, request_id, method, path, is_template, status, seconds, version, client)
Entry = tuple[float, str, str, str, bool, int, float, str, str | None]


class AccessLog:
    """Access lines for ``logger``, queued by requests and written by a background thread.

    Args:
        logger: Where the lines go.
        flush_s: How often the thread writes what is queued.
        queue_size: Lines the queue holds; beyond it a line is dropped and counted.
    """

    def __init__(
        self,
        logger: logging.Logger = access_log,
        *,
        flush_s: float = FLUSH_S,
        queue_size: int = 100_000,
    ) -> None:
        self.logger, self.flush_s, self.queue_size = logger, flush_s, queue_size
        self.dropped = 0
        # a deque polled by the writer, not a queue.Queue: no thread wake-up per request
        self._entries: collections.deque[Entry] = collections.deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_enabled(self) -> bool:
        """Whether the logger takes INFO lines (checked per request: it is cached)."""
        return self.logger.isEnabledFor(logging.INFO)

    def put(self, entry: Entry) -> None:
        """Queue one request's line, or write it at once when no writer runs."""
        if self._thread is None:
            self._emit(entry)
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
        written = 0
        while self._entries:
            try:
                self._emit(self._entries.popleft())
            except Exception:  # a failing handler must not stop the log
                log.exception("cannot write an access log line")
            written += 1
            if written % CHUNK == 0:
                time.sleep(0)  # let the event loop have the GIL between chunks

    def _emit(self, entry: Entry) -> None:
        ended, request_id, method, path, is_template, status, seconds, version, client = entry
        # the fields are ours (hex id, route template, digits) or need escaping (raw path,
        # method, client); the line reads as json.dumps of the same dict would
        shown = f'"{path}"' if is_template else json.dumps(path[:MAX_LOGGED_PATH])
        line = (
            f'{{"request_id": "{request_id}", "method": {json.dumps(method)}, '
            f'"path": {shown}, "status": {status}, "ms": {round(seconds * 1000, 3)}, '
            f'"model_version": {json.dumps(version)}, "client": {json.dumps(client)}}}'
        )
        record = self.logger.makeRecord(
            self.logger.name, logging.INFO, __file__, 0, line, (), None, "access"
        )
        late = record.created - ended  # dated when the request ended, not when written
        record.created, record.relativeCreated = ended, record.relativeCreated - late * 1000
        record.msecs = int((ended - int(ended)) * 1000) + 0.0
        self.logger.handle(record)
