"""Benchmark: live event delivery over SSE — 100 subscribers across 10 tenants, 1,000 events/s published.

It creates its own PostgreSQL database (dropped at the end), migrates it, starts a private redis-server and uvicorn
(PostgreSQL + Redis) on free ports, registers the tenants through the API, opens the SSE streams from client processes,
then publisher processes call `publish()` (one transaction per event, the publish time stamped in the payload) at the
target rate. Reported: events/s delivered, delivery latency publish -> client receive (p50 / p99 / max), and events
lost (a subscriber missing an event of its tenant published while it was connected). Each tenant is published by one
process, as a pipeline run would.

Run: .venv/bin/python bench/events.py [--subscribers 100] [--tenants 10] [--rate 1000] [--seconds 10] [--no-redis]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autonomos_pipeline.dcl.store import upgrade  # noqa: E402

PG_HOST = os.environ.get("AUTONOMOS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("AUTONOMOS_TEST_PG_PORT", "5432"))
PG_SUPERUSER = os.environ.get("AUTONOMOS_TEST_PG_USER", "postgres")
PASSWORD = "bench password 1234"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin(sql: str) -> None:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# subscribers (client processes) -------------------------------------------------------------------------------------
async def _follow(base: str, token: str, tenant: str, ready: Any, stop: Any, out: dict[str, Any]) -> None:
    ids: list[int] = []
    latencies: list[float] = []
    out.update(tenant=tenant, ids=ids, latencies=latencies)  # filled as events arrive (the task is cancelled)
    timeout = httpx.Timeout(10.0, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        client.stream("GET", f"{base}/api/v1/events/stream", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        resp.raise_for_status()
        data: str | None = None
        async for line in resp.aiter_lines():
            if line.startswith("data:"):
                data = line[5:].strip()
            elif line.startswith(": subscribed"):
                ready()
            elif line == "" and data is not None:
                received = time.time()
                message = json.loads(data)
                ids.append(message["id"])
                latencies.append(received - message["payload"]["t"])
                data = None
            if stop.is_set():
                break


def _client_process(base: str, subs: list[tuple[str, str]], ready: Any, stop: Any, results: Any) -> None:
    async def main() -> list[dict[str, Any]]:
        outs: list[dict[str, Any]] = [{} for _ in subs]
        counter = {"n": 0}

        def one_ready() -> None:
            counter["n"] += 1
            if counter["n"] == len(subs):
                ready.set()

        async def watch_stop(tasks: list[asyncio.Task[None]]) -> None:
            while not stop.is_set():
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            for task in tasks:
                task.cancel()

        tasks = [
            asyncio.create_task(_follow(base, token, tenant, one_ready, stop, out))
            for (tenant, token), out in zip(subs, outs, strict=True)
        ]
        watcher = asyncio.create_task(watch_stop(tasks))
        await asyncio.gather(*tasks, return_exceptions=True)
        watcher.cancel()
        return outs

    results.put(asyncio.run(main()))


# publishers ---------------------------------------------------------------------------------------------------------
def _publisher_process(env: dict[str, str], tenants: list[str], rate: float, seconds: float, results: Any) -> None:
    """Publish rate events/s round-robin over tenants; events that are due together share one transaction per tenant
    (the publisher batches itself when commits are slower than the rate), each stamped when publish() is called."""
    os.environ.update(env)
    from autonomos_pipeline.dcl.events import publish
    from autonomos_pipeline.dcl.store import tenant_session

    published: dict[str, list[int]] = {t: [] for t in tenants}
    total = int(rate * seconds)
    start = time.monotonic()
    behind = 0.0
    sent = 0
    transactions = 0
    while sent < total:
        now = time.monotonic()
        due = min(total, int((now - start) * rate) + 1)
        if due <= sent:
            time.sleep((sent / rate) - (now - start))
            continue
        behind = max(behind, now - (start + sent / rate))
        by_tenant: dict[str, list[int]] = {}
        for i in range(sent, due):
            by_tenant.setdefault(tenants[i % len(tenants)], []).append(i)
        for tenant, seqs in by_tenant.items():
            with tenant_session(uuid.UUID(tenant)) as session:
                rows = [publish(session, tenant, "ingested", {"t": time.time(), "seq": i}) for i in seqs]
            published[tenant].extend(row.id for row in rows)
            transactions += 1
        sent = due
    elapsed = time.monotonic() - start
    results.put({"published": published, "elapsed": elapsed, "max_behind": behind, "transactions": transactions})


# orchestration ------------------------------------------------------------------------------------------------------
def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the API exited")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the API did not become ready")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Set everything up, run the load, tear everything down; returns the measurements."""
    db = f"autonomos_bench_events_{uuid.uuid4().hex[:8]}"
    admin_url = f"postgresql+psycopg2://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{db}"
    app_url = f"postgresql+psycopg2://autonomos_app@{PG_HOST}:{PG_PORT}/{db}"
    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="autonomos-bench-events-"))
    _admin(f'CREATE DATABASE "{db}"')
    try:
        upgrade(admin_url=admin_url, app_url=app_url)
        env = {
            "AUTONOMOS_DATABASE_URL": app_url,
            "AUTONOMOS_DATA_DIR": str(tmp / "data"),
            "AUTONOMOS_ENVIRONMENT": "test",
        }
        if not args.no_redis:
            redis_port = _free_port()
            redis_bin = shutil.which("redis-server") or "redis-server"
            procs.append(
                subprocess.Popen(
                    [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                    stdout=subprocess.DEVNULL,
                )
            )
            env["AUTONOMOS_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        api_port = _free_port()
        api = subprocess.Popen(
            [str(BIN / "uvicorn"), "autonomos_api.main:app", "--host", "127.0.0.1", "--port", str(api_port),
             "--log-level", "warning", "--no-access-log"],
            env={**os.environ, **env}, cwd=ROOT, stdout=(tmp / "api.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs.append(api)
        base = f"http://127.0.0.1:{api_port}"
        _wait_ready(f"{base}/health/ready", api)

        tenants: list[tuple[str, str]] = []
        with httpx.Client(base_url=base, timeout=30.0) as client:
            for i in range(args.tenants):
                email = f"bench-{i}-{uuid.uuid4().hex[:6]}@example.com"
                body = {"tenant_name": f"Bench {i}", "email": email, "password": PASSWORD}
                reg = client.post("/api/v1/auth/register", json=body)
                reg.raise_for_status()
                token = client.post("/api/v1/auth/login/json", json={"email": email, "password": PASSWORD})
                token.raise_for_status()
                tenants.append((reg.json()["tenant"]["id"], token.json()["access_token"]))

        ctx = mp.get_context("spawn")
        stop, results = ctx.Event(), ctx.Queue()
        subs = [tenants[i % len(tenants)] for i in range(args.subscribers)]
        groups = [subs[k :: args.clients] for k in range(args.clients)]
        readies = [ctx.Event() for _ in groups]
        clients = [
            ctx.Process(target=_client_process, args=(base, group, ready, stop, results))
            for group, ready in zip(groups, readies, strict=True)
        ]
        for p in clients:
            p.start()
        deadline = time.monotonic() + 60
        for ready in readies:
            if not ready.wait(max(0.1, deadline - time.monotonic())):
                raise RuntimeError("the subscribers did not all connect")
        print(f"{args.subscribers} subscribers connected; publishing {args.rate:.0f} events/s for {args.seconds}s")

        tenant_ids = [t for t, _ in tenants]
        pub_results = ctx.Queue()
        publishers = [
            ctx.Process(
                target=_publisher_process,
                args=(env, tenant_ids[k :: args.publishers], args.rate / args.publishers, args.seconds, pub_results),
            )
            for k in range(args.publishers)
        ]
        started = time.monotonic()
        for p in publishers:
            p.start()
        pubs = [pub_results.get(timeout=args.seconds * 3 + 60) for _ in publishers]
        publish_seconds = time.monotonic() - started
        time.sleep(args.drain)
        stop.set()
        outs = [o for _ in clients for o in results.get(timeout=60)]
        for p in [*clients, *publishers]:
            p.join(timeout=10)

        published: dict[str, list[int]] = {}
        for pub in pubs:
            published.update(pub["published"])
        latencies = [lat for o in outs for lat in o["latencies"]]
        lost = duplicates = out_of_order = 0
        for o in outs:
            expected = set(published[o["tenant"]])
            got = [i for i in o["ids"] if i in expected]
            lost += len(expected - set(got))
            duplicates += len(got) - len(set(got))
            out_of_order += sum(1 for a, b in itertools.pairwise(got) if b <= a)
        delivered = len(latencies)
        total_published = sum(len(v) for v in published.values())
        return {
            "mode": "journal" if args.no_redis else "redis",
            "subscribers": args.subscribers,
            "tenants": args.tenants,
            "target_rate": args.rate,
            "published": total_published,
            "publish_rate": round(total_published / max(p["elapsed"] for p in pubs), 1),
            "publisher_max_behind_ms": round(max(p["max_behind"] for p in pubs) * 1000, 1),
            "publish_transactions": sum(p["transactions"] for p in pubs),
            "delivered": delivered,
            "expected_deliveries": sum(len(published[o["tenant"]]) for o in outs),
            "delivered_per_second": round(delivered / publish_seconds, 1),
            "latency_ms_p50": round(_percentile(latencies, 0.50) * 1000, 2),
            "latency_ms_p99": round(_percentile(latencies, 0.99) * 1000, 2),
            "latency_ms_max": round(max(latencies) * 1000, 2) if latencies else None,
            "latency_ms_mean": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
            "lost": lost,
            "duplicates": duplicates,
            "out_of_order": out_of_order,
        }
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    """Parse the options, run, print the result as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second, all tenants together")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4, help="subscriber processes")
    parser.add_argument("--publishers", type=int, default=1, help="publisher processes (tenants split between them)")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds to wait for stragglers after publishing")
    parser.add_argument("--no-redis", action="store_true", help="journal polling only (the embedded default)")
    result = run(parser.parse_args())
    print(json.dumps(result, indent=2))
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
