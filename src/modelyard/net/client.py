"""One HTTP(S) request, checked before anything connects: the egress client (RELIABILITY SR-5).

Every hop, the first and each redirect, goes through the same steps:

1. the scheme is ``http`` or ``https`` and the URL carries no credentials;
2. a name that is loopback by definition (``localhost``, ``*.localhost``) is refused;
3. the host is resolved once, with ``socket.getaddrinfo``;
4. if any address is loopback, private, link-local (cloud metadata), multicast, reserved,
   unspecified, not globally routable, or an IPv6 form (IPv4-mapped, 6to4, Teredo, NAT64) of
   one of those, the hop is refused, unless the host name or that address is allowlisted;
5. the connection goes to the checked address itself (no second lookup, so DNS rebinding cannot
   swap it), with the original ``Host`` header and, on https, SNI and certificate checks for the
   original name.

The whole exchange, redirects included, is bounded by ``timeout_s`` (a watchdog shuts the socket
of a server that trickles), and at most ``max_bytes`` of the answer are read. Refusals raise
``EgressRefusedError`` (the fix is a change of configuration); network failures raise
``EgressFailedError``. Messages name ``scheme://host[:port]`` only, plus the path when the
caller says the path is not a secret (a webhook's path is its key); never the query.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote, urljoin, urlsplit

from modelyard import __version__
from modelyard.errors import EgressFailedError, EgressRefusedError
from modelyard.net._pinned import Deadline, PinnedHTTPConnection, PinnedHTTPSConnection
from modelyard.net.addresses import Allowlist, check_address, check_name

__all__ = ["REDIRECTS", "Answer", "EgressPolicy", "request"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_ADDRESSES = 16
"""How many resolved addresses a hop checks and tries, at most."""

_CHUNK = 1 << 20
_ERROR_BODY = 64 * 1024  # what is kept of a non-2xx answer when the body goes to a sink
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what may stay as it is; anything else is percent-encoded


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Where requests may go and how long and large they may be.

    Attributes:
        allow_hosts: Host names or IP addresses that may be reached although they are not
            public (exact match; case and a trailing dot ignored).
        setting: The configuration key that holds ``allow_hosts``, named in refusals as the fix.
        timeout_s: The bound on the whole exchange, redirects included.
        max_redirects: How many redirects to follow before giving up.
        max_bytes: How much of the final answer is read at most.
    """

    allow_hosts: tuple[str, ...] = ()
    setting: str = "egress.allow_hosts"
    timeout_s: float = 30.0
    max_redirects: int = 3
    max_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer to a request (a redirect is followed, not returned).

    Attributes:
        status: The HTTP status.
        reason: The status line's reason phrase.
        origin: ``scheme://host[:port]`` of the URL asked for.
        redirects: The origins of the redirects followed, in order.
        content_type: The ``Content-Type`` header, if any.
        body: The answer's bytes (at most ``max_bytes``); empty when a 2xx went to the sink.
        size: How many bytes of the answer were read (into ``body`` or the sink).
        truncated: The answer was longer than ``max_bytes``; the rest was not read.
    """

    status: int
    reason: str
    origin: str
    redirects: tuple[str, ...]
    content_type: str | None
    body: bytes
    size: int
    truncated: bool

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    def shown(self, with_path: bool) -> str:
        return self.origin + (self.path.split("?", 1)[0] if with_path else "")


@dataclass(frozen=True, slots=True)
class _Call:
    """One request's fixed parts, as every hop needs them."""

    what: str
    verb: str
    origin: str
    show_path: bool
    allowed: Allowlist
    policy: EgressPolicy
    deadline: float
    ssl_context: ssl.SSLContext | None


def request(
    url: str,
    policy: EgressPolicy | None = None,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    sink: BinaryIO | None = None,
    what: str = "URL",
    show_path: bool = False,
    ssl_context: ssl.SSLContext | None = None,
) -> Answer:
    """Send one request to ``url`` and read its answer, refusing internal targets.

    Args:
        url: An ``http`` or ``https`` URL.
        policy: The allowlist and bounds; by default public addresses only, 30 s, 64 MiB.
        method: The HTTP method; a 301, 302 or 303 turns a POST into a GET without body.
        body: The request body.
        headers: Extra request headers. ``Authorization`` and cookies are dropped when a
            redirect leaves the original origin.
        sink: Where a 2xx answer's bytes go (a file), instead of ``Answer.body``.
        what: What the URL is, for messages: the configuration key, e.g. ``data.source.uri``.
        show_path: Whether messages may show the URL's path (never its query).
        ssl_context: Certificates to trust for https; the system's by default. Host names are
            always checked.

    Returns:
        The final answer, whatever its status.

    Raises:
        EgressRefusedError: The URL, or a redirect, is not http(s), carries credentials, or
            reaches an address that is not allowed; or the policy's bounds are out of range.
        EgressFailedError: No answer: DNS, connection or TLS failure, the time bound, or more
            than ``max_redirects`` redirects.
    """
    policy = policy or EgressPolicy()
    if not policy.timeout_s > 0 or policy.max_redirects < 0 or policy.max_bytes <= 0:
        raise EgressRefusedError(
            f"{what}: timeout_s must be > 0, max_redirects >= 0 and max_bytes > 0, not "
            f"{policy.timeout_s!r}, {policy.max_redirects!r} and {policy.max_bytes!r}."
        )
    call = _Call(
        what=what,
        verb="fetch" if method in ("GET", "HEAD") else "send to",
        origin=_origin(url),
        show_path=show_path,
        allowed=Allowlist(policy.allow_hosts),
        policy=policy,
        deadline=time.monotonic() + policy.timeout_s,
        ssl_context=ssl_context,
    )
    target = _parse(url, call, via=None)
    first = target.shown(show_path)
    sent = {"User-Agent": f"modelyard/{__version__}", **(headers or {})}
    followed: list[str] = []
    for hop in range(policy.max_redirects + 1):
        via = first if followed else None
        addresses = _checked_addresses(target, call, first=via, followed=followed)
        status, reason, location, answer = _exchange(
            target, addresses, method, body, sent, sink=sink, call=call, followed=followed
        )
        if status in REDIRECTS and location:
            if hop == policy.max_redirects:
                raise EgressFailedError(
                    call.origin,
                    f"gave up after {policy.max_redirects} redirects",
                    status=status,
                    redirects=followed,
                )
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", b""
            previous = target.origin
            target = _parse(urljoin(_url(target), location), call, via=previous)
            if target.origin != previous:
                sent = {k: v for k, v in sent.items() if k.lower() not in _PRIVATE_HEADERS}
            followed.append(target.origin)
            continue
        return Answer(
            status=status,
            reason=reason,
            origin=call.origin,
            redirects=tuple(followed),
            content_type=answer.content_type,
            body=answer.body,
            size=answer.size,
            truncated=answer.truncated,
        )
    raise AssertionError("unreachable: the last hop returns or raises")  # pragma: no cover


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, or ``"URL"`` when it does not parse (refused later)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "URL"
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def _parse(url: str, call: _Call, *, via: str | None) -> _Target:
    what = call.what + (f" (redirected from {via})" if via else "")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise EgressRefusedError(f"{what}: the URL holds spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EgressRefusedError(f"{what}: not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise EgressRefusedError(
            f"{what}: only http:// and https:// URLs are allowed, not {scheme or 'none'!r}."
        )
    if "@" in parts.netloc:
        raise EgressRefusedError(
            f"{what}: the URL carries credentials (user:password@host); remove them. Pass a "
            "secret in a header, or in the path or query as Slack's webhooks do."
        )
    if not parts.hostname:
        raise EgressRefusedError(f"{what}: the URL names no host.")
    path = parts.path or "/"
    return _Target(
        scheme=scheme,
        host=parts.hostname,
        port=port or (443 if scheme == "https" else 80),
        path=quote(path + (f"?{parts.query}" if parts.query else ""), safe=_URL_SAFE),
    )


def _url(target: _Target) -> str:
    return target.origin + target.path


def _checked_addresses(
    target: _Target, call: _Call, *, first: str | None, followed: Sequence[str]
) -> list[tuple[Any, ...]]:
    named = check_name(target.host)  # localhost names are loopback even where DNS disagrees
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        if named is not None and not call.allowed.allows(target.host):
            _refuse(target, call, first, f"{target.host!r} is {named}", listed=None)
        raise EgressFailedError(
            call.origin, f"cannot resolve {target.host!r}: {exc}", redirects=followed
        ) from exc
    streams = [info for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not streams:
        raise EgressFailedError(
            call.origin, f"no IPv4 or IPv6 address for {target.host!r}", redirects=followed
        )
    streams = streams[:MAX_ADDRESSES]
    for *_, sockaddr in streams:
        address = str(sockaddr[0])
        reason = check_address(address) or named
        if reason is None or call.allowed.allows(target.host, address):
            continue
        listed = address.split("%", 1)[0]
        _refuse(target, call, first, f"{target.host!r} resolves to {listed}, {reason}", listed)
    return streams


def _refuse(target: _Target, call: _Call, first: str | None, why: str, listed: str | None) -> None:
    route = f" (reached by a redirect from {first})" if first else ""
    entry = f"{target.host!r}" + (f" (or {listed!r})" if listed and listed != target.host else "")
    raise EgressRefusedError(
        f"{call.what}: refusing to {call.verb} {target.shown(call.show_path)}{route}: {why}. "
        "modelyard calls only public addresses, so that a configured URL cannot be used to "
        f"probe the network it runs in. If this host is meant to be reached, add {entry} to "
        f"{call.policy.setting}."
    )


@dataclass(frozen=True, slots=True)
class _Read:
    content_type: str | None
    body: bytes
    size: int
    truncated: bool


def _exchange(
    target: _Target,
    addresses: Sequence[tuple[Any, ...]],
    method: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    sink: BinaryIO | None,
    call: _Call,
    followed: Sequence[str],
) -> tuple[int, str, str | None, _Read]:
    origin, timeout_s = call.origin, call.policy.timeout_s
    if call.deadline - time.monotonic() <= 0:
        raise EgressFailedError(origin, f"no answer within {timeout_s:g} s", redirects=followed)
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        tls = call.ssl_context or ssl.create_default_context()
        conn = PinnedHTTPSConnection(target.host, target.port, addresses, call.deadline, tls)
    else:
        conn = PinnedHTTPConnection(target.host, target.port, addresses, call.deadline)
    sent = {**headers, "Connection": "close"}
    if body and not any(k.lower() == "content-type" for k in sent):
        sent["Content-Type"] = "application/json"
    watchdog = Deadline(conn, call.deadline)
    watchdog.timer.start()
    try:
        conn.request(method, target.path, body=body or None, headers=sent)
        response = conn.getresponse()
        location = response.getheader("Location")
        if response.status in REDIRECTS and location:
            read = _Read(None, b"", 0, False)
        elif sink is not None and 200 <= response.status < 300:
            read = _read(response, sink, call.policy.max_bytes)
        else:  # an error page is kept for the message, not written where the data goes
            limit = call.policy.max_bytes if sink is None else _ERROR_BODY
            read = _read(response, None, min(limit, call.policy.max_bytes))
    except (OSError, http.client.HTTPException) as exc:
        if watchdog.fired or isinstance(exc, TimeoutError):
            detail = f"no answer within {timeout_s:g} s"
            raise EgressFailedError(origin, detail, redirects=followed) from exc
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        where = f"{target.origin}: " if followed else ""
        raise EgressFailedError(origin, where + why, redirects=followed) from exc
    finally:
        watchdog.timer.cancel()
        conn.close()
    if watchdog.fired:  # a cut-off answer can still parse: never trust it
        raise EgressFailedError(origin, f"no answer within {timeout_s:g} s", redirects=followed)
    return response.status, response.reason or "", location, read


def _read(response: http.client.HTTPResponse, sink: BinaryIO | None, limit: int) -> _Read:
    content_type = response.getheader("Content-Type")
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _Read(content_type, b"", 0, True)
    size, kept = 0, bytearray()
    while size <= limit:
        chunk = response.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return _Read(content_type, bytes(kept), size, False)
        size += len(chunk)
        if size > limit:
            break
        if sink is not None:
            sink.write(chunk)
        else:
            kept += chunk
    return _Read(content_type, bytes(kept), min(size, limit), True)
