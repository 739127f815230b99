"""A local server speaking Gemini's `POST /{version}/models/{model}:generateContent` with scripted replies."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.openai_server import Reply, ScriptedFake

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class FakeGemini(ScriptedFake):
    """generateContent for v1 and v1beta, authenticated with the `x-goog-api-key` header."""

    def start(self, app: FastAPI | None = None) -> None:
        """Serve the Gemini-shaped app."""
        super().start(app or self._app())

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{version}/models/{model}:generateContent")
        async def generate_content(version: str, model: str, request: Request) -> Response:
            if version not in ("v1", "v1beta"):
                return _gemini_error(404, f"API version {version} not found")
            if request.headers.get("x-goog-api-key") != self.api_key:
                return _gemini_error(400, "API key not valid. Please pass a valid API key.")
            reply, _ = await self.next_reply(request)
            if reply.kind == "status":
                return _gemini_error(reply.status, f"scripted HTTP {reply.status}")
            return JSONResponse(_generate_content_body(reply, model))

        return app


def _generate_content_body(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": reply.content}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": reply.prompt_tokens,
            "candidatesTokenCount": reply.completion_tokens,
            "totalTokenCount": reply.prompt_tokens + reply.completion_tokens,
        },
        "modelVersion": model,
        "responseId": uuid.uuid4().hex[:22],
    }


def _gemini_error(status: int, message: str) -> JSONResponse:
    error = {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}
    return JSONResponse({"error": error}, status_code=status)
