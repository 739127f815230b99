"""Benchmark: an accounts CSV from file to materialized_accounts in PostgreSQL, beside DuckDB->COPY and dlt."""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import PgDatabase, in_fresh_process, reset_peak_rss, rss_mb, temp_pg_database  # noqa: E402
from bench.ingest import generate_accounts  # noqa: E402

T = TypeVar("T")
ENTITY = "account"
PG_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}


@dataclass(frozen=True)
class Stage:
    """One timed stage of a path and the peak RSS the process reached during it."""

    name: str
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Measured:
    """One measured path: rows it loaded into PostgreSQL, wall time, peak RSS of its process, and its stages."""

    path: str
    rows: int
    seconds: float
    peak_mb: float
    stages: tuple[Stage, ...] = field(default=())
    quarantined: int = 0


class Stages:
    """Times stages, resetting the RSS high-water mark before each (optionally under cProfile)."""

    def __init__(self, profile: bool) -> None:
        self.profile = profile
        self.done: list[Stage] = []

    def run(self, name: str, fn: Callable[[], T]) -> T:
        """Run fn as the stage name and record its wall time and peak RSS."""
        reset_peak_rss()
        profiler = cProfile.Profile() if self.profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            return fn()
        finally:
            if profiler is not None:
                profiler.disable()
            self.done.append(Stage(name, time.perf_counter() - started, rss_mb("VmHWM")))
            if profiler is not None:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
                print(f"\n--- profile of stage {name!r} (by own time) ---\n{out.getvalue()}", flush=True)


def platform_path(db: PgDatabase, csv_dir: Path, work: Path, rows: int, profile: bool) -> Measured:
    """The platform: ingest -> first mapping (engine) -> canonicalize -> materialize, exactly the assets' calls."""
    os.environ["AUTONOMOS_DATA_DIR"] = str(work / "data")
    os.environ.pop("AUTONOMOS_REDIS_URL", None)
    from sqlalchemy import func, select

    from autonomos_pipeline.dcl.canonicalize import canonicalize_entity
    from autonomos_pipeline.dcl.ingest import ingest_connection
    from autonomos_pipeline.dcl.mapping import SentenceTransformerEmbedder
    from autonomos_pipeline.dcl.mappings import ensure_first_mapping, latest_schema
    from autonomos_pipeline.dcl.serve import materialize_entity
    from autonomos_pipeline.dcl.store import Connection, MaterializedAccount, Tenant, get_engine, tenant_session
    from autonomos_pipeline.dcl.warehouse import open_warehouse

    engine = get_engine(db.app_url)
    tid, cid = uuid.uuid4(), uuid.uuid4()
    tenant = str(tid)
    with tenant_session(tid, engine) as s:
        s.add(Tenant(id=tid, name="Bench", slug=f"bench-{tid.hex[:8]}", created_at=datetime.now(UTC)))
    with tenant_session(tid, engine) as s:
        s.add(Connection(id=cid, tenant_id=tid, name="files", type="filesource", config={"path": str(csv_dir)}))
    with tenant_session(tid, engine) as s:
        connection = s.get_one(Connection, cid)

    stages = Stages(profile)
    stages.run("embedding model load (cold, once per process)", lambda: SentenceTransformerEmbedder().encode(["x"]))
    con = open_warehouse(work / f"tenant_{tid}.duckdb")
    try:
        report = stages.run(
            "ingest (FileSource → DuckDB raw)",
            lambda: ingest_connection(tenant_id=tenant, connection=connection, engine=engine, con=con),
        )
        if report.error or report.rows != rows:
            raise RuntimeError(f"ingest read {report.rows} of {rows} rows: {report.error}")
        stream = report.streams[0].stream

        def first_mapping() -> None:
            with tenant_session(tid, engine) as s:
                schema = latest_schema(s, cid, stream)
            assert schema is not None
            outcome = ensure_first_mapping(engine, tenant, cid, stream, schema)
            if outcome.version is None:
                raise RuntimeError(f"the engine proposed instead of applying a first mapping: {outcome}")

        stages.run("first mapping (mapping engine, warm model)", first_mapping)
        results = stages.run(
            "canonicalize (DuckDB, normalisers)", lambda: canonicalize_entity(con, engine, tenant, ENTITY)
        )
        canonical = sum(r.canonical for r in results)
        quarantined = sum(r.quarantined for r in results)
        if canonical + quarantined != rows:
            raise RuntimeError(f"read {rows} != {canonical} canonical + {quarantined} quarantined")
        stages.run(
            "materialize (bulk load into the connection's own partition; upserts once it has rows)",
            lambda: materialize_entity(con, engine, tenant, ENTITY, {str(cid): "filesource"}),
        )
    finally:
        con.close()
    with tenant_session(tid, engine) as s:
        served = s.scalar(select(func.count()).select_from(MaterializedAccount)) or 0
    if served != canonical:
        raise RuntimeError(f"materialized_accounts holds {served} of {canonical} canonical rows")
    pipeline = stages.done[1:]
    return Measured(
        "platform: ingest → first mapping → canonicalize → materialize",
        rows,
        sum(s.seconds for s in pipeline),
        max(s.peak_mb for s in stages.done),
        tuple(stages.done),
        quarantined,
    )


def _drain(con: Any, sql: str, errors: list[BaseException]) -> None:
    try:
        con.execute(sql)
    except BaseException as exc:  # re-raised by the caller, which waits for this thread
        errors.append(exc)


def ceiling_path(db: PgDatabase, csv_path: Path, work: Path, rows: int, run: int = 1) -> Measured:
    """The ceiling: DuckDB's parallel read_csv -> its CSV writer -> a FIFO -> psycopg2 COPY into a keyed table."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    columns = con.execute("DESCRIBE SELECT * FROM read_csv(?)", [str(csv_path)]).fetchall()
    ddl = ", ".join(f'"{name}" {PG_TYPES.get(kind, "text")}' for name, kind, *_ in columns)
    fifo = work / f"ceiling_{run}.fifo"
    os.mkfifo(fifo)
    errors: list[BaseException] = []
    writer = threading.Thread(
        target=_drain,
        args=(con, f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{fifo}' (FORMAT csv, HEADER false)", errors),
    )
    pg = db.connect()
    try:
        cur = pg.cursor()
        cur.execute(f'CREATE TABLE ceiling_accounts_{run} ({ddl}, PRIMARY KEY ("Id"))')
        writer.start()
        with fifo.open("rb") as stream:
            cur.copy_expert(f"COPY ceiling_accounts_{run} FROM STDIN WITH (FORMAT csv)", stream, size=1 << 20)
        writer.join()
        if errors:
            raise errors[0]
        pg.commit()
        elapsed = time.perf_counter() - started
        cur.execute(f"SELECT count(*) FROM ceiling_accounts_{run}")
        loaded = cur.fetchone()[0]
    finally:
        pg.close()
        con.close()
    if loaded != rows:
        raise RuntimeError(f"ceiling loaded {loaded} of {rows} rows")
    return Measured("ceiling: DuckDB read_csv → CSV over a FIFO → COPY (table keyed on Id)", loaded, elapsed, rss_mb())


def dlt_path(db: PgDatabase, csv_path: Path, work: Path, rows: int, run: int = 1) -> Measured:
    """dlt: a resource yielding pyarrow CSV record batches, merged on Id into PostgreSQL (dlt's default format)."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["RUNTIME__LOG_LEVEL"] = "ERROR"  # one schema-hint warning per record batch otherwise
    import dlt
    import pyarrow.csv as pacsv

    @dlt.resource(name="accounts", write_disposition="merge", primary_key="Id")
    def accounts() -> Any:
        with pacsv.open_csv(csv_path) as reader:
            yield from reader

    # dlt insists on a password; the local server trusts its clients, so any value (or $PGPASSWORD) will do
    credentials = db.dsn.replace("@", f":{os.environ.get('PGPASSWORD', 'trust')}@", 1)
    started = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_accounts_{run}",
        destination=dlt.destinations.postgres(credentials=credentials),
        dataset_name=f"dlt_bench_{run}",
        pipelines_dir=str(work / f"dlt_{run}"),
    )
    pipeline.run(accounts())
    elapsed = time.perf_counter() - started
    pg = db.connect()
    try:
        cur = pg.cursor()
        cur.execute(f"SELECT count(*) FROM dlt_bench_{run}.accounts")
        loaded = cur.fetchone()[0]
    finally:
        pg.close()
    if loaded != rows:
        raise RuntimeError(f"dlt loaded {loaded} of {rows} rows")
    return Measured(f"dlt {dlt.__version__}: pyarrow CSV batches → postgres, merge on Id", loaded, elapsed, rss_mb())


def csv_file(work: Path, rows: int) -> Path:
    """Generate rows accounts in their own folder (one FileSource connection reads that folder)."""
    folder = work / f"files_{rows}"
    folder.mkdir()
    path = folder / "accounts.csv"
    in_fresh_process(generate_accounts, path, rows)  # its memory never counts below
    return path


def results_table(results: list[Measured], ceiling: Measured | None) -> str:
    """A markdown table of the paths, each with its slowdown against the ceiling."""
    lines = ["| path | rows | wall s | rows/s | peak RSS MB | vs ceiling |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        versus = f"{r.seconds / ceiling.seconds:.1f}x" if ceiling else "-"
        split = f" ({r.rows - r.quarantined:,} served + {r.quarantined:,} quarantined)" if r.quarantined else ""
        rate = f"{r.rows / r.seconds:,.0f}"
        lines.append(f"| {r.path} | {r.rows:,}{split} | {r.seconds:.1f} | {rate} | {r.peak_mb:,.0f} | {versus} |")
    return "\n".join(lines)


def stages_table(runs: list[Measured]) -> str:
    """The platform's stages side by side for each input size: seconds and the peak RSS reached in the stage."""
    head = " | ".join(f"{r.rows:,} rows: s | peak MB" for r in runs)
    lines = [f"| stage | {head} |", "|---|" + "---:|---:|" * len(runs)]
    for i, stage in enumerate(runs[0].stages):
        cells = " | ".join(f"{r.stages[i].seconds:.1f} | {r.stages[i].peak_mb:,.0f}" for r in runs)
        lines.append(f"| {stage.name} | {cells} |")
    totals = " | ".join(f"**{r.seconds:.1f}** | **{r.peak_mb:,.0f}**" for r in runs)
    lines.append(f"| **total without the model load** | {totals} |")
    return "\n".join(lines)


def _settle(db: PgDatabase) -> None:
    """Before a path: vacuum and analyze what earlier paths loaded, then flush the server's dirty pages and the
    machine's (dlt leaves its load files behind), so that no path pays for the autovacuum, checkpoint or writeback
    of the one before it."""
    pg = db.connect()
    try:
        pg.autocommit = True
        cur = pg.cursor()
        cur.execute("VACUUM (ANALYZE)")
        cur.execute("CHECKPOINT")
    finally:
        pg.close()
    os.sync()


def _median(runs: list[Measured]) -> Measured:
    """The run with the median wall time (the lower middle one of an even count)."""
    return sorted(runs, key=lambda r: r.seconds)[(len(runs) - 1) // 2]


def main() -> None:
    """Generate the CSVs, measure each path in its own process against one throwaway database, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="accounts in the main run (default 1,000,000)")
    parser.add_argument("--skip-dlt", action="store_true", help="do not run the dlt baseline")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary of each platform stage")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each path at the main size; the median is shown")
    args = parser.parse_args()

    from autonomos_pipeline.dcl.store import upgrade

    work = Path(tempfile.mkdtemp(prefix="autonomos-bench-pipeline-"))
    try:
        with temp_pg_database() as db:
            upgrade(admin_url=db.admin_url, app_url=db.app_url)
            sizes = sorted({max(1, args.rows // 4), args.rows})
            started = time.perf_counter()
            csvs = {n: csv_file(work, n) for n in sizes}
            main_csv = csvs[args.rows]
            main_dir = main_csv.parent
            size_mb = main_csv.stat().st_size / 1e6
            print(f"generated {', '.join(f'{n:,}' for n in sizes)} rows in {time.perf_counter() - started:.0f} s")
            paths: dict[str, Callable[[int], Measured]] = {
                "platform": lambda _: in_fresh_process(platform_path, db, main_dir, work, args.rows, args.profile),
                "ceiling": lambda run: in_fresh_process(ceiling_path, db, main_csv, work, args.rows, run),
            }
            if not args.skip_dlt:
                paths["dlt"] = lambda run: in_fresh_process(dlt_path, db, main_csv, work, args.rows, run)
            small = []
            for n in sizes[:-1]:
                _settle(db)
                small.append(in_fresh_process(platform_path, db, csvs[n].parent, work, n, args.profile))
                print(f"platform {n:,} rows: {small[-1].seconds:.1f} s", flush=True)
            measured: dict[str, list[Measured]] = {name: [] for name in paths}
            orders = list(itertools.permutations(paths))  # platform first, then after dlt, then after the ceiling
            for run in range(1, args.repeat + 1):  # the paths take turns, so a slow spell of the machine hits each,
                for name in orders[(run - 1) % len(orders)]:  # in another order each round
                    _settle(db)
                    measured[name].append(paths[name](run))
                    print(f"{name} {args.rows:,} rows, run {run}: {measured[name][-1].seconds:.1f} s", flush=True)
            pg = db.connect()
            version = pg.server_version
            pg.close()
        print(
            f"\n{args.rows:,} rows, {size_mb:.0f} MB CSV, {os.cpu_count()} CPUs, PostgreSQL {version // 10000}."
            f"{version % 10000}, each path in its own process"
            + (f", median of {args.repeat} runs each" if args.repeat > 1 else "")
            + "\n"
        )
        results = [_median(measured[name]) for name in paths]
        print(results_table(results, results[1]))
        if args.repeat > 1:
            spread = ", ".join(
                f"{name} {min(r.seconds for r in runs):.1f}-{max(r.seconds for r in runs):.1f} s"
                for name, runs in measured.items()
            )
            print(f"\nRange over the runs: {spread}")
        print("\nPlatform stages (the embedding model loads once per process; the total leaves it out)\n")
        print(stages_table([*small, results[0]]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
