"""Alerts by webhook: a Slack-compatible summary of a monitor report, sent without SSRF.

``alert_payload(report)`` turns a monitor report into ``{"text": ..., "blocks": [...]}``.
``send_webhook(url, payload)`` POSTs it as JSON. The URL comes from configuration and the
server it names may redirect anywhere, so every hop is checked before anything connects:

1. the scheme is ``http`` or ``https`` and the URL carries no credentials;
2. the host is resolved once, with ``socket.getaddrinfo``;
3. if any address is loopback, private, link-local (cloud metadata), multicast, reserved,
   unspecified, not globally routable, or an IPv6 form (IPv4-mapped, 6to4, Teredo, NAT64)
   of one of those, the hop is refused, unless the host name or that address is listed in
   ``allow_hosts`` (``monitoring.alerts.allow_hosts``);
4. the connection goes to the checked address itself (no second lookup, so DNS rebinding
   cannot swap it), with the original ``Host`` header and, on https, SNI and certificate
   checks for the original name.

Refusals raise ``WebhookRefusedError``: the fix is a change of configuration. Network failures
(no DNS answer, refused connection, TLS failure, timeout, a non-2xx answer, too many
redirects) return ``WebhookResult(ok=False, ...)`` instead, so monitoring goes on when the
receiver is down. Webhook URLs hold secrets (Slack's path is the key): messages, logs and
results name only ``scheme://host[:port]``.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from modelyard import __version__
from modelyard.errors import WebhookRefusedError

__all__ = ["WebhookResult", "alert_payload", "check_address", "send_webhook"]

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
"""How much of a webhook's answer is read; the rest is left unread."""

MAX_ADDRESSES = 16
"""How many resolved addresses a hop checks and tries, at most."""

MAX_TEXT = 2900
"""Characters of the fallback ``text`` and of each block (Slack's limit is 3000)."""

MAX_LINES = 8
"""Reasons, drifted features and quality comparisons listed, each; the rest are counted."""

REDIRECTS = frozenset({301, 302, 303, 307, 308})
SETTING = "monitoring.alerts.allow_hosts"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what may stay as it is; anything else is percent-encoded
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CATEGORIES = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address (where cloud metadata services answer)"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
    ("is_private", "a private address"),
)


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What happened to one webhook delivery.

    Attributes:
        ok: True when the receiver answered 2xx.
        status: The last HTTP status received, or ``None`` when none came.
        url_host: ``scheme://host[:port]`` of the configured URL (never its path or query).
        detail: What happened, for people: the answer, the failure, the redirects followed.
    """

    ok: bool
    status: int | None
    url_host: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """Return the delivery as an ``actions`` entry of the monitor report."""
        return {
            "kind": "alert",
            "target": self.url_host,
            "ok": self.ok,
            "status": self.status,
            "detail": self.detail,
        }


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


def alert_payload(report: Mapping[str, Any]) -> dict[str, Any]:
    """Summarise a monitor report as a Slack-compatible message.

    Args:
        report: The monitor report (``modelyard monitor --json``); missing parts are skipped.

    Returns:
        ``{"text": ..., "blocks": [...]}``: a header, the verdict's reasons, the most drifted
        features with their statistic, the quality comparisons, and the windows compared.
        ``text`` is the plain fallback; every text stays under Slack's 3000 characters.
    """
    model = report.get("model") or {}
    verdict = report.get("verdict") or {}
    title = f"modelyard monitor: {model.get('name', '?')} v{model.get('version', '?')}"
    if model.get("alias"):
        title += f" ({model['alias']})"
    title += f": {verdict.get('status', 'unknown')}"
    sections = [
        _listing("*Verdict*", [_escape(str(r)) for r in verdict.get("reasons") or []]),
        _drift_section(report.get("drift") or {}),
        _quality_section(report.get("quality") or {}),
    ]
    sections = [s for s in sections if s]
    context = _context_line(report)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150)}}
    ]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    text = "\n".join([_escape(title), *sections, *([context] if context else [])])
    return {"text": _clip(text, MAX_TEXT), "blocks": blocks}


def _listing(heading: str, lines: Sequence[str]) -> str:
    if not lines:
        return ""
    shown = [f"• {line}" for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        shown.append(f"• … and {len(lines) - MAX_LINES} more")
    return _clip("\n".join([heading, *shown]), MAX_TEXT)


def _drift_section(drift: Mapping[str, Any]) -> str:
    columns = [c for c in drift.get("columns") or [] if c.get("drifted")]
    columns.sort(key=_severity, reverse=True)
    lines = [f"`{_code(c.get('column'))}` {_statistic(c)}" for c in columns]
    prediction = drift.get("prediction")
    if prediction and prediction.get("drifted"):
        lines.insert(0, f"predictions {_statistic(prediction)}")
    if not lines:
        return ""
    share = drift.get("share_drifted")
    counted = f" ({drift.get('n_drifted')} of {drift.get('n_columns')} columns"
    counted += f", {share:.0%})" if isinstance(share, int | float) else ")"
    return _listing("*Drifted features*" + counted, lines)


def _severity(column: Mapping[str, Any]) -> float:
    """How far past its threshold a column is: 1 at the threshold, larger when further."""
    statistic, p_value, threshold = (column.get(k) for k in ("statistic", "p_value", "threshold"))
    if p_value is not None and threshold:
        return float(math.log(max(p_value, 1e-300)) / math.log(threshold))
    if statistic is not None and threshold:
        return float(statistic / threshold)
    return math.inf  # no values left in the current window: the worst case


def _statistic(column: Mapping[str, Any]) -> str:
    text = f"{column.get('method', '?')} {_number(column.get('statistic'))}"
    if column.get("p_value") is not None:
        text += f", p={_number(column['p_value'])}"
    else:
        text += f" (threshold {_number(column.get('threshold'))})"
    unseen = column.get("unseen_categories") or []
    if unseen:
        text += f", {len(unseen)} unseen categor{'y' if len(unseen) == 1 else 'ies'}"
    return text


def _quality_section(quality: Mapping[str, Any]) -> str:
    lines = []
    for c in quality.get("comparisons") or []:
        line = (
            f"{_escape(str(c.get('metric')))} {_number(c.get('observed'), 3)} vs "
            f"{_number(c.get('promised'), 3)} promised"
        )
        if isinstance(c.get("change"), int | float):
            line += f" ({c['change']:+.3f})"
        lines.append(line + (" *degraded*" if c.get("degraded") else ""))
    rows = quality.get("labelled_rows")
    return _listing("*Quality*" + (f" ({rows} labelled rows)" if rows is not None else ""), lines)


def _context_line(report: Mapping[str, Any]) -> str:
    parts = []
    for key in ("current", "reference"):
        window = report.get(key) or {}
        if window:
            parts.append(
                f"{key}: {window.get('description', '?')} ({window.get('rows', '?')} rows)"
            )
    if report.get("generated_at"):
        parts.append(f"at {report['generated_at']}")
    return _clip(_escape(" | ".join(parts)), MAX_TEXT)


def _number(value: Any, decimals: int | None = None) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "n/a"
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.2e}" if value != 0 and abs(value) < 1e-3 else f"{value:.3g}"


def _escape(text: str) -> str:
    """Escape Slack's control characters, so a column name cannot ping @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(value: Any) -> str:
    return _escape(str(value)).replace("`", "'")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_address(address: str | IPAddress) -> str | None:
    """Return why webhooks may not reach ``address``, or ``None`` for a public address.

    Args:
        address: An IP address, IPv4 or IPv6 (a ``%scope`` suffix is ignored).

    Returns:
        A phrase such as ``"a loopback address"``, or ``None``.

    Raises:
        ValueError: ``address`` is not an IP address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            inner = check_address(ip.ipv4_mapped)
            return None if inner is None else f"the IPv4-mapped form of {ip.ipv4_mapped}, {inner}"
        for form, embedded in _embedded_ipv4(ip):
            inner = check_address(embedded)
            if inner is not None:
                return f"the {form} form of {embedded}, {inner}"
    for flag, phrase in _CATEGORIES:
        if getattr(ip, flag):
            return phrase
    if not ip.is_global:
        return "not a globally routable address (shared, documentation or benchmark range)"
    return None


def send_webhook(
    url: str,
    payload: Mapping[str, Any],
    *,
    allow_hosts: Sequence[str] = (),
    timeout_s: float = 5.0,
    max_redirects: int = 3,
    ssl_context: ssl.SSLContext | None = None,
) -> WebhookResult:
    """POST ``payload`` as JSON to ``url``, following redirects, refusing internal targets.

    Args:
        url: The webhook URL (``http`` or ``https``).
        payload: A JSON-serialisable mapping, e.g. from ``alert_payload``.
        allow_hosts: Host names or IP addresses that may be internal (exact match, case and a
            trailing dot ignored), e.g. a relay inside the cluster.
        timeout_s: The bound on the whole delivery, redirects included.
        max_redirects: How many redirects to follow before giving up.
        ssl_context: Certificates to trust for https; the system's by default. Host names are
            always checked.

    Returns:
        ``ok=True`` on a 2xx answer; ``ok=False`` with ``detail`` on any network failure,
        non-2xx answer or too many redirects.

    Raises:
        WebhookRefusedError: The URL, or a redirect, names a scheme other than http(s), carries
            credentials, or resolves to an address webhooks may not reach (see the module
            docstring); or ``timeout_s``/``max_redirects`` is out of range.
        ValueError: ``payload`` is not JSON (NaN, infinities, or objects ``json`` refuses).
    """
    if not timeout_s > 0 or max_redirects < 0:
        raise _refused(
            f"webhook timeout_s must be > 0 and max_redirects >= 0, not {timeout_s!r} and "
            f"{max_redirects!r}."
        )
    target = _parse(url, via=None)
    origin = target.origin
    allowed = _Allowlist(allow_hosts)
    deadline = time.monotonic() + timeout_s
    method, body = "POST", json.dumps(payload, allow_nan=False).encode()
    followed: list[str] = []
    for hop in range(max_redirects + 1):
        try:
            addresses = _resolve(target)
        except OSError as exc:
            return _failure(origin, None, f"cannot resolve {target.host!r}: {exc}", followed)
        _vet(target, addresses, allowed, via=followed[-1] if followed else None, first=origin)
        try:
            status, reason, location, answer = _exchange(
                target, addresses, method, body, deadline=deadline, context=ssl_context
            )
        except TimeoutError:
            return _failure(origin, None, f"no answer within {timeout_s:g} s", followed)
        except (OSError, http.client.HTTPException) as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return _failure(origin, None, f"{target.origin}: {why}", followed)
        if status in REDIRECTS and location:
            if hop == max_redirects:
                return _failure(
                    origin, status, f"gave up after {max_redirects} redirects", followed
                )
            if status in (301, 302, 303) and method == "POST":
                method, body = "GET", b""
            previous = target.origin
            target = _parse(urljoin(_url(target), location), via=previous)
            followed.append(target.origin)
            continue
        detail = f"HTTP {status} {reason}".rstrip() + (f": {answer}" if answer else "")
        if 200 <= status < 300:
            result = WebhookResult(True, status, origin, _with_route(detail, followed))
            logger.info("Alert delivered to %s (HTTP %s).", origin, status)
            return result
        return _failure(origin, status, detail, followed)
    raise AssertionError("unreachable: the loop returns on its last hop")  # pragma: no cover


def _refused(problem: str) -> WebhookRefusedError:
    """Return the error for a target this client will not call (the one place to change it)."""
    return WebhookRefusedError(problem)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", server), ("Teredo", client)]
    if ip in _NAT64:
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


class _Allowlist:
    def __init__(self, entries: Sequence[str]) -> None:
        self.names: set[str] = set()
        self.addresses: set[IPAddress] = set()
        for entry in entries:
            name = _normalise(entry.strip().strip("[]"))
            try:
                self.addresses.add(ipaddress.ip_address(name))
            except ValueError:
                self.names.add(name)

    def allows(self, host: str, address: str) -> bool:
        if _normalise(host) in self.names:
            return True
        return ipaddress.ip_address(address.split("%", 1)[0]) in self.addresses


def _normalise(host: str) -> str:
    host = host.lower()
    return host[:-1] if host.endswith(".") else host


def _parse(url: str, *, via: str | None) -> _Target:
    what = "monitoring.alerts.webhook" + (f" (redirected from {via})" if via else "")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise _refused(f"{what}: the URL holds spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refused(f"{what}: not a valid URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refused(
            f"{what}: only http:// and https:// URLs are allowed, not {scheme or 'none'!r}."
        )
    if "@" in parts.netloc:
        raise _refused(
            f"{what}: the URL carries credentials (user:password@host); remove them. "
            "Webhooks take their secret in the path or query, as Slack's do."
        )
    if not parts.hostname:
        raise _refused(f"{what}: the URL names no host.")
    path = parts.path or "/"
    return _Target(
        scheme=scheme,
        host=parts.hostname,
        port=port or (443 if scheme == "https" else 80),
        path=quote(path + (f"?{parts.query}" if parts.query else ""), safe=_URL_SAFE),
    )


def _url(target: _Target) -> str:
    return target.origin + target.path


def _resolve(target: _Target) -> list[tuple[Any, ...]]:
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    streams = [info for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not streams:
        raise OSError(f"no IPv4 or IPv6 address for {target.host!r}")
    return streams[:MAX_ADDRESSES]


def _vet(
    target: _Target,
    addresses: Sequence[tuple[Any, ...]],
    allowed: _Allowlist,
    *,
    via: str | None,
    first: str,
) -> None:
    for *_, sockaddr in addresses:
        address = str(sockaddr[0])
        reason = check_address(address)
        if reason is None or allowed.allows(target.host, address):
            continue
        route = f" (reached by a redirect from {first})" if via else ""
        listed = address.split("%", 1)[0]
        raise _refused(
            f"monitoring.alerts.webhook: refusing to send to {target.origin}{route}: "
            f"{target.host!r} resolves to {listed}, {reason}. Webhooks may only reach public "
            "addresses, so that a URL cannot be used to probe the network modelyard runs "
            f"in. If this host is meant to receive alerts, add {target.host!r} (or "
            f"{listed!r}) to {SETTING}."
        )


class _Deadline:
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


def _connect(addresses: Sequence[tuple[Any, ...]], deadline: float) -> socket.socket:
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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, target: _Target, addresses: Sequence[tuple[Any, ...]], deadline: float
    ) -> None:
        super().__init__(target.host, target.port, timeout=deadline - time.monotonic())
        self.addresses, self.deadline = addresses, deadline

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self,
        target: _Target,
        addresses: Sequence[tuple[Any, ...]],
        deadline: float,
        context: ssl.SSLContext,
    ) -> None:
        timeout = deadline - time.monotonic()
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self.addresses, self.deadline, self.tls = addresses, deadline, context

    def connect(self) -> None:
        sock = _connect(self.addresses, self.deadline)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _exchange(
    target: _Target,
    addresses: Sequence[tuple[Any, ...]],
    method: str,
    body: bytes,
    *,
    deadline: float,
    context: ssl.SSLContext | None,
) -> tuple[int, str, str | None, str]:
    if deadline - time.monotonic() <= 0:
        raise TimeoutError("deadline passed before the request")
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        tls = context or ssl.create_default_context()
        conn = _PinnedHTTPSConnection(target, addresses, deadline, tls)
    else:
        conn = _PinnedHTTPConnection(target, addresses, deadline)
    headers = {"User-Agent": f"modelyard/{__version__}", "Connection": "close"}
    if body:
        headers["Content-Type"] = "application/json"
    watchdog = _Deadline(conn, deadline)
    watchdog.timer.start()
    try:
        conn.request(method, target.path, body=body or None, headers=headers)
        response = conn.getresponse()
        content = response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        if watchdog.fired:
            raise TimeoutError("deadline passed") from exc
        raise
    finally:
        watchdog.timer.cancel()
        conn.close()
    if watchdog.fired:  # a cut-off answer can still parse: never trust it
        raise TimeoutError("deadline passed")
    answer = content[:200].decode("utf-8", "replace").strip()
    answer = "".join(ch if ch.isprintable() else " " for ch in answer)
    return response.status, response.reason or "", response.getheader("Location"), answer


def _with_route(detail: str, followed: Sequence[str]) -> str:
    if not followed:
        return detail
    return f"{detail} (after {len(followed)} redirect(s), last to {followed[-1]})"


def _failure(
    origin: str, status: int | None, detail: str, followed: Sequence[str]
) -> WebhookResult:
    detail = _with_route(detail, followed)
    logger.warning("Alert to %s not delivered: %s", origin, detail)
    return WebhookResult(False, status, origin, detail)
