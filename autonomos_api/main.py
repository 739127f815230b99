"""The FastAPI application: routers under /api/v1, health at /health, problem+json errors."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from autonomos_api.api.main import api_router
from autonomos_api.api.page_cache import PageCacheMiddleware, new_view_pages
from autonomos_api.api.routes import health
from autonomos_api.core.config import get_settings
from autonomos_api.core.db import dispose_api_engines
from autonomos_api.core.errors import install_error_handlers
from autonomos_api.core.throttle import LoginThrottle
from autonomos_api.services.event_stream import hub_lifespan
from autonomos_api.services.view_journal import ViewJournal
from autonomos_pipeline.dcl.redis_client import get_redis
from autonomos_pipeline.dcl.view_cache import TotalCache

GC_THRESHOLDS = (100_000, 50, 10)


def _tune_garbage_collector() -> None:
    """Freeze what start-up built out of the cyclic collector and collect the young generation less often.

    With the defaults, at thousands of requests per second full collections walked every long-lived object (routes,
    models, pools) and stalled all requests in flight: the views' p99 at 200 connections was 330 ms, 81 ms with this
    (bench/api.py). Reference counting still frees almost everything at once; cycles are collected, just in bigger
    batches, and full collections keep their default rhythm (every 10 middle ones), now over post-start-up objects.
    """
    if gc.get_threshold() == GC_THRESHOLDS:
        return  # once per process (tests start many applications in one)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the event hub, the view journal and the page cache; at shutdown journal the buffered views, close pools."""
    _tune_garbage_collector()
    settings = get_settings()
    app.state.view_totals = TotalCache(get_redis())
    journal = app.state.view_journal = ViewJournal()
    pages = app.state.view_pages = new_view_pages(settings.redis_url, settings.view_page_cache_mb, journal)
    await journal.start()
    try:
        async with hub_lifespan(app):
            yield
    finally:
        app.state.view_pages = None
        if pages is not None:
            await pages.fence.close()
        await journal.stop()
        dispose_api_engines()


class AutonomosAPI(FastAPI):
    """FastAPI with the page cache's front instance before the middleware stack (see PageCacheMiddleware)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._front = PageCacheMiddleware(super().__call__, front=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["app"] = self  # as Starlette sets it: the middleware finds the page cache in app.state
            await self._front(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app() -> FastAPI:
    """Build the application from the current settings."""
    settings = get_settings()
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs may carry secrets
    app = AutonomosAPI(
        title="AutonomOS API",
        version="0.1.0",
        description="Unified canonical views, connections, drift review and runs, isolated per tenant.",
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.add_middleware(PageCacheMiddleware)  # inside CORS, so answers from the cache get CORS headers too
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.state.login_throttle = LoginThrottle(get_redis())
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api_router, prefix="/api/v1")
    return app


app = create_app()
