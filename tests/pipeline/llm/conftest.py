"""Fixtures for the LLM tests: fake OpenAI and Gemini servers, a Redis key namespace, file-backed counters."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from autonomos_pipeline.dcl.llm import FileCounters, LLMTelemetry, RedisCounters
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI

REDIS_URL = os.environ.get("AUTONOMOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAI]:
    """One fake OpenAI endpoint for the session."""
    fake = FakeOpenAI(api_key="sk-test-openai", model="gpt-fake")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def gemini_server() -> Iterator[FakeGemini]:
    """One fake Gemini endpoint for the session."""
    fake = FakeGemini(api_key="gm-test-gemini", model="gemini-fake")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_openai(openai_server: FakeOpenAI) -> FakeOpenAI:
    """The fake OpenAI endpoint with no scripted replies and no recorded requests."""
    openai_server.reset()
    return openai_server


@pytest.fixture
def fake_gemini(gemini_server: FakeGemini) -> FakeGemini:
    """The fake Gemini endpoint with no scripted replies and no recorded requests."""
    gemini_server.reset()
    return gemini_server


@pytest.fixture
def file_telemetry(tmp_path: Path) -> LLMTelemetry:
    """Telemetry on a fresh SQLite counter file."""
    return LLMTelemetry(FileCounters(tmp_path / "counters" / "llm_counters.db"))


@pytest.fixture
def redis_url() -> str:
    """URL of the machine's real Redis (AUTONOMOS_TEST_REDIS_URL, default DB 0 on 127.0.0.1)."""
    return REDIS_URL


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """The machine's real Redis."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix unique to this test; every key under it is deleted afterwards."""
    prefix = f"autonomos-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def redis_telemetry(redis_client: redis.Redis, redis_prefix: str) -> LLMTelemetry:
    """Telemetry on the real Redis, isolated under redis_prefix."""
    return LLMTelemetry(RedisCounters(redis_client, key_prefix=redis_prefix))
