"""Alerts by webhook: a Slack-compatible summary of a monitor report, sent without SSRF.

``alert_payload(result)`` turns a ``MonitorResult`` into ``{"text": ..., "blocks": [...]}``.
``send_webhook(url, payload)`` POSTs it as JSON through the one egress client,
``modelyard.net``: every hop (the URL and each redirect) is resolved once and refused when it
reaches a loopback, private, link-local (cloud metadata) or otherwise non-public address that
``monitoring.alerts.allow_hosts`` (or ``egress.allow_hosts``) does not list, and the connection
goes to the address that was checked.

Refusals raise ``WebhookRefusedError``: the fix is a change of configuration. Network failures
(no DNS answer, refused connection, TLS failure, timeout, a non-2xx answer, too many
redirects) return ``WebhookResult(ok=False, ...)`` instead, so monitoring goes on when the
receiver is down. Webhook URLs hold secrets (Slack's path is the key): messages, logs and
results name only ``scheme://host[:port]``.
"""

from __future__ import annotations

import json
import logging
import math
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.errors import EgressFailedError, EgressRefusedError, WebhookRefusedError
from modelyard.net import EgressPolicy, request

if TYPE_CHECKING:
    from modelyard.monitoring.quality import QualityReport
    from modelyard.monitoring.report import ColumnDrift, DriftReport
    from modelyard.monitoring.result import MonitorResult

__all__ = ["WebhookResult", "alert_payload", "send_webhook"]

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
"""How much of a webhook's answer is read; the rest is left unread."""

MAX_TEXT = 2900
"""Characters of the fallback ``text`` and of each block (Slack's limit is 3000)."""

MAX_LINES = 8
"""Reasons, drifted features and quality comparisons listed, each; the rest are counted."""

SETTING = "monitoring.alerts.allow_hosts"
WHAT = "monitoring.alerts.webhook"


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


def alert_payload(result: MonitorResult) -> dict[str, Any]:
    """Summarise a monitoring result as a Slack-compatible message.

    Args:
        result: What the look found (``modelyard.pipelines.monitor.monitor``).

    Returns:
        ``{"text": ..., "blocks": [...]}``: a header, the verdict's reasons, the most drifted
        features with their statistic, the quality comparisons, and the windows compared.
        ``text`` is the plain fallback; every text stays under Slack's 3000 characters.
    """
    model, verdict = result.model, result.verdict
    title = f"modelyard monitor: {model.name} v{model.version}"
    if model.alias:
        title += f" ({model.alias})"
    title += f": {verdict.status}"
    sections = [
        _listing("*Verdict*", [_escape(reason) for reason in verdict.reasons]),
        _drift_section(result.drift, result.prediction_drift),
        "" if result.quality is None else _quality_section(result.quality),
    ]
    sections = [s for s in sections if s]
    context = _context_line(result)
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


def _drift_section(drift: DriftReport, prediction: ColumnDrift | None) -> str:
    columns = sorted((c for c in drift.columns if c.drifted), key=_severity, reverse=True)
    lines = [f"`{_code(c.column)}` {_statistic(c)}" for c in columns]
    if prediction is not None and prediction.drifted:
        lines.insert(0, f"predictions {_statistic(prediction)}")
    if not lines:
        return ""
    counted = f" ({drift.n_drifted} of {len(drift.columns)} columns, {drift.share_drifted:.0%})"
    return _listing("*Drifted features*" + counted, lines)


def _severity(column: ColumnDrift) -> float:
    """How far past its threshold a column is: 1 at the threshold, larger when further."""
    statistic, p_value, threshold = column.statistic, column.p_value, column.threshold
    if p_value is not None and math.isfinite(p_value) and threshold:
        return float(math.log(max(p_value, 1e-300)) / math.log(threshold))
    if math.isfinite(statistic) and threshold:
        return float(statistic / threshold)
    return math.inf  # no values left in the current window: the worst case


def _statistic(column: ColumnDrift) -> str:
    text = f"{column.method} {_number(column.statistic)}"
    if column.p_value is not None:
        text += f", p={_number(column.p_value)}"
    else:
        text += f" (threshold {_number(column.threshold)})"
    unseen = column.unseen_categories
    if unseen:
        text += f", {len(unseen)} unseen categor{'y' if len(unseen) == 1 else 'ies'}"
    return text


def _quality_section(quality: QualityReport) -> str:
    lines = []
    for c in quality.comparisons:
        line = f"{_escape(c.metric)} {_number(c.observed, 3)} vs {_number(c.promised, 3)}"
        line += " promised"
        if math.isfinite(c.change):
            line += f" ({c.change:+.3f})"
        lines.append(line + (" *degraded*" if c.degraded else ""))
    return _listing(f"*Quality* ({quality.labelled_rows} labelled rows)", lines)


def _context_line(result: MonitorResult) -> str:
    parts = [
        f"current: {result.current.description} ({result.current.rows} rows)",
        f"reference: {result.reference.description} ({result.reference.rows} rows)",
        f"at {result.generated_at.isoformat(timespec='seconds')}",
    ]
    return _clip(_escape(" | ".join(parts)), MAX_TEXT)


def _number(value: Any, decimals: int | None = None) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
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
            credentials, or resolves to an address webhooks may not reach (see
            ``modelyard.net.client``); or ``timeout_s``/``max_redirects`` is out of range.
        ValueError: ``payload`` is not JSON (NaN, infinities, or objects ``json`` refuses).
    """
    if not timeout_s > 0 or max_redirects < 0:
        raise _refused(
            f"webhook timeout_s must be > 0 and max_redirects >= 0, not {timeout_s!r} and "
            f"{max_redirects!r}."
        )
    body = json.dumps(payload, allow_nan=False).encode()
    policy = EgressPolicy(
        allow_hosts=tuple(allow_hosts),
        setting=SETTING,
        timeout_s=timeout_s,
        max_redirects=max_redirects,
        max_bytes=MAX_RESPONSE_BYTES,
    )
    headers = {"Content-Type": "application/json"}
    try:
        answer = request(
            url, policy, method="POST", body=body, headers=headers, what=WHAT,
            ssl_context=ssl_context,
        )  # fmt: skip
    except EgressRefusedError as exc:
        raise _refused(str(exc)) from exc
    except EgressFailedError as exc:
        return _failure(exc.origin, exc.status, exc.detail, exc.redirects)
    text = answer.body[:200].decode("utf-8", "replace").strip()
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    detail = f"HTTP {answer.status} {answer.reason}".rstrip() + (f": {text}" if text else "")
    if answer.ok:
        logger.info("Alert delivered to %s (HTTP %s).", answer.origin, answer.status)
        route = _with_route(detail, answer.redirects)
        return WebhookResult(True, answer.status, answer.origin, route)
    return _failure(answer.origin, answer.status, detail, answer.redirects)


def _refused(problem: str) -> WebhookRefusedError:
    """Return the error for a target this client will not call (the one place to change it)."""
    return WebhookRefusedError(problem)


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
