"""Connections pinned to checked addresses, and the watchdog that enforces a deadline.

``http.client`` would resolve the host name again when it connects, which is how DNS rebinding
swaps a checked address for an internal one; these connections take the addresses already
checked instead, and keep the original name for the ``Host`` header, SNI and the certificate.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["Deadline", "PinnedHTTPConnection", "PinnedHTTPSConnection", "connect_first"]


class Deadline:
    """Shuts a connection's socket at the deadline, so a trickling server cannot hold us."""

    def __init__(self, conn: http.client.HTTPConnection, deadline: float) -> None:
        self.conn, self.fired = conn, False
        self.timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # the plain socket's shutdown, also under TLS
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def connect_first(addresses: Sequence[tuple[Any, ...]], deadline: float) -> socket.socket:
    error: OSError = OSError("no address to connect to")
    for family, kind, proto, _, sockaddr in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed while connecting")
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error


class PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, host: str, port: int, addresses: Sequence[tuple[Any, ...]], deadline: float
    ) -> None:
        super().__init__(host, port, timeout=deadline - time.monotonic())
        self.addresses, self.deadline = addresses, deadline

    def connect(self) -> None:
        self.sock = connect_first(self.addresses, self.deadline)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self,
        host: str,
        port: int,
        addresses: Sequence[tuple[Any, ...]],
        deadline: float,
        context: ssl.SSLContext,
    ) -> None:
        timeout = deadline - time.monotonic()
        super().__init__(host, port, timeout=timeout, context=context)
        self.addresses, self.deadline, self.tls = addresses, deadline, context

    def connect(self) -> None:
        sock = connect_first(self.addresses, self.deadline)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
