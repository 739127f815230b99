"""Shared benchmark helpers: peak memory from /proc, one fresh process per measured path, a throwaway PG database."""

from __future__ import annotations

import multiprocessing
import os
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg2

PG_HOST = os.environ.get("AUTONOMOS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("AUTONOMOS_TEST_PG_PORT", "5432"))
PG_SUPERUSER = os.environ.get("AUTONOMOS_TEST_PG_USER", "postgres")
APP_ROLE = "autonomos_app"

T = TypeVar("T")


def rss_mb(field: str = "VmHWM") -> float:
    """A memory figure of this process from /proc/self/status: VmHWM (peak, default) or VmRSS (now)."""
    match = re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark (VmHWM) to the current RSS, so a stage reports its own peak."""
    Path("/proc/self/clear_refs").write_text("5")


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """Run fn(*args) in a newly spawned interpreter (so its peak memory is its own) and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


@dataclass(frozen=True)
class PgDatabase:
    """A throwaway PostgreSQL database: superuser URL (migrations, baselines) and the platform's RLS app URL."""

    name: str

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the superuser (psycopg2 driver)."""
        return f"postgresql+psycopg2://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{self.name}"

    @property
    def app_url(self) -> str:
        """SQLAlchemy URL of the row-level-security role the platform connects as."""
        return f"postgresql+psycopg2://{APP_ROLE}@{PG_HOST}:{PG_PORT}/{self.name}"

    @property
    def dsn(self) -> str:
        """libpq DSN of the superuser (psycopg2, dlt)."""
        return f"postgresql://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{self.name}"

    def connect(self) -> Any:
        """A psycopg2 connection as the superuser."""
        return psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname=self.name)


@contextmanager
def temp_pg_database(prefix: str = "autonomos_bench") -> Iterator[PgDatabase]:
    """Create a database named <prefix>_<hex>, yield it, drop it (forcing out any session left) afterwards."""
    db = PgDatabase(f"{prefix}_{uuid.uuid4().hex[:10]}")
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname="postgres")
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE DATABASE "{db.name}"')
        yield db
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        admin.close()
