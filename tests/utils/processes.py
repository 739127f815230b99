"""Real processes and throwaway databases for end-to-end tests: PostgreSQL databases, free ports, subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg2
import pytest

PG_HOST = os.environ.get("AUTONOMOS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("AUTONOMOS_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("AUTONOMOS_TEST_PG_USER", "postgres")
WORKSPACE_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def admin_sql(sql: str, dbname: str = "postgres") -> None:
    """Run one statement as the PostgreSQL superuser, outside a transaction."""
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """A fresh, uniquely named database, dropped afterwards; yields its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_url(dbname: str, user: str = PG_USER) -> str:
    """The SQLAlchemy URL of a database on the test server (psycopg2 driver)."""
    return f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{dbname}"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess in its own process group (it spawns code servers and run workers), stopped on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def wait_for_location(port: int, location: str, webserver: subprocess.Popen[bytes], deadline: float) -> None:
    """Block until the webserver answers GraphQL and has loaded the code location."""
    while time.monotonic() < deadline:
        assert webserver.poll() is None, "dagster-webserver exited"
        try:
            response = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": WORKSPACE_QUERY}, timeout=5)
            entries = response.json()["data"]["workspaceOrError"]["locationEntries"]
            if any(e["name"] == location and e["loadStatus"] == "LOADED" for e in entries):
                return
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the webserver did not load code location {location} in time")
