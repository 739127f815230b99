"""Benchmark: latency and throughput of a filtered views page over 1,000,000 accounts, and of login.

It creates its own PostgreSQL database (dropped at the end), migrates it, starts uvicorn on 127.0.0.1 with PostgreSQL
and Redis, registers 11 tenants through the API, bulk-loads accounts with COPY as the owner, and drives the API from a
second process (an httpx async client) with a bounded number of requests.

Run: .venv/bin/python bench/api.py [--accounts 1000000] [--concurrency 200 8] [--requests 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
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
REDIS_URL = os.environ.get("AUTONOMOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "benchmark password 123"
INDUSTRIES = [
    "Software",
    "Retail",
    "Banking",
    "Insurance",
    "Healthcare",
    "Energy",
    "Logistics",
    "Media",
    "Telecom",
    "Manufacturing",
]
OWNERS = 1_000
COLUMNS = (
    "id, tenant_id, connection_id, source_system, source_record_id, mapping_version, ingested_at, materialized_at, "
    "is_deleted, created_at, updated_at, account_id, name, website, industry, employee_count, annual_revenue, "
    "billing_city, billing_country, owner_id"
)


def _sql(statement: str, dbname: str = "postgres") -> Any:
    """Run one statement as the superuser outside a transaction; returns the first row, if any."""
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchone() if cur.description else None
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rows(tenant: str, connection: str, start: int, count: int, rng: random.Random) -> io.StringIO:
    buf = io.StringIO()
    now = datetime.now(UTC)
    for i in range(start, start + count):
        updated = (now - timedelta(minutes=rng.randrange(0, 525_600))).isoformat()
        buf.write(
            f"{uuid.uuid4()}\t{tenant}\t{connection}\tfilesource\tA{i}\t1\t{now.isoformat()}\t{now.isoformat()}\tf\t"
            f"{updated}\t{updated}\tA{i}\tCompany {rng.randrange(10**9):09d} {i}\tc{i}.example\t"
            f"{INDUSTRIES[i % len(INDUSTRIES)]}\t{rng.randrange(1, 100_000)}\t{rng.randrange(10**6, 10**9)}.00\t"
            f"City {i % 500}\tUS\trep-{i % OWNERS}\n"
        )
    buf.seek(0)
    return buf


def bulk_load(admin_dsn: dict[str, Any], tenant: str, connection: str, count: int) -> float:
    """COPY count accounts of one tenant into materialized_accounts as the owner; returns seconds."""
    rng = random.Random(hash(tenant) & 0xFFFF)
    start = time.perf_counter()
    conn = psycopg2.connect(**admin_dsn)
    with conn, conn.cursor() as cur:
        for offset in range(0, count, 100_000):
            rows = _rows(tenant, connection, offset, min(100_000, count - offset), rng)
            cur.copy_expert(f"COPY materialized_accounts ({COLUMNS}) FROM STDIN", rows)
    conn.close()
    return time.perf_counter() - start


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("uvicorn exited during start-up")
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("uvicorn did not become ready")


def _register(base: str, name: str) -> dict[str, str]:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    body = {"tenant_name": name, "email": email, "password": PASSWORD}
    registered = httpx.post(f"{base}/api/v1/auth/register", json=body, timeout=30).raise_for_status().json()
    login = {"email": email, "password": PASSWORD}
    token = httpx.post(f"{base}/api/v1/auth/login/json", json=login, timeout=30).raise_for_status().json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    connection = {"name": "bench", "type": "filesource", "config": {"path": "bench"}}
    created = httpx.post(f"{base}/api/v1/aam/connections", json=connection, headers=headers, timeout=30)
    return {
        "tenant": registered["tenant"]["id"],
        "email": email,
        "token": token["access_token"],
        "connection": created.raise_for_status().json()["id"],
    }


def run_client(base: str, scenario: dict[str, Any]) -> dict[str, Any]:
    """Drive the API from a separate process and return its measurements."""
    proc = subprocess.run(
        [sys.executable, __file__, "--client", base, json.dumps(scenario)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


async def _load(base: str, scenario: dict[str, Any]) -> dict[str, Any]:
    """The load generator: a bounded number of requests at a fixed concurrency; latency per request."""
    concurrency, total = int(scenario["concurrency"]), int(scenario["requests"])
    warmup = int(scenario.get("warmup", 0))
    deadline = time.perf_counter() + float(scenario.get("max_seconds", 120))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total + warmup):
        queue.put_nowait(i)
    rng = random.Random(7)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                try:
                    if scenario["kind"] == "login":
                        resp = await client.post("/api/v1/auth/login/json", json=scenario["body"])
                    else:
                        params = {k: rng.choice(v) if isinstance(v, list) else v for k, v in scenario["params"].items()}
                        resp = await client.get(scenario["path"], params=params, headers=scenario["headers"])
                    status = str(resp.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - start
                if i >= warmup:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    if not latencies:
        return {"requests": 0, "statuses": statuses, "p50_ms": 0.0, "p99_ms": 0.0, "rps": 0.0}
    latencies.sort()
    return {
        "requests": len(latencies),
        "statuses": statuses,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000,
        "rps": len(latencies) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts in the measured tenant")
    parser.add_argument("--other-accounts", type=int, default=10_000, help="accounts in each of the 10 other tenants")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[200, 8], help="client connections (each run)")
    parser.add_argument("--requests", type=int, default=2_000, help="measured requests per views run (at most)")
    parser.add_argument("--max-seconds", type=float, default=120, help="a run stops issuing requests after this")
    parser.add_argument("--login-requests", type=int, default=200)
    parser.add_argument("--login-concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()

    dbname = f"autonomos_bench_{uuid.uuid4().hex[:10]}"
    _sql(f'CREATE DATABASE "{dbname}"')
    admin_url = f"postgresql+psycopg2://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{dbname}"
    app_url = f"postgresql+psycopg2://autonomos_app@{PG_HOST}:{PG_PORT}/{dbname}"
    admin_dsn = {"host": PG_HOST, "port": PG_PORT, "user": PG_SUPERUSER, "dbname": dbname}
    server: subprocess.Popen[bytes] | None = None
    try:
        upgrade(admin_url=admin_url, app_url=app_url)
        data_dir = tempfile.mkdtemp(prefix="autonomos_bench_")
        env = {
            **os.environ,
            "AUTONOMOS_DATABASE_URL": app_url,
            "AUTONOMOS_DATABASE_ADMIN_URL": admin_url,
            "AUTONOMOS_REDIS_URL": REDIS_URL,
            "AUTONOMOS_DATA_DIR": data_dir,
        }
        env.pop("DAGSTER_HOME", None)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "autonomos_api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        _wait_ready(base, server)

        big = _register(base, "Big tenant")
        others = [_register(base, f"Tenant {i}") for i in range(10)]
        load_seconds = bulk_load(admin_dsn, big["tenant"], big["connection"], args.accounts)
        for other in others:
            bulk_load(admin_dsn, other["tenant"], other["connection"], args.other_accounts)
        _sql("VACUUM ANALYZE materialized_accounts", dbname)
        (total_rows,) = _sql("SELECT count(*) FROM materialized_accounts", dbname)
        print(f"loaded {args.accounts:,} accounts for the measured tenant in {load_seconds:.1f} s (COPY); ", end="")
        print(f"{total_rows:,} accounts in {len(others) + 1} tenants")

        headers = {"Authorization": f"Bearer {big['token']}"}
        path = "/api/v1/dcl/views/accounts"
        scenarios = {
            "views: industry filter (~10% of 1M), limit 50, sort name": {
                "params": {"industry": INDUSTRIES, "limit": 50},
            },
            "views: owner filter (~0.1% of 1M), limit 50, sort -updated_at": {
                "params": {"owner_id": [f"rep-{i}" for i in range(OWNERS)], "limit": 50, "sort": "-updated_at"},
            },
        }
        results: list[tuple[str, int, dict[str, Any]]] = []
        for name, scenario in scenarios.items():
            for concurrency in args.concurrency:
                run = {
                    "kind": "views",
                    "path": path,
                    "headers": headers,
                    "concurrency": concurrency,
                    "requests": args.requests,
                    "warmup": min(200, 4 * concurrency),
                    "max_seconds": args.max_seconds,
                    **scenario,
                }
                results.append((name, concurrency, run_client(base, run)))
        login = {
            "kind": "login",
            "body": {"email": big["email"], "password": PASSWORD},
            "concurrency": args.login_concurrency,
            "requests": args.login_requests,
            "warmup": 10,
            "max_seconds": args.max_seconds,
        }
        results.append(("login (Argon2id verify)", args.login_concurrency, run_client(base, login)))
        print(f"\nuvicorn workers: {args.workers}, CPUs: {os.cpu_count()}, load average before: {os.getloadavg()}")
        print(f"{'scenario':<66} {'conc':>5} {'reqs':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}  statuses")
        for name, conc, r in results:
            print(
                f"{name:<66} {conc:>5} {r['requests']:>6} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['rps']:>8.1f}  "
                f"{r['statuses']}"
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        _sql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--client":
        print(json.dumps(asyncio.run(_load(sys.argv[2], json.loads(sys.argv[3])))))
    else:
        main()
