"""LLM counters: global and per tenant, reset, and persistence across processes in Redis and the SQLite file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from autonomos_pipeline.dcl.llm import FileCounters, LLMTelemetry, RedisCounters, get_telemetry
from autonomos_pipeline.dcl.settings import Settings

ZERO = {"calls": 0, "tokens": 0, "calls_saved": 0}


def _record_sample(telemetry: LLMTelemetry) -> None:
    telemetry.record_call("acme", tokens=150)
    telemetry.record_call("acme", tokens=50)
    telemetry.record_call("globex", tokens=70)
    telemetry.record_call(None, tokens=5)
    telemetry.record_saved("acme", n=3)


@pytest.fixture(params=["redis", "file"])
def telemetry(request: pytest.FixtureRequest) -> LLMTelemetry:
    """Both backends must behave the same."""
    fixture = "redis_telemetry" if request.param == "redis" else "file_telemetry"
    return request.getfixturevalue(fixture)


def test_counters_are_kept_globally_and_per_tenant(telemetry: LLMTelemetry) -> None:
    _record_sample(telemetry)

    assert telemetry.stats() == {"calls": 4, "tokens": 275, "calls_saved": 3}
    assert telemetry.stats("acme") == {"calls": 2, "tokens": 200, "calls_saved": 3}
    assert telemetry.stats("globex") == {"calls": 1, "tokens": 70, "calls_saved": 0}
    assert telemetry.stats("unknown") == ZERO


def test_resetting_a_tenant_leaves_the_others(telemetry: LLMTelemetry) -> None:
    _record_sample(telemetry)

    telemetry.reset("acme")

    assert telemetry.stats("acme") == ZERO
    assert telemetry.stats("globex") == {"calls": 1, "tokens": 70, "calls_saved": 0}
    assert telemetry.stats()["calls"] == 4, "the global total is history, not a sum of tenants"


def test_resetting_everything_clears_global_and_every_tenant(telemetry: LLMTelemetry) -> None:
    _record_sample(telemetry)

    telemetry.reset()

    assert telemetry.stats() == ZERO
    assert telemetry.stats("acme") == ZERO
    assert telemetry.stats("globex") == ZERO


def test_redis_keys_follow_the_documented_layout(
    redis_client: redis.Redis, redis_prefix: str, redis_telemetry: LLMTelemetry
) -> None:
    _record_sample(redis_telemetry)

    assert redis_client.get(f"{redis_prefix}dcl:llm:calls") == "4"
    assert redis_client.get(f"{redis_prefix}dcl:llm:tokens") == "275"
    assert redis_client.get(f"{redis_prefix}dcl:llm:calls_saved") == "3"
    assert redis_client.get(f"{redis_prefix}dcl:llm:calls:tenant:acme") == "2"
    assert redis_client.get(f"{redis_prefix}dcl:llm:calls_saved:tenant:acme") == "3"


def test_reset_all_touches_only_its_own_keys(
    redis_client: redis.Redis, redis_prefix: str, redis_telemetry: LLMTelemetry
) -> None:
    neighbour = f"{redis_prefix}other:dcl:llm:calls:tenant:acme"
    redis_client.set(neighbour, "7")
    _record_sample(redis_telemetry)

    redis_telemetry.reset()

    assert redis_client.get(neighbour) == "7"


def _run_workers(script: str, count: int) -> None:
    """Run `count` Python processes at once and require each to succeed."""
    workers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(count)]
    assert [worker.wait(timeout=60) for worker in workers] == [0] * count


def test_file_counters_add_up_across_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "llm_counters.db"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from autonomos_pipeline.dcl.llm import FileCounters, LLMTelemetry
        telemetry = LLMTelemetry(FileCounters(Path({str(path)!r})))
        for _ in range(100):
            telemetry.record_call("acme", tokens=10)
        """
    )

    _run_workers(script, count=2)

    reopened = LLMTelemetry(FileCounters(path))
    assert reopened.stats() == {"calls": 200, "tokens": 2000, "calls_saved": 0}
    assert reopened.stats("acme") == {"calls": 200, "tokens": 2000, "calls_saved": 0}


def test_redis_counters_add_up_across_concurrent_processes(
    redis_client: redis.Redis, redis_url: str, redis_prefix: str
) -> None:
    script = textwrap.dedent(
        f"""
        import redis
        from autonomos_pipeline.dcl.llm import LLMTelemetry, RedisCounters
        client = redis.Redis.from_url({redis_url!r}, decode_responses=True)
        telemetry = LLMTelemetry(RedisCounters(client, key_prefix={redis_prefix!r}))
        for _ in range(100):
            telemetry.record_saved("acme")
        """
    )

    _run_workers(script, count=2)

    telemetry = LLMTelemetry(RedisCounters(redis_client, key_prefix=redis_prefix))
    assert telemetry.stats("acme")["calls_saved"] == 200
    assert telemetry.stats()["calls_saved"] == 200


def test_get_telemetry_uses_the_file_in_the_data_dir_without_redis(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", redis_url=None)

    get_telemetry(settings).record_call("acme", tokens=12)

    assert (tmp_path / "data" / "llm_counters.db").exists()
    assert get_telemetry(settings).stats("acme") == {"calls": 1, "tokens": 12, "calls_saved": 0}


def test_get_telemetry_uses_redis_when_configured(tmp_path: Path, redis_url: str) -> None:
    telemetry = get_telemetry(Settings(data_dir=tmp_path / "data", redis_url=redis_url))

    assert isinstance(telemetry.backend, RedisCounters)
    assert not (tmp_path / "data" / "llm_counters.db").exists()


def test_a_counter_outage_does_not_break_the_caller(tmp_path: Path) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), retries=0))
    telemetry = LLMTelemetry(RedisCounters(unreachable))

    telemetry.record_call("acme", tokens=10)
    telemetry.record_saved("acme")

    with pytest.raises(redis.ConnectionError):
        telemetry.stats("acme")


def test_file_counters_survive_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "llm_counters.db"
    LLMTelemetry(FileCounters(path)).record_saved("acme", n=2)

    assert LLMTelemetry(FileCounters(path)).stats("acme")["calls_saved"] == 2
