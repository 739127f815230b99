"""Slack notifications against a local incoming webhook: message content, failure modes, the one retry."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from autonomos_pipeline.dcl import notify
from autonomos_pipeline.dcl.notify import SlackNotifier, notifier_from_settings
from autonomos_pipeline.dcl.settings import Settings
from tests.fakes.slack_server import WEBHOOK_PATH, FakeSlackWebhook, SlackReply

CHANGES: list[dict[str, Any]] = [
    {
        "kind": "type_changed",
        "field": "amount",
        "new_field": None,
        "old_type": "integer",
        "new_type": "decimal",
        "confidence": None,
        "severity": "medium",
    },
    {
        "kind": "renamed",
        "field": "cust_name",
        "new_field": "customer_name",
        "old_type": "string",
        "new_type": "string",
        "confidence": 0.94,
        "severity": "high",
    },
    {
        "kind": "added",
        "field": "loyalty_tier",
        "new_field": None,
        "old_type": None,
        "new_type": "string",
        "confidence": None,
        "severity": "medium",
    },
]
PROPOSAL = {
    "tenant_name": "Acme Retail",
    "tenant_id": "t-acme",
    "connection": "acme-salesforce",
    "stream": "accounts",
    "changes": CHANGES,
    "confidence": 0.72,
    "proposal_id": "prop-42",
}


@pytest.fixture(scope="module")
def slack_server() -> Iterator[FakeSlackWebhook]:
    server = FakeSlackWebhook()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def slack(slack_server: FakeSlackWebhook) -> FakeSlackWebhook:
    """The fake webhook with nothing scripted and nothing received."""
    slack_server.reset()
    return slack_server


def _rendered(payload: dict[str, Any]) -> str:
    """Everything Slack would display: the fallback text and every text inside the blocks."""
    return json.dumps(payload, ensure_ascii=False)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage() + json.dumps(record.__dict__, default=str)
        for record in caplog.records
        if record.name == notify.__name__ and record.levelno >= logging.WARNING
    ]


def test_proposal_shows_tenant_connection_changes_and_confidence(slack: FakeSlackWebhook) -> None:
    notifier = SlackNotifier(slack.webhook_url)

    sent = notifier.notify_repair_proposed(**PROPOSAL, review_url="https://autonomos.example/review/prop-42")

    assert sent is True
    [payload] = slack.payloads
    assert "Acme Retail" in payload["text"] and "acme-salesforce" in payload["text"] and "72%" in payload["text"]
    header, facts, changed, footer = payload["blocks"]
    assert header["type"] == "header" and "review" in header["text"]["text"]
    facts_text = " ".join(field["text"] for field in facts["fields"])
    for visible in ("Acme Retail", "t-acme", "acme-salesforce", "accounts", "72%"):
        assert visible in facts_text
    lines = changed["text"]["text"].splitlines()[1:]
    assert lines[0] == "• *high* renamed `cust_name` → `customer_name`, 94% sure"  # most severe first
    assert "type of `amount` changed from integer to decimal" in lines[1]
    assert "added `loyalty_tier` (string)" in lines[2]
    assert "prop-42" in footer["elements"][0]["text"]
    assert "<https://autonomos.example/review/prop-42|" in footer["elements"][0]["text"]


def test_applied_repair_shows_mapping_version(slack: FakeSlackWebhook) -> None:
    notifier = SlackNotifier(slack.webhook_url)

    sent = notifier.notify_repair_applied(
        tenant_name="Acme Retail",
        tenant_id="t-acme",
        connection="acme-salesforce",
        stream="accounts",
        changes=CHANGES[1:2],
        confidence=0.97,
        mapping_version=3,
    )

    assert sent is True
    [payload] = slack.payloads
    rendered = _rendered(payload)
    assert "automatically" in payload["blocks"][0]["text"]["text"]
    for visible in ("Acme Retail", "acme-salesforce", "accounts", "`cust_name` → `customer_name`", "97%"):
        assert visible in rendered
    assert "1 change," in payload["text"]
    assert "Mapping version 3 is active" in rendered


def test_field_names_cannot_inject_slack_markup(slack: FakeSlackWebhook) -> None:
    change = {"kind": "removed", "field": "<!channel> & <https://evil.example|x>", "severity": "high"}

    assert SlackNotifier(slack.webhook_url).notify_repair_proposed(**{**PROPOSAL, "changes": [change]}) is True

    rendered = _rendered(slack.payloads[0])
    assert "<!channel>" not in rendered and "<https://evil" not in rendered
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;" in rendered


def test_hundreds_of_changes_stay_within_slack_limits(slack: FakeSlackWebhook) -> None:
    changes = [{"kind": "added", "field": f"column_{i:03d}_" + "x" * 80, "severity": "medium"} for i in range(300)]

    assert SlackNotifier(slack.webhook_url).notify_repair_proposed(**{**PROPOSAL, "changes": changes}) is True

    text = slack.payloads[0]["blocks"][2]["text"]["text"]
    assert "300 changes" in slack.payloads[0]["text"]
    assert "…and 275 more" in text


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (SlackReply.error(400, "invalid_payload"), "HTTP 400 invalid_payload"),
        (SlackReply.error(403, "action_prohibited"), "HTTP 403 action_prohibited"),
        (SlackReply.error(404, "no_service"), "HTTP 404 no_service"),
        (SlackReply.error(410, "channel_is_archived"), "HTTP 410 channel_is_archived"),
    ],
)
def test_rejected_message_returns_false_without_retry(
    slack: FakeSlackWebhook, caplog: pytest.LogCaptureFixture, reply: SlackReply, shown: str
) -> None:
    slack.script(reply)

    assert SlackNotifier(slack.webhook_url).notify_repair_proposed(**PROPOSAL) is False

    assert len(slack.requests) == 1
    [warning] = _warnings(caplog)
    assert shown in warning
    assert WEBHOOK_PATH not in warning and "s3cr3t" not in warning


@pytest.mark.parametrize(
    "replies",
    [
        [SlackReply.server_error(500), SlackReply.server_error(503)],
        [SlackReply.rate_limited(retry_after=0), SlackReply.rate_limited(retry_after=0)],
    ],
    ids=["5xx", "429"],
)
def test_persistent_transient_failure_is_retried_once_then_false(
    slack: FakeSlackWebhook, caplog: pytest.LogCaptureFixture, replies: list[SlackReply]
) -> None:
    slack.script(*replies)

    assert SlackNotifier(slack.webhook_url).notify_repair_applied(**_applied()) is False

    assert len(slack.requests) == 2
    [warning] = _warnings(caplog)
    assert f"HTTP {replies[1].status}" in warning and "s3cr3t" not in warning


def test_rate_limit_is_honoured_then_retry_succeeds(slack: FakeSlackWebhook, caplog: pytest.LogCaptureFixture) -> None:
    slack.script(SlackReply.rate_limited(retry_after=1), SlackReply.ok())

    started = time.monotonic()
    sent = SlackNotifier(slack.webhook_url).notify_repair_proposed(**PROPOSAL)

    assert sent is True
    assert time.monotonic() - started >= 1.0
    assert len(slack.payloads) == 2 and slack.payloads[0] == slack.payloads[1]
    assert _warnings(caplog) == []


def test_server_error_then_ok_is_retried(slack: FakeSlackWebhook) -> None:
    slack.script(SlackReply.server_error(502), SlackReply.ok())

    assert SlackNotifier(slack.webhook_url).notify_repair_proposed(**PROPOSAL) is True
    assert len(slack.requests) == 2


def test_long_retry_after_gives_up_instead_of_waiting(
    slack: FakeSlackWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    slack.script(SlackReply.rate_limited(retry_after=30))

    started = time.monotonic()
    assert SlackNotifier(slack.webhook_url).notify_repair_proposed(**PROPOSAL) is False

    assert time.monotonic() - started < 1.0
    assert len(slack.requests) == 1
    assert "HTTP 429 rate_limited" in _warnings(caplog)[0]


def test_hanging_webhook_times_out(slack: FakeSlackWebhook, caplog: pytest.LogCaptureFixture) -> None:
    slack.script(SlackReply.hang(5))

    started = time.monotonic()
    assert SlackNotifier(slack.webhook_url, timeout=0.3).notify_repair_proposed(**PROPOSAL) is False

    assert time.monotonic() - started < 2.0
    assert len(slack.requests) == 1  # a timeout may have been delivered: no retry, no duplicate message
    [warning] = _warnings(caplog)
    assert "ReadTimeout" in warning and "s3cr3t" not in warning


def test_refused_connection_returns_false_quickly(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"

    started = time.monotonic()
    assert SlackNotifier(url).notify_repair_proposed(**PROPOSAL) is False

    assert time.monotonic() - started < 1.0
    [warning] = _warnings(caplog)
    assert "ConnectError" in warning and "s3cr3t" not in warning


def test_malformed_webhook_url_returns_false(caplog: pytest.LogCaptureFixture) -> None:
    assert SlackNotifier("not a webhook s3cr3t").notify_repair_proposed(**PROPOSAL) is False
    assert "s3cr3t" not in _warnings(caplog)[0]


def test_injected_client_is_used_and_left_open(slack: FakeSlackWebhook) -> None:
    with httpx.Client(headers={"user-agent": "autonomos-test"}) as client:
        notifier = SlackNotifier(slack.webhook_url, client=client)
        assert notifier.notify_repair_proposed(**PROPOSAL) is True
        assert notifier.notify_repair_proposed(**PROPOSAL) is True
        assert not client.is_closed
    assert len(slack.payloads) == 2


def test_notifier_from_settings(slack: FakeSlackWebhook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTONOMOS_SLACK_WEBHOOK_URL", raising=False)
    assert notifier_from_settings() is None
    assert notifier_from_settings(Settings(slack_webhook_url=None)) is None

    monkeypatch.setenv("AUTONOMOS_SLACK_WEBHOOK_URL", slack.webhook_url)
    notifier = notifier_from_settings(Settings())

    assert notifier is not None
    assert "s3cr3t" not in repr(notifier)
    assert notifier.notify_repair_proposed(**PROPOSAL) is True
    assert len(slack.payloads) == 1


@pytest.mark.parametrize("body", [b"{}", b'{"text": ""}', b"not json"])
def test_fake_rejects_payload_without_text_or_blocks_like_slack(slack: FakeSlackWebhook, body: bytes) -> None:
    response = httpx.post(slack.webhook_url, content=body, headers={"content-type": "application/json"})

    assert (response.status_code, response.text) == (400, "invalid_payload")


def _applied() -> dict[str, Any]:
    fields = ("tenant_name", "tenant_id", "connection", "stream", "changes", "confidence")
    return {**{key: PROPOSAL[key] for key in fields}, "mapping_version": 2}
