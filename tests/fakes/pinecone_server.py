"""A local server speaking Pinecone's data-plane REST API: upsert and query, cosine similarity, namespaces, $eq."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.openai_server import LocalServer, RecordedRequest


class FilterError(ValueError):
    """The metadata filter uses something this fake does not support."""


@dataclass
class FakePinecone:
    """One serverless-style cosine index of a fixed dimension, with per-namespace records."""

    api_key: str = "pc-test-key"
    dimension: int = 4
    namespaces: dict[str, dict[str, tuple[np.ndarray, dict[str, Any]]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: deque[int] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: LocalServer | None = None

    @property
    def host(self) -> str:
        """What a client takes as the index host."""
        assert self._server is not None, "start() the fake first"
        return self._server.url

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP error statuses, in order."""
        with self._lock:
            self._failures.extend(statuses)

    def reset(self) -> None:
        """Drop every record, recorded request and scripted failure."""
        with self._lock:
            self.namespaces.clear()
            self.requests.clear()
            self._failures.clear()

    def start(self) -> None:
        """Serve in the background."""
        self._server = LocalServer(self._app())
        self._server.start()

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.stop()

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/vectors/upsert")
        async def upsert(request: Request) -> Response:
            body, refusal = await self._admit(request)
            if refusal is not None:
                return refusal
            vectors = body.get("vectors") or []
            for vector in vectors:
                if len(vector.get("values", [])) != self.dimension:
                    return _error(400, 3, self._dimension_message(len(vector.get("values", []))))
                if any(value is None for value in (vector.get("metadata") or {}).values()):
                    return _error(400, 3, "Metadata value must be a string, number, boolean or list of strings")
            with self._lock:
                space = self.namespaces.setdefault(body.get("namespace", ""), {})
                for vector in vectors:
                    values = np.asarray(vector["values"], dtype=np.float64)
                    space[str(vector["id"])] = (values, dict(vector.get("metadata") or {}))
            return JSONResponse({"upsertedCount": len(vectors)})

        @app.post("/query")
        async def query(request: Request) -> Response:
            body, refusal = await self._admit(request)
            if refusal is not None:
                return refusal
            vector = np.asarray(body.get("vector", []), dtype=np.float64)
            if vector.size != self.dimension:
                return _error(400, 3, self._dimension_message(vector.size))
            namespace = body.get("namespace", "")
            try:
                matches = self._search(namespace, vector, int(body.get("topK", 10)), body.get("filter"))
            except FilterError as exc:
                return _error(400, 3, str(exc))
            if not body.get("includeMetadata"):
                matches = [{k: v for k, v in match.items() if k != "metadata"} for match in matches]
            return JSONResponse({"results": [], "matches": matches, "namespace": namespace, "usage": {"readUnits": 1}})

        return app

    async def _admit(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        body = await request.json()
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
            failure = self._failures.popleft() if self._failures else None
        if request.headers.get("api-key") != self.api_key:
            return body, JSONResponse("Unauthorized", status_code=401)
        if failure is not None:
            return body, _error(failure, 14 if failure >= 500 else 8, f"scripted HTTP {failure}")
        return body, None

    def _search(
        self, namespace: str, vector: np.ndarray, top_k: int, metadata_filter: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        with self._lock:
            records = list(self.namespaces.get(namespace, {}).items())
        scored = []
        for record_id, (values, metadata) in records:
            if metadata_filter and not _matches(metadata, metadata_filter):
                continue
            score = float(values @ vector / (np.linalg.norm(values) * np.linalg.norm(vector) or 1.0))
            scored.append({"id": record_id, "score": score, "values": [], "metadata": metadata})
        return sorted(scored, key=lambda match: -match["score"])[:top_k]

    def _dimension_message(self, got: int) -> str:
        return f"Vector dimension {got} does not match the dimension of the index {self.dimension}"


def _matches(metadata: dict[str, Any], metadata_filter: dict[str, Any]) -> bool:
    """Pinecone filter subset: {"f": v}, {"f": {"$eq": v}}, {"f": {"$ne": v}}, {"f": {"$in": [...]}}, $and."""
    for key, condition in metadata_filter.items():
        if key == "$and":
            if not all(_matches(metadata, part) for part in condition):
                return False
            continue
        if key.startswith("$"):
            raise FilterError(f"unsupported filter operator {key}")
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        for operator, operand in condition.items():
            value = metadata.get(key)
            if operator == "$eq":
                ok = value == operand
            elif operator == "$ne":
                ok = value != operand
            elif operator == "$in":
                ok = value in operand
            else:
                raise FilterError(f"unsupported filter operator {operator}")
            if not ok:
                return False
    return True


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "details": []}, status_code=status)
