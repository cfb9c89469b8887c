"""Which process owns a run, and whether it is still alive (for the stale-run reaper)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

PID_TAG = "modelyard.pid"
HOST_TAG = "modelyard.host"
STARTED_TAG = "modelyard.pid_started"


def owner_tags() -> dict[str, str]:
    """Return the tags that name this process as a run's owner."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = _started(os.getpid())
    if started is not None:
        tags[STARTED_TAG] = started
    return tags


def me() -> str:
    """Return ``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(tags: Mapping[str, str]) -> bool:
    """Tell whether the process named by a run's owner tags may still be running.

    Only a process on this host can be judged; anything unclear counts as alive. A recorded
    start time (Linux) tells a live owner from a new process that reused its pid.
    """
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return True
    if pid <= 0 or tags.get(HOST_TAG) != socket.gethostname():
        return True
    recorded = tags.get(STARTED_TAG)
    if pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # alive, owned by another user
        if _state(pid) in ("Z", "X"):
            return False
    started = _started(pid)
    return recorded is None or started is None or recorded == started


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields after it do not.
    return text.rpartition(")")[2].split()


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _started(pid: int) -> str | None:
    fields = _stat_fields(pid)
    if not fields or len(fields) < 20:
        return None
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{boot}/{fields[19]}"
