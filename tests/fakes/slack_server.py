"""A local Slack incoming webhook (`POST /services/...`) that records payloads and answers with scripted replies.

Like Slack it answers 200 `ok`, 400 `invalid_payload` for a payload with neither `text` nor `blocks` (or that is not
JSON), 400 `invalid_blocks` for blocks over Slack's text limits, and 404 `no_service` for an unknown webhook path.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBHOOK_PATH = "/services/T0FAKE000/B0FAKE000/s3cr3tW3bh00kT0k3nXXXXXX"


@dataclass(frozen=True)
class SlackReply:
    """One scripted answer: a status with Slack's plain-text body, optionally after hanging for some seconds."""

    status: int = 200
    body: str = "ok"
    retry_after: int | None = None
    hang_seconds: float = 0.0

    @classmethod
    def ok(cls) -> SlackReply:
        return cls()

    @classmethod
    def error(cls, status: int, body: str) -> SlackReply:
        """e.g. (400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"), (410, ...)."""
        return cls(status, body)

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> SlackReply:
        return cls(429, "rate_limited", retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> SlackReply:
        return cls(status, "internal_error")

    @classmethod
    def hang(cls, seconds: float) -> SlackReply:
        """Answer `ok` only after this many seconds (longer than the client's timeout)."""
        return cls(hang_seconds=seconds)


@dataclass(frozen=True)
class ReceivedRequest:
    """What the webhook received: the path, the raw body and, when it parsed, the JSON payload."""

    path: str
    raw: bytes
    payload: dict[str, Any] | None


class FakeSlackWebhook:
    """Serves on 127.0.0.1:<free port> in a daemon thread; unscripted requests are answered 200 `ok`."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._replies: deque[SlackReply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def webhook_url(self) -> str:
        """The secret URL a notifier is configured with."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{WEBHOOK_PATH}"

    @property
    def payloads(self) -> list[dict[str, Any]]:
        """JSON payloads received on the webhook path, in order."""
        with self._lock:
            return [r.payload for r in self.requests if r.payload is not None and r.path == WEBHOOK_PATH]

    def script(self, *replies: SlackReply) -> None:
        """Queue answers for the next requests, in order."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget scripted answers and received requests (between tests sharing one server)."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Release hanging handlers, stop serving and close the socket."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, path: str, raw: bytes) -> SlackReply:
        payload = _parse(raw)
        with self._lock:
            self.requests.append(ReceivedRequest(path, raw, payload))
            reply = self._replies.popleft() if self._replies else SlackReply.ok()
        if path != WEBHOOK_PATH:
            return SlackReply.error(404, "no_service")
        if reply.hang_seconds:
            self._stopping.wait(reply.hang_seconds)
        if reply.status == 200:
            if payload is None or not (payload.get("text") or payload.get("blocks")):
                return SlackReply.error(400, "invalid_payload")
            if not _blocks_valid(payload.get("blocks") or []):
                return SlackReply.error(400, "invalid_blocks")
        return reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                reply = fake._answer(self.path, raw)
                body = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "text/plain; charset=utf-8")
                    self.send_header("content-length", str(len(body)))
                    if reply.retry_after is not None:
                        self.send_header("retry-after", str(reply.retry_after))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a scripted hang)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _blocks_valid(blocks: list[dict[str, Any]]) -> bool:
    """Slack's limits: 50 blocks, header text 150, section text 3000, 10 fields of 2000 characters."""
    if len(blocks) > 50:
        return False
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if block.get("type") == "header" and len(text) > 150:
            return False
        if block.get("type") == "section":
            fields = block.get("fields") or []
            if len(text) > 3000 or len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                return False
    return True
