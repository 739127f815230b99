"""Benchmark: drift-to-repaired latency (source file changed -> materialized rows correct) on the embedded defaults."""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
from sqlalchemy import Engine, func, select  # noqa: E402

from autonomos_pipeline.dcl.settings import get_settings  # noqa: E402
from autonomos_pipeline.dcl.store import (  # noqa: E402
    Connection,
    DriftEvent,
    MaterializedAccount,
    QuarantineRecord,
    Tenant,
    get_engine,
    reset_engines,
    tenant_session,
    upgrade,
)
from autonomos_pipeline.definitions import defs  # noqa: E402
from autonomos_pipeline.defs.mapping.sensors import drift_sensor  # noqa: E402
from autonomos_pipeline.defs.raw.assets import raw_filesource  # noqa: E402
from bench.ingest import INDUSTRIES, PLACES, SUFFIXES, WORDS  # noqa: E402

T = TypeVar("T")
SEED = 20_240_607
#: the shapes of tests/e2e/test_self_healing.py: V2 renames three columns, adds one, and sends employees as "1,200"
V1_HEADER = ["Id", "Account Name", "Website", "Industry", "AnnualRevenue", "NumberOfEmployees", "BillingCity"]
V2_HEADER = ["Id", "Account Name", "Company_Website__c", "Industry", "Annual_Revenue__c", "NumberOfEmployees",
             "Billing_City__c", "SLA__c"]  # fmt: skip
SLAS = ("Gold", "Silver", "Bronze")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
Truth = dict[str, tuple[str, str, Decimal, int, str]]


@dataclass(frozen=True)
class Account:
    """One generated account: its id and the values the serving table must end up with."""

    id: str
    name: str
    website: str
    industry: str
    revenue: int
    employees: int
    city: str


def accounts(rows: int) -> list[Account]:
    """Deterministic accounts; about a third have 1,000+ employees, so V2's "1,200" spelling matters."""
    rng = random.Random(SEED)
    out = []
    for i in range(rows):
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        out.append(
            Account(
                id=f"001{i:09X}",
                name=f"{a} {b} {rng.choice(SUFFIXES)}",
                website=f"{a.lower()}{b.lower()}{i}.com",
                industry=rng.choice(INDUSTRIES),
                revenue=rng.randrange(50, 50_000) * 1_000,
                employees=int(10 ** rng.uniform(0.5, 4.5)),
                city=rng.choice(PLACES)[0],
            )
        )
    return out


def v1_csv(rows: list[Account]) -> str:
    """The source file before the drift."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(V1_HEADER)
    writer.writerows([a.id, a.name, a.website, a.industry, a.revenue, a.employees, a.city] for a in rows)
    return buf.getvalue()


def v2_csv(rows: list[Account]) -> str:
    """The source file after the drift: three renames, one added column, employees as text with separators."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(V2_HEADER)
    writer.writerows(
        [a.id, a.name, a.website, a.industry, a.revenue, f"{a.employees:,}", a.city, SLAS[i % 3]]
        for i, a in enumerate(rows)
    )
    return buf.getvalue()


def truth(rows: list[Account]) -> Truth:
    """What materialized_accounts must serve: (name, website, annual_revenue, employee_count, billing_city)."""
    return {a.id: (a.name, a.website, Decimal(a.revenue), a.employees, a.city) for a in rows}


@dataclass(frozen=True)
class Repetition:
    """Seconds of each stage of one drift, from the file write to the verified serving table."""

    raw_refresh: float
    sensor_tick: float
    repair_job: float
    verify: float

    @property
    def total(self) -> float:
        """File changed -> rows verified."""
        return self.raw_refresh + self.sensor_tick + self.repair_job + self.verify


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """fn's result and its wall seconds."""
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def served(engine: Engine, tenant: uuid.UUID) -> Truth:
    """The tenant's live materialized accounts in the shape of the ground truth."""
    with tenant_session(tenant, engine) as s:
        rows = s.scalars(select(MaterializedAccount).where(MaterializedAccount.is_deleted.is_(False))).all()
    return {r.account_id: (r.name, r.website, r.annual_revenue, r.employee_count, r.billing_city) for r in rows}


def quarantined(engine: Engine, tenant: uuid.UUID) -> int:
    """Canonical rows of the tenant in quarantine (awaiting review or invalid): none once the repair is done."""
    with tenant_session(tenant, engine) as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(QuarantineRecord)
                .where(QuarantineRecord.entity.is_not(None), QuarantineRecord.status == "open")
            )
            or 0
        )


class DriftTenant:
    """One tenant with one FileSource connection, driven the way the daemon would (as tests/e2e's Loop does)."""

    def __init__(self, instance: dg.DagsterInstance, engine: Engine, folder: Path) -> None:
        self.instance, self.engine, self.folder = instance, engine, folder
        self.id = uuid.uuid4()
        with tenant_session(self.id, engine) as s:
            s.add(Tenant(id=self.id, name="Drift", slug=f"drift-{self.id.hex[:8]}", created_at=datetime.now(UTC)))
        with tenant_session(self.id, engine) as s:
            s.add(
                Connection(
                    id=uuid.uuid4(), tenant_id=self.id, name="crm-export", type="filesource",
                    config={"path": str(folder)},
                )
            )  # fmt: skip
        instance.add_dynamic_partitions("tenants", [str(self.id)])

    def materialize(self, assets: list[Any]) -> None:
        """Run assets for this tenant's partition on the instance."""
        result = dg.materialize(
            assets, partition_key=str(self.id), instance=self.instance, resources=defs.resources, run_config=QUIET
        )
        if not result.success:
            raise RuntimeError("a materialization failed")

    def drift_to_repaired(self, csv_text: str, expected: Truth, cursor: str | None) -> tuple[Repetition, str | None]:
        """Write the drifted file, then raw refresh -> drift_sensor tick -> repair_job -> verify; time each."""
        started = time.perf_counter()
        (self.folder / "accounts.csv").write_text(csv_text)
        self.materialize([raw_filesource])
        refresh = time.perf_counter() - started
        context = dg.build_sensor_context(instance=self.instance, cursor=cursor, resources=defs.resources)
        result, tick = timed(lambda: drift_sensor(context))
        assert isinstance(result, dg.SensorResult)
        requests = [r for r in result.run_requests or [] if r.partition_key == str(self.id)]
        if len(requests) != 1:
            raise RuntimeError(f"the sensor requested {len(requests)} repair runs for the tenant")
        job = defs.resolve_job_def("repair_job")
        run, repair = timed(
            lambda: job.execute_in_process(
                partition_key=str(self.id), instance=self.instance, tags=dict(requests[0].tags), run_config=QUIET
            )
        )
        if not run.success:
            raise RuntimeError("repair_job failed")
        rows, verify = timed(lambda: served(self.engine, self.id))
        if rows != expected:
            wrong = sorted(k for k in expected.keys() | rows.keys() if rows.get(k) != expected.get(k))
            raise RuntimeError(f"{len(wrong)} served rows differ from the ground truth, e.g. {wrong[:3]}")
        if quarantined(self.engine, self.id):
            raise RuntimeError("rows are still in quarantine after the repair")
        with tenant_session(self.id, self.engine) as s:
            status = s.scalar(select(DriftEvent.status))
        if status != "repaired":
            raise RuntimeError(f"the drift event is {status!r}, not repaired by itself")
        return Repetition(refresh, tick, repair, verify), result.cursor


def summary(reps: list[Repetition], rows: int, new_rows: int) -> str:
    """Markdown table: median and max of each stage and of the total."""
    stages: list[tuple[str, Callable[[Repetition], float]]] = [
        ("raw refresh run (file written → raw_filesource + drift check)", lambda r: r.raw_refresh),
        ("drift_sensor tick (evaluation)", lambda r: r.sensor_tick),
        ("repair_job run (re-map → re-canonicalize → re-materialize)", lambda r: r.repair_job),
        ("verify served rows = ground truth", lambda r: r.verify),
        ("**file changed → rows correct**", lambda r: r.total),
    ]
    lines = [
        f"{rows:,} rows before the drift, {rows + new_rows:,} after; {len(reps)} repetitions (each a fresh tenant); "
        f"{os.cpu_count()} CPUs",
        "",
        "| stage | median s | max s |",
        "|---|---:|---:|",
    ]
    for name, pick in stages:
        values = [pick(r) for r in reps]
        lines.append(f"| {name} | {statistics.median(values):.2f} | {max(values):.2f} |")
    return "\n".join(lines)


def main() -> None:
    """Materialize V1 for a fresh tenant, then time V2's way to a correct serving table, several times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3_000, help="accounts before the drift (default 3,000)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions, each on a fresh tenant (default 5)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="autonomos-bench-drift-"))
    for name in ("AUTONOMOS_DATABASE_URL", "AUTONOMOS_DATABASE_ADMIN_URL", "AUTONOMOS_REDIS_URL",
                 "AUTONOMOS_SLACK_WEBHOOK_URL", "AUTONOMOS_LLM_PROVIDER"):  # fmt: skip
        os.environ.pop(name, None)
    os.environ["AUTONOMOS_DATA_DIR"] = str(work / "data")
    os.environ["DAGSTER_HOME"] = str(work / "dagster_home")
    (work / "dagster_home").mkdir()
    get_settings.cache_clear()
    reset_engines()
    before = accounts(args.rows)
    after = before + accounts(args.rows + args.rows // 20)[args.rows :]  # 5% new accounts arrive with the drift
    try:
        upgrade()
        engine = get_engine()
        reps: list[Repetition] = []
        cursor: str | None = None
        with dg.instance_for_test(temp_dir=str(work / "dagster_home")) as instance:
            everything = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
            for i in range(args.reps):
                folder = work / f"files_{i}"
                folder.mkdir()
                (folder / "accounts.csv").write_text(v1_csv(before))
                tenant = DriftTenant(instance, engine, folder)
                tenant.materialize(everything)  # V1: first mapping, canonical, served
                if served(engine, tenant.id) != truth(before):
                    raise RuntimeError("V1 was not served correctly")
                # the ticks a daemon makes between drifts: they absorb earlier activations (not timed, not run)
                cursor = drift_sensor(
                    dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
                ).cursor
                rep, cursor = tenant.drift_to_repaired(v2_csv(after), truth(after), cursor)
                print(f"repetition {i + 1}: {rep.total:.2f} s", flush=True)
                reps.append(rep)
        print()
        print(summary(reps, len(before), len(after) - len(before)))
    finally:
        reset_engines()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
