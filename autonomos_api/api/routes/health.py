"""Liveness and readiness: the database always, Redis and Dagster when configured."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from autonomos_api.core.config import get_settings
from autonomos_api.core.db import api_engine
from autonomos_pipeline.dcl.redis_client import get_redis

router = APIRouter(prefix="/health", tags=["health"])


class Liveness(BaseModel):
    """The process answers."""

    status: str


class Readiness(BaseModel):
    """Each dependency's state: ok, error: <reason>, or not_configured."""

    status: str
    checks: dict[str, str]


@router.get("/live", response_model=Liveness)
def live() -> Liveness:
    """The API process is up."""
    return Liveness(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
def ready() -> JSONResponse:
    """The API can serve: the database answers, and Redis and Dagster when they are configured."""
    settings = get_settings()
    checks: dict[str, str] = {}
    try:
        with api_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    client = get_redis()
    if client is None:
        checks["redis"] = "not_configured"
    else:
        try:
            client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    if not settings.dagster_graphql_url:
        checks["dagster"] = "not_configured"
    else:
        try:
            resp = httpx.post(settings.dagster_graphql_url, json={"query": "{ version }"}, timeout=3.0)
            checks["dagster"] = "ok" if resp.status_code == 200 else f"error: HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            checks["dagster"] = f"error: {type(exc).__name__}"
    healthy = all(v in ("ok", "not_configured") for v in checks.values())
    body = Readiness(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
