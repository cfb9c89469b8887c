"""Prediction and feedback logs, written off the hot path as date-partitioned Parquet.

A request only appends one entry to a bounded in-memory queue (never blocking; a full queue
drops the entry and counts it). The queue is bounded in entries and in bytes (request and
response bodies), so big batches cannot hold memory until the next flush. A prediction's
entry is its request body as received and its response body as sent, both already JSON, so
the request path encodes nothing extra. A
background thread turns entries into rows and writes them every ``flush_rows`` rows or
``flush_s`` seconds, and once more at shutdown, to::

    <store>/predictions/model=<name>/date=<YYYY-MM-DD>/part-<UTC time>-<uuid>.parquet
    <store>/feedback/model=<name>/date=<YYYY-MM-DD>/part-<UTC time>-<uuid>.parquet

Each file is written under a temporary dot-name and renamed, so readers never see half a file.
Requests, responses and labels are stored as JSON text, so versions with other columns or
label types share one schema; ``modelyard.serving.prediction_history`` decodes them into one
row per record.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PREDICTIONS_DIR = "predictions"
FEEDBACK_DIR = "feedback"
_TIME = pa.timestamp("us", tz="UTC")
PREDICTION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("timestamp", _TIME),
        ("model", pa.string()),
        ("version", pa.int64()),
        ("records", pa.int32()),
        ("request", pa.string()),  # {"records": [...]}, as received
        ("response", pa.string()),  # {"request_id", "model", "predictions": [...]}, as sent
    ]
)
FEEDBACK_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("row", pa.int32()),
        ("timestamp", _TIME),
        ("model", pa.string()),
        ("version", pa.int64()),
        ("label", pa.string()),
        ("matched", pa.bool_()),
    ]
)
log = logging.getLogger("modelyard.serving")
POLL_S = 0.25
CHUNK = 256
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
Row = dict[str, Any]


class ParquetLog:
    """A bounded queue of entries drained into Parquet files by one background thread.

    Args:
        folder: The log's folder (``<store>/predictions`` or ``<store>/feedback``).
        model: The model name, the first partition level.
        schema: The Parquet schema of the rows.
        to_rows: Turns one queued entry into rows; runs on the writer thread.
        flush_rows: Rows that trigger a write.
        flush_s: Seconds after which buffered rows are written anyway.
        queue_size: Entries the queue holds; ``put`` drops beyond it.
        queue_bytes: Body bytes the queue holds; ``put`` drops beyond it.
        on_drop: Called with 1 for each dropped entry.
        on_error: Called when a batch fails to write (the batch is lost, the log goes on).
    """

    def __init__(
        self,
        folder: Path,
        model: str,
        schema: pa.Schema,
        to_rows: Callable[[Any], list[Row]],
        *,
        flush_rows: int,
        flush_s: float,
        queue_size: int,
        queue_bytes: int = 64 * 1024 * 1024,
        on_drop: Callable[[], None] = lambda: None,
        on_error: Callable[[], None] = lambda: None,
    ) -> None:
        self.folder = Path(folder) / f"model={model}"
        self.schema, self._to_rows = schema, to_rows
        self.flush_rows, self.flush_s, self.queue_size = flush_rows, flush_s, queue_size
        self.queue_bytes, self.queued_bytes = queue_bytes, 0
        # a deque polled by the writer, not a queue.Queue: no thread wake-up per request
        self._entries: collections.deque[Any] = collections.deque()
        self._on_drop, self._on_error = on_drop, on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, entry: Any, size: int = 0) -> bool:
        """Queue ``entry`` (``size`` bytes) for writing; False (and counted) when full."""
        if len(self._entries) >= self.queue_size or self.queued_bytes + size > self.queue_bytes:
            self._on_drop()
            return False
        self.queued_bytes += size  # a race with the writer only misjudges the bound a little
        self._entries.append((entry, size))
        return True

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="modelyard-log", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer, waiting up to ``timeout`` seconds."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("log writer for %s did not finish in %.0f s", self.folder, timeout)
        self._thread = None

    def _run(self) -> None:
        pending: list[Row] = []
        pending_bytes = 0
        deadline = time.monotonic() + self.flush_s
        while True:
            stopping = self._stop.wait(min(POLL_S, self.flush_s))
            converted = 0
            while self._entries:
                entry, size = self._entries.popleft()
                try:
                    pending.extend(self._to_rows(entry))
                except Exception:  # one bad entry must not stop the log
                    log.exception("cannot log an entry to %s", self.folder)
                pending_bytes += size
                self.queued_bytes -= size
                converted += 1
                if converted % CHUNK == 0:
                    # hand the GIL back to the event loop between small chunks: otherwise it
                    # waits a whole switch interval (5 ms) for this thread, at every poll
                    time.sleep(0)
                if len(pending) >= self.flush_rows or pending_bytes >= self.queue_bytes // 4:
                    self._write(pending)
                    pending, pending_bytes = [], 0
            if pending and (stopping or time.monotonic() >= deadline):
                self._write(pending)
                pending, pending_bytes = [], 0
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self.flush_s
            if stopping:
                return

    def _write(self, rows: list[Row]) -> None:
        by_date: dict[str, list[Row]] = {}
        for row in rows:
            day = _EPOCH_DAY + int(row["timestamp"] // 86_400)
            by_date.setdefault(dt.date.fromordinal(day).isoformat(), []).append(row)
        for date, dated in by_date.items():
            folder = self.folder / f"date={date}"
            name = f"part-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"
            temporary = folder / f".{name}.parquet.tmp"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                pq.write_table(self._table(dated), temporary)
                os.replace(temporary, folder / f"{name}.parquet")
            except Exception:  # disk full, permissions: count it and keep serving
                log.exception("cannot write %d log rows to %s", len(dated), folder)
                temporary.unlink(missing_ok=True)
                self._on_error()

    def _table(self, rows: list[Row]) -> pa.Table:
        columns = {}
        for spec in self.schema:
            values = [row[spec.name] for row in rows]
            if spec.name == "timestamp":  # seconds since the epoch, converted as one column
                micros = [round(seconds * 1_000_000) for seconds in values]
                columns[spec.name] = pa.array(micros, pa.int64()).cast(spec.type)
            else:
                columns[spec.name] = pa.array(values, spec.type)
        return pa.table(columns, schema=self.schema)


def prediction_rows(entry: tuple[str, float, str, int, int, bytes, bytes]) -> list[Row]:
    """The row of one prediction request: ``(request_id, time, model, version, records,
    request body, response body)``; ``timestamp`` stays seconds since the epoch here."""
    request_id, when, model, version, records, request, response = entry
    return [
        {
            "request_id": request_id,
            "timestamp": when,
            "model": model,
            "version": version,
            "records": records,
            "request": request,
            "response": response,
        }
    ]


def feedback_rows(entry: tuple[str, int, float, str, int, Any, bool]) -> list[Row]:
    """The row of one label: ``(request_id, row, time, model, version, label, matched)``."""
    request_id, row, when, model, version, label, matched = entry
    return [
        {
            "request_id": request_id,
            "row": row,
            "timestamp": when,
            "model": model,
            "version": version,
            "label": json.dumps(label),
            "matched": matched,
        }
    ]
