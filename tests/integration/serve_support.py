"""Helpers for the `modelyard serve` tests: a trained flights project and a real server process.

The project is trained once per test session (two versions, different trees, so a fixed probe
record gets different probabilities) and shared by the serve test modules; each test sets the
aliases it needs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx

PARAMS = {
    1: "params: {n_estimators: 20, num_leaves: 15}",
    2: "params: {n_estimators: 6, num_leaves: 7}",
}
MODEL = "flights-delay"
API_KEY = "serve-test-key-0123456789abcdef"


@dataclass(frozen=True)
class Trained:
    root: Path
    example: dict[str, Any]

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / '.modelyard' / 'mlflow.db'}"

    @property
    def store(self) -> Path:
        return self.root / ".modelyard"


def modelyard_env(**overrides: str) -> dict[str, str]:
    """The environment without the developer's MODELYARD_* variables, plus ``overrides``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    return environ | overrides


def set_params(project: Path, params: str) -> None:
    config = project / "modelyard.yaml"
    text = config.read_text()
    start = text.index("  params:")
    end = text.index("\n", start)
    config.write_text(text[:start] + "  " + params + text[end:])


def trained_flights(tmp_path_factory: Any, template: Path) -> Trained:
    """The flights example trained twice (versions 1 and 2), once per session."""
    root = tmp_path_factory.getbasetemp() / "served-flights"
    done = root / ".trained"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(template, root)
        for version, params in PARAMS.items():
            set_params(root, params)
            result = subprocess.run(
                [sys.executable, "-m", "modelyard", "train", "--json"],
                cwd=root,
                env=modelyard_env(),
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, result.stderr[-3000:]
            assert json.loads(result.stdout)["version"] == version
        done.touch()
    registry_folder = next((root / ".modelyard" / "artifacts").glob("*/*/artifacts/model"))
    example = json.loads((registry_folder / "features.json").read_text())["example"]
    return Trained(root, example)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A `modelyard serve` process on a free 127.0.0.1 port, stopped by its PID."""

    def __init__(
        self,
        project: Path,
        *args: str,
        env: dict[str, str] | None = None,
        admin: bool = False,
        cpus: set[int] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_port = free_port() if admin else None
        self.admin_url = f"http://127.0.0.1:{self.admin_port}" if admin else None
        if self.admin_port is not None:
            args = (*args, "--admin-port", str(self.admin_port))
        self.log = project / f"serve-{self.port}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelyard", "serve", "--port", str(self.port), *args],
            cwd=project,
            env=modelyard_env(**(env or {})),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        if cpus is not None:
            os.sched_setaffinity(self.process.pid, cpus)  # its threads inherit it

    def rss_bytes(self) -> int:
        """The server process's resident memory now."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not ready in {timeout} s:\n{self.output()}")

    def terminate(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log_file.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s; only ever this process."""
        self.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log_file.close()

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")[-5000:]

    def __enter__(self) -> Server:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Outcome:
    """One client request: when it started and ended, and what came back (or the error)."""

    start: float
    end: float
    status: int | None = None
    header_version: int | None = None
    body: dict[str, Any] | None = None
    error: str | None = None


def hammer(
    url: str,
    bodies: list[dict[str, Any]],
    *,
    seconds: float,
    max_requests: int,
    stop: threading.Event | None = None,
    headers: dict[str, str] | None = None,
) -> list[Outcome]:
    """POST to ``url`` from one thread per body, each with a keep-alive client, until
    ``seconds`` pass, ``max_requests`` were sent in all, or ``stop`` is set. Bounded both ways.

    A thread that sees a connection error stops (the server is going away).
    """
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + seconds
    budget = iter(range(max_requests))
    lock = threading.Lock()

    def client(body: dict[str, Any]) -> None:
        with httpx.Client(timeout=10, headers=headers) as session:
            while time.monotonic() < deadline and not (stop and stop.is_set()):
                with lock:
                    if next(budget, None) is None:
                        return
                start = time.monotonic()
                try:
                    response = session.post(url, json=body)
                except httpx.TransportError as error:
                    outcomes.append(Outcome(start, time.monotonic(), error=repr(error)))
                    return
                version = response.headers.get("x-model-version")
                payload = (
                    response.json()
                    if response.headers.get("content-type") == "application/json"
                    else None
                )
                outcomes.append(
                    Outcome(
                        start,
                        time.monotonic(),
                        response.status_code,
                        int(version) if version else None,
                        payload,
                    )
                )

    threads = [threading.Thread(target=client, args=(body,), daemon=True) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    return outcomes


@dataclass(frozen=True)
class Reply:
    """One raw HTTP exchange of the load generator (headers parsed when asked for)."""

    start: float
    end: float
    status: int
    head: bytes
    body: bytes

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def headers(self) -> dict[str, str]:
        lines = self.head.decode("latin-1").split("\r\n")[1:]
        return {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines)
        }

    @property
    def is_json_error_or_ok(self) -> bool:
        """Whether the body is modelyard's JSON: a prediction, or the error schema."""
        if self.headers.get("content-type") != "application/json":
            return False
        try:
            body = json.loads(self.body)
        except ValueError:
            return False
        return "predictions" in body if self.status == 200 else set(body) == {"error"}


def request_bytes(path: str, body: bytes, port: int, headers: dict[str, str]) -> bytes:
    """A keep-alive HTTP/1.1 POST, ready to send."""
    head = f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head += f"content-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def closed_loop(
    port: int, request: bytes, *, connections: int, seconds: float, max_requests: int
) -> tuple[list[Reply], list[str]]:
    """Send ``request`` over ``connections`` keep-alive connections, each sending the next
    as soon as its answer is in, for ``seconds`` or ``max_requests`` in all (both bounds).

    One thread and ``selectors`` (epoll), with as little Python per answer as can be, so the
    generator measures the server rather than its own event loop. Returns the replies and the
    transport errors.
    """
    import selectors

    replies: list[Reply] = []
    errors: list[str] = []
    selector = selectors.DefaultSelector()
    budget = max_requests
    deadline = time.monotonic() + seconds
    state: dict[socket.socket, list[Any]] = {}  # socket -> [start, buffer]
    for _ in range(connections):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError as error:
            errors.append(repr(error))
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        state[sock] = [0.0, b""]
        selector.register(sock, selectors.EVENT_READ)

    def send(sock: socket.socket) -> bool:
        nonlocal budget
        if budget <= 0 or time.monotonic() >= deadline:
            return False
        budget -= 1
        state[sock][0] = time.monotonic()
        sock.setblocking(True)  # requests are small or must go out whole
        sock.sendall(request)
        sock.setblocking(False)
        return True

    live = {sock for sock in state if send(sock)}
    while live:
        events = selector.select(timeout=max(0.0, min(30.0, deadline + 30 - time.monotonic())))
        if not events:
            errors.append(f"{len(live)} connections got no answer")
            break
        for key, _ in events:
            sock = key.fileobj  # type: ignore[assignment]
            assert isinstance(sock, socket.socket)
            entry = state[sock]
            try:
                chunk = sock.recv(1 << 20)
            except OSError as error:
                chunk, message = b"", repr(error)
            else:
                message = "closed by the server"
            if not chunk:
                if sock in live:
                    errors.append(message)
                live.discard(sock)
                selector.unregister(sock)
                continue
            buffer = entry[1] = entry[1] + chunk
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                continue
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            stop = head.find(b"\r\n", at)  # -1 when it is the last header
            length = int(head[at + 15 : stop if stop >= 0 else None]) if at >= 0 else 0
            total = end + 4 + length
            if len(buffer) < total:
                continue
            entry[1] = buffer[total:]
            reply = Reply(
                entry[0], time.monotonic(), int(head[9:12]), head, buffer[end + 4 : total]
            )
            replies.append(reply)
            if b"connection: close" in head or not send(sock):
                live.discard(sock)
    for sock in state:
        sock.close()
    selector.close()
    return replies, errors


def closed_loop_streams(
    port: int, request: bytes, *, connections: int, seconds: float, max_requests: int
) -> tuple[list[Reply], list[str]]:
    """As ``closed_loop``, on asyncio streams: a request that cannot be sent whole at once
    (a big body the server is not reading yet) holds up only its own connection.

    Returns the replies and the transport errors.
    """
    import asyncio

    replies: list[Reply] = []
    errors: list[str] = []

    async def client(deadline: float, budget: list[int]) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as error:
            errors.append(repr(error))
            return
        try:
            while time.monotonic() < deadline and budget[0] > 0:
                budget[0] -= 1
                start = time.monotonic()
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await asyncio.wait_for(reader.readexactly(length), 30)
                replies.append(Reply(start, time.monotonic(), status, head.lower(), body))
                if headers.get("connection") == "close":
                    return
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as error:
            errors.append(repr(error))
        finally:
            writer.close()

    async def run() -> None:
        deadline = time.monotonic() + seconds
        budget = [max_requests]
        await asyncio.gather(*(client(deadline, budget) for _ in range(connections)))

    asyncio.run(run())
    return replies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
