"""Benchmark: a generated accounts CSV through FileSource into the tenant warehouse, beside DuckDB's own read_csv."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine

from autonomos_pipeline.dcl.ingest import ingest_connection
from autonomos_pipeline.dcl.store import Connection, Tenant, get_engine, tenant_session, upgrade

SEED = 20_240_601
WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Pied",
    "Piper",
    "Massive",
    "Dynamic",
    "Aperture",
    "Black",
    "Mesa",
    "Gringotts",
    "Oscorp",
    "Nakatomi",
    "Monarch",
    "Prestige",
    "Vehement",
    "Sirius",
    "Zorg",
    "Gekko",
    "Bluth",
    "Dunder",
    "Mifflin",
    "Sterling",
    "Cooper",
    "Ollivander",
    "Duff",
    "Krusty",
    "Spacely",
    "Cogswell",
    "Virtucon",
    "Wernham",
    "Hogg",
    "Abstergo",
)
SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "SA", "Corp", "Group", "Holdings", "& Co", "AG", "BV", "Partners")
TYPES = ("Customer - Direct", "Customer - Channel", "Prospect", "Partner", "Other")
INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Finance",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
)
PLACES = (
    ("San Francisco", "United States", "+1 415"),
    ("New York", "United States", "+1 212"),
    ("Chicago", "United States", "+1 312"),
    ("Toronto", "Canada", "+1 416"),
    ("London", "United Kingdom", "+44 20"),
    ("Manchester", "United Kingdom", "+44 161"),
    ("Berlin", "Germany", "+49 30"),
    ("München", "Germany", "+49 89"),
    ("Paris", "France", "+33 1"),
    ("Lyon", "France", "+33 4"),
    ("Madrid", "Spain", "+34 91"),
    ("São Paulo", "Brazil", "+55 11"),
    ("Zürich", "Switzerland", "+41 44"),
    ("Amsterdam", "Netherlands", "+31 20"),
    ("Sydney", "Australia", "+61 2"),
    ("Tokyo", "Japan", "+81 3"),
    ("Singapore", "Singapore", "+65"),
    ("Bengaluru", "India", "+91 80"),
)
STREETS = ("Market St", "Main Street", "Hauptstraße", "Rue de Rivoli", "King Street", "Calle Mayor", "Broadway")
EPOCH_2015 = 1_420_070_400


@dataclass(frozen=True)
class Result:
    """One measured path: rows it loaded, wall time and peak resident memory."""

    path: str
    rows: int
    seconds: float
    peak_rss_mb: float


def generate_accounts(path: Path, rows: int) -> None:
    """Write a deterministic Salesforce-style accounts export (every text value quoted, some holding commas)."""
    rng = np.random.default_rng(SEED)
    words = np.array(WORDS, dtype=object)
    first, second = words[rng.integers(0, len(WORDS), rows)], words[rng.integers(0, len(WORDS), rows)]
    suffix = np.array(SUFFIXES, dtype=object)[rng.integers(0, len(SUFFIXES), rows)]
    names = [
        f"{a} {b} {s}" if i % 7 else f"{a}, {b} {s}"
        for i, (a, b, s) in enumerate(zip(first, second, suffix, strict=True))
    ]
    place = rng.integers(0, len(PLACES), rows)
    numbers = rng.integers(0, 10_000_000, rows)
    street_no = rng.integers(1, 2_000, rows)
    street = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), rows)]
    created = rng.integers(EPOCH_2015, EPOCH_2015 + 10 * 365 * 86_400, rows)
    table = pa.table(
        {
            "Id": [f"001{i:012X}AAA" for i in range(rows)],
            "Account Name": names,
            "Type": np.array(TYPES, dtype=object)[rng.integers(0, len(TYPES), rows)],
            "Website": [
                f"www.{a.lower()}{b.lower()}-{i % 997}.com" for i, (a, b) in enumerate(zip(first, second, strict=True))
            ],
            "Industry": np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES), rows)],
            "Employees": rng.lognormal(4.0, 1.8, rows).astype(np.int64) + 1,
            "Annual Revenue": (rng.lognormal(15.0, 2.0, rows) // 1000 * 1000).astype(np.int64),
            "Phone": [
                f"{PLACES[p][2]} {n // 10_000:03d} {n % 10_000:04d}" for p, n in zip(place, numbers, strict=True)
            ],
            "Billing Street": [f"{n} {s}" for n, s in zip(street_no, street, strict=True)],
            "Billing City": [PLACES[p][0] for p in place],
            "Billing Country": [PLACES[p][1] for p in place],
            "Created Date": pc.strftime(pa.array(created, type=pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S.000Z"),
        }
    )
    pacsv.write_csv(table, path)


def _rss_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status: VmRSS (now) or VmHWM (peak)."""
    match = re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def _reset_peak_rss() -> None:
    """Reset the kernel's high-water mark so each path reports its own peak (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def measure(path: str, run: Callable[[], int]) -> Result:
    """Run one path, timing it and recording its own peak RSS."""
    _reset_peak_rss()
    started = time.perf_counter()
    rows = run()
    return Result(path, rows, time.perf_counter() - started, _rss_mb("VmHWM"))


@dataclass(frozen=True)
class TenantSetup:
    """A migrated SQLite serving store holding one tenant with one FileSource connection."""

    engine: Engine
    tenant_id: uuid.UUID
    connection: Connection


def setup_tenant(csv_dir: Path, work: Path) -> TenantSetup:
    """Migrate a serving store in work and register a tenant whose FileSource connection reads csv_dir."""
    url = f"sqlite:///{work / 'serving.db'}"
    upgrade(admin_url=url, app_url=url)
    engine = get_engine(url)
    tenant_id, connection_id = uuid.uuid4(), uuid.uuid4()
    with tenant_session(tenant_id, engine) as s:
        s.add(Tenant(id=tenant_id, name="Bench", slug=f"bench-{tenant_id.hex[:8]}", created_at=datetime.now(UTC)))
    with tenant_session(tenant_id, engine) as s:
        s.add(
            Connection(
                id=connection_id, tenant_id=tenant_id, name="files", type="filesource", config={"path": str(csv_dir)}
            )
        )
    with tenant_session(tenant_id, engine) as s:
        connection = s.get_one(Connection, connection_id)
    return TenantSetup(engine, tenant_id, connection)


def platform_ingest(setup: TenantSetup, work: Path) -> int:
    """FileSource into the tenant's DuckDB warehouse exactly as raw_filesource does it; returns rows written."""
    con = duckdb.connect(str(work / f"tenant_{setup.tenant_id}.duckdb"))
    try:
        report = ingest_connection(
            tenant_id=str(setup.tenant_id), connection=setup.connection, engine=setup.engine, con=con
        )
    finally:
        con.close()
    if report.error:
        raise RuntimeError(f"platform ingest failed: {report.error}")
    return report.rows


def duckdb_read_csv(csv_path: Path, work: Path) -> int:
    """The ceiling: DuckDB's read_csv of the same file into a table of a fresh DuckDB file."""
    con = duckdb.connect(str(work / "ceiling.duckdb"))
    try:
        con.execute("CREATE TABLE accounts AS SELECT * FROM read_csv(?)", [str(csv_path)])
        row = con.execute("SELECT count(*) FROM accounts").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def duckdb_json_payload(csv_path: Path, work: Path) -> int:
    """DuckDB alone writing the platform's storage shape: every row as text values in one JSON payload."""
    con = duckdb.connect(str(work / "payload.duckdb"))
    try:
        con.execute(
            "CREATE TABLE raw_records AS SELECT row_number() OVER () - 1 AS row_index, to_json(c) AS payload "
            "FROM read_csv(?, all_varchar = true) AS c",
            [str(csv_path)],
        )
        row = con.execute("SELECT count(*) FROM raw_records").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def report(results: list[Result], rows: int, size_mb: float) -> str:
    """A markdown table of the results, with each path's slowdown relative to the ceiling."""
    ceiling = next(r for r in results if r.path.startswith("DuckDB read_csv"))
    lines = [
        f"{rows:,} rows, {size_mb:.0f} MB CSV, {os.cpu_count()} CPUs",
        "",
        "| path | rows | wall s | rows/s | peak RSS MB | vs ceiling |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.path} | {r.rows:,} | {r.seconds:.2f} | {r.rows / r.seconds:,.0f} | {r.peak_rss_mb:,.0f} "
            f"| {r.seconds / ceiling.seconds:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    """Generate the CSV, measure each path in this process, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="accounts to generate (default 1,000,000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="autonomos-bench-"))
    os.environ["AUTONOMOS_DATA_DIR"] = str(work / "data")
    os.environ.pop("AUTONOMOS_REDIS_URL", None)
    csv_dir = work / "files"
    csv_dir.mkdir()
    csv_path = csv_dir / "accounts.csv"
    try:
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(generate_accounts, csv_path, args.rows).result()  # its memory never counts below
        size_mb = csv_path.stat().st_size / 1e6
        print(f"generated {csv_path} ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")
        tenant = setup_tenant(csv_dir, work)
        print(f"process RSS before measuring: {_rss_mb('VmRSS'):.0f} MB (peaks below include it)")
        results = [
            measure("FileSource → tenant warehouse (ingest_connection)", lambda: platform_ingest(tenant, work)),
            measure("DuckDB read_csv → table (ceiling)", lambda: duckdb_read_csv(csv_path, work)),
            measure("DuckDB read_csv → JSON payload table", lambda: duckdb_json_payload(csv_path, work)),
        ]
        print(report(results, args.rows, size_mb))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
