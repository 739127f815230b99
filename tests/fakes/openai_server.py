"""A local server speaking OpenAI's chat completions API with scripted replies; also the shared fake plumbing.

`LocalServer` runs any ASGI app with uvicorn on 127.0.0.1 (random free port) in a background thread, and
`ScriptedFake` plays back `Reply` objects one request at a time; the Gemini and Pinecone fakes reuse both.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


class LocalServer:
    """Serve an ASGI app on 127.0.0.1:<free port> with uvicorn in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving and wait until the socket accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@dataclass(frozen=True)
class Reply:
    """One scripted behaviour: answer with content, fail with an HTTP status, or hang before answering."""

    kind: Literal["content", "status", "hang"]
    content: str = ""
    status: int = 200
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def json(cls, payload: dict[str, Any], *, prompt_tokens: int = 120, completion_tokens: int = 30) -> Reply:
        """The model answers with this JSON object as its text."""
        return cls.text(json.dumps(payload), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    @classmethod
    def text(cls, content: str, *, prompt_tokens: int = 120, completion_tokens: int = 30) -> Reply:
        """The model answers with this raw text (e.g. malformed JSON)."""
        return cls("content", content=content, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    @classmethod
    def error(cls, status: int) -> Reply:
        """The API answers with this HTTP error status (429, 500, 503, ...)."""
        return cls("status", status=status)

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        """The API answers only after this many seconds (longer than the client's timeout)."""
        return cls("hang", seconds=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    """What the fake received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ScriptedFake:
    """Replies to each request with the next scripted Reply; unscripted requests get a 500."""

    api_key: str = "test-key"
    model: str = "fake-model"
    requests: list[RecordedRequest] = field(default_factory=list)
    _replies: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: LocalServer | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        assert self._server is not None, "start() the fake first"
        return self._server.url

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget scripted replies and recorded requests (between tests sharing one server)."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()

    def start(self, app: FastAPI) -> None:
        """Serve app in the background."""
        self._server = LocalServer(app)
        self._server.start()

    def stop(self) -> None:
        """Release hanging handlers and stop the server."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()

    async def next_reply(self, request: Request) -> tuple[Reply, dict[str, Any]]:
        """Record the request and pop the reply scripted for it (waiting out a hang first)."""
        body = await request.json()
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
            reply = self._replies.popleft() if self._replies else Reply.error(500)
        if reply.kind == "hang":
            deadline = time.monotonic() + reply.seconds
            while time.monotonic() < deadline and not self._stopping.is_set():
                await asyncio.sleep(0.02)
            reply = Reply.json({"canonical_field": None, "confidence": 0.0, "reason": "late"})
        return reply, body


class FakeOpenAI(ScriptedFake):
    """`POST /v1/chat/completions`, authenticated with `Authorization: Bearer <api_key>`."""

    def start(self, app: FastAPI | None = None) -> None:
        """Serve the OpenAI-shaped app."""
        super().start(app or self._app())

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as base_url."""
        return f"{self.url}/v1"

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return _openai_error(401, "Incorrect API key provided.", "invalid_api_key")
            reply, body = await self.next_reply(request)
            if reply.kind == "status":
                return _openai_error(reply.status, f"scripted HTTP {reply.status}", None)
            return JSONResponse(_completion_body(reply, body.get("model", self.model)))

        return app


def _completion_body(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def _openai_error(status: int, message: str, code: str | None) -> JSONResponse:
    kinds = {401: "invalid_request_error", 429: "rate_limit_exceeded"}
    error = {"message": message, "type": kinds.get(status, "server_error"), "param": None, "code": code}
    headers = {"retry-after": "1"} if status == 429 else None
    return JSONResponse({"error": error}, status_code=status, headers=headers)
