"""Slack incoming-webhook messages for repair proposals awaiting review and for repairs applied by themselves."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from autonomos_pipeline.dcl.settings import Settings, get_settings

__all__ = ["SlackNotifier", "notifier_from_settings"]

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 2.0
DEFAULT_RETRY_DELAY_SECONDS = 0.5
MAX_LISTED_CHANGES = 25

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_SECTION_TEXT_LIMIT = 3000
_HEADER_TEXT_LIMIT = 150


class SlackNotifier:
    """Posts repair messages to one Slack incoming webhook; a failing webhook is logged and reported as False."""

    def __init__(self, webhook_url: str, *, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self._webhook_url = webhook_url
        self._timeout = timeout
        self._client = client

    def __repr__(self) -> str:
        return f"SlackNotifier(webhook_url='**********', timeout={self._timeout})"

    def notify_repair_proposed(
        self,
        *,
        tenant_name: str,
        tenant_id: str,
        connection: str,
        stream: str,
        changes: Sequence[Mapping[str, Any]],
        confidence: float,
        proposal_id: str,
        review_url: str | None = None,
    ) -> bool:
        """Tell reviewers that a mapping repair waits for them; True when Slack accepted the message."""
        footer = f"Proposal `{_escape(proposal_id)}` keeps the last good mapping until a person decides."
        if review_url:
            footer += f" <{review_url}|Review the proposal>"
        message = _message(
            title=f"Mapping repair awaiting review: {stream}",
            tenant_name=tenant_name,
            tenant_id=tenant_id,
            connection=connection,
            stream=stream,
            changes=changes,
            confidence=confidence,
            footer=footer,
        )
        return self._post(message, event="repair_proposed", tenant_id=tenant_id)

    def notify_repair_applied(
        self,
        *,
        tenant_name: str,
        tenant_id: str,
        connection: str,
        stream: str,
        changes: Sequence[Mapping[str, Any]],
        confidence: float,
        mapping_version: int,
    ) -> bool:
        """Report a repair that applied itself; True when Slack accepted the message."""
        message = _message(
            title=f"Mapping repaired automatically: {stream}",
            tenant_name=tenant_name,
            tenant_id=tenant_id,
            connection=connection,
            stream=stream,
            changes=changes,
            confidence=confidence,
            footer=f"Mapping version {mapping_version} is active; the tenant's rows are re-materialized.",
        )
        return self._post(message, event="repair_applied", tenant_id=tenant_id)

    def _post(self, message: dict[str, Any], *, event: str, tenant_id: str) -> bool:
        context = {"event": event, "tenant_id": tenant_id}
        for attempt in (1, 2):
            try:
                response = self._send(message)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                # str(exc) may quote the request URL, which holds the webhook secret: log the type only
                logger.warning(
                    "slack notification failed: %s", type(exc).__name__, extra={**context, "error": type(exc).__name__}
                )
                return False
            if response.is_success:
                return True
            status, body = response.status_code, response.text[:200]
            delay = _retry_delay(response)
            if attempt == 1 and delay is not None:
                logger.info("slack answered HTTP %s, retrying once", status, extra={**context, "status": status})
                time.sleep(delay)
                continue
            logger.warning(
                "slack notification failed: HTTP %s %s", status, body, extra={**context, "status": status, "body": body}
            )
            return False
        return False

    def _send(self, message: dict[str, Any]) -> httpx.Response:
        if self._client is not None:
            return self._client.post(self._webhook_url, json=message, timeout=self._timeout)
        with httpx.Client(timeout=self._timeout) as client:
            return client.post(self._webhook_url, json=message)


def notifier_from_settings(settings: Settings | None = None) -> SlackNotifier | None:
    """The notifier for AUTONOMOS_SLACK_WEBHOOK_URL, or None when no webhook is configured."""
    secret = (settings or get_settings()).slack_webhook_url
    if secret is None or not secret.get_secret_value().strip():
        return None
    return SlackNotifier(secret.get_secret_value().strip())


def _retry_delay(response: httpx.Response) -> float | None:
    """Seconds to wait before the one retry, or None when retrying cannot help (or Slack asks to wait too long)."""
    if response.status_code != 429 and response.status_code < 500:
        return None
    header = response.headers.get("retry-after")
    if header is None:
        return DEFAULT_RETRY_DELAY_SECONDS
    try:
        seconds = float(header)
    except ValueError:
        return DEFAULT_RETRY_DELAY_SECONDS
    return max(seconds, 0.0) if seconds <= MAX_RETRY_AFTER_SECONDS else None


def _message(
    *,
    title: str,
    tenant_name: str,
    tenant_id: str,
    connection: str,
    stream: str,
    changes: Sequence[Mapping[str, Any]],
    confidence: float,
    footer: str,
) -> dict[str, Any]:
    """Incoming-webhook payload: `text` for notifications, `blocks` for the message itself."""
    ordered = sorted(changes, key=lambda change: _SEVERITY_ORDER.get(str(change.get("severity")), len(_SEVERITY_ORDER)))
    lines = [f"• {_describe_change(change)}" for change in ordered[:MAX_LISTED_CHANGES]]
    if len(ordered) > MAX_LISTED_CHANGES:
        lines.append(f"…and {len(ordered) - MAX_LISTED_CHANGES} more")
    changed = "\n".join(lines) or "• no field-level changes"
    percent = _percent(confidence)
    summary = f"{len(changes)} change{'' if len(changes) == 1 else 's'}, confidence {percent}"
    fields = [
        ("Tenant", f"{_escape(tenant_name)} (`{_escape(tenant_id)}`)"),
        ("Connection", _escape(connection)),
        ("Stream", _escape(stream)),
        ("Confidence", percent),
    ]
    return {
        "text": _escape(f"{title} — tenant {tenant_name}, connection {connection}: {summary}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _clip(title, _HEADER_TEXT_LIMIT)}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields]},
            {"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"*What changed*\n{changed}")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(footer)}]},
        ],
    }


def _describe_change(change: Mapping[str, Any]) -> str:
    kind = str(change.get("kind", "changed"))
    field = f"`{_escape(str(change.get('field', '?')))}`"
    old_type, new_type = (_escape(str(change.get(key) or "unknown")) for key in ("old_type", "new_type"))
    if kind == "renamed":
        text = f"renamed {field} → `{_escape(str(change.get('new_field', '?')))}`"
    elif kind == "type_changed":
        text = f"type of {field} changed from {old_type} to {new_type}"
    elif kind == "added":
        text = f"added {field}" + (f" ({new_type})" if change.get("new_type") else "")
    elif kind == "removed":
        text = f"removed {field}"
    elif kind == "nullability":
        text = f"nullability of {field} changed"
    else:
        text = f"{_escape(kind)} {field}"
    if change.get("confidence") is not None:
        text += f", {_percent(change['confidence'])} sure"
    severity = change.get("severity")
    return f"*{_escape(str(severity))}* {text}" if severity else text


def _percent(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return "unknown"


def _escape(text: str) -> str:
    """Slack mrkdwn control characters, so field names cannot turn into links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = _SECTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
