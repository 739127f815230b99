"""The self-healing loop on a PostgreSQL-backed Dagster instance: drift -> sensor -> repair job -> correct views."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
from sqlalchemy import func, select

from autonomos_pipeline.dcl.repair import approve_proposal, rollback
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import (
    DriftEvent,
    MappingMemoryRow,
    MappingVersionRow,
    MaterializedAccount,
    QuarantineRecord,
    RepairProposal,
    reset_engines,
    tenant_session,
)
from autonomos_pipeline.definitions import defs
from autonomos_pipeline.defs.mapping.sensors import drift_sensor
from autonomos_pipeline.defs.raw.assets import raw_filesource
from tests.conftest import PG_HOST, PG_PORT, PG_SUPERUSER
from tests.utils.stores import Store, make_connection, make_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

V1 = """Id,Account Name,Website,Industry,AnnualRevenue,NumberOfEmployees,BillingCity
001A,Acme Corp,acme.com,Manufacturing,1200000,1200,Boston
001B,Globex,globex.io,Energy,950000,85,Berlin
001C,Initech,initech.com,Software,300000,40,Austin
001D,Hooli,hooli.com,Software,7000000,900,Palo Alto
"""
# three renames (Website, AnnualRevenue, BillingCity), one added column (SLA__c), one type change (employees as text)
V2 = """Id,Account Name,Company_Website__c,Industry,Annual_Revenue__c,NumberOfEmployees,Billing_City__c,SLA__c
001A,Acme Corp,acme.com,Manufacturing,1200000,"1,200",Boston,Gold
001B,Globex,globex.io,Energy,950000,85,Berlin,Silver
001C,Initech,initech.com,Software,300000,40,Austin,Gold
001D,Hooli,hooli.com,Software,7000000,900,Palo Alto,Bronze
001E,Umbrella,umbrella.com,Pharma,5000000,"3,000",Raccoon City,Gold
"""
# an ambiguous rename: the city column becomes an anonymous text field
V2_AMBIGUOUS = """Id,Account Name,Website,Industry,AnnualRevenue,NumberOfEmployees,Text_Field_7
001A,Acme Corp,acme.com,Manufacturing,1200000,1200,Boston
001B,Globex,globex.io,Energy,950000,85,Berlin
001C,Initech,initech.com,Software,300000,40,Austin
001D,Hooli,hooli.com,Software,7000000,900,Palo Alto
001E,Umbrella,umbrella.com,Pharma,5000000,3000,Raccoon City
"""
TRUTH = {
    "001A": ("Acme Corp", "acme.com", Decimal("1200000"), 1200, "Boston"),
    "001B": ("Globex", "globex.io", Decimal("950000"), 85, "Berlin"),
    "001C": ("Initech", "initech.com", Decimal("300000"), 40, "Austin"),
    "001D": ("Hooli", "hooli.com", Decimal("7000000"), 900, "Palo Alto"),
}
TRUTH_V2 = {**TRUTH, "001E": ("Umbrella", "umbrella.com", Decimal("5000000"), 3000, "Raccoon City")}


@pytest.fixture
def dagster_pg_instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance whose run, event and schedule storage is a fresh PostgreSQL database."""
    name = f"autonomos_dagster_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        with dg.instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as instance:
            yield instance
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class Loop:
    """Drives one tenant through the platform the way the daemon would: assets, sensor ticks, sensor-launched runs."""

    def __init__(self, store: Store, instance: dg.DagsterInstance, tmp_path: Path, name: str) -> None:
        self.store, self.instance = store, instance
        self.tenant = make_tenant(store, name)
        self.folders: dict[uuid.UUID, Path] = {}
        self.cursor: str | None = None
        instance.add_dynamic_partitions("tenants", [str(self.tenant)])
        self.tmp_path = tmp_path

    def add_connection(self, name: str, csv_text: str) -> uuid.UUID:
        folder = self.tmp_path / f"{self.tenant.hex[:6]}-{name}"
        folder.mkdir()
        (folder / "accounts.csv").write_text(csv_text)
        cid = make_connection(self.store, self.tenant, name=name, config={"path": str(folder)})
        self.folders[cid] = folder
        return cid

    def write(self, cid: uuid.UUID, csv_text: str) -> None:
        (self.folders[cid] / "accounts.csv").write_text(csv_text)

    def materialize(self, selection: list[dg.AssetsDefinition] | None = None) -> dg.ExecuteInProcessResult:
        assets = selection or [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        result = dg.materialize(
            assets, partition_key=str(self.tenant), instance=self.instance, resources=defs.resources
        )
        assert result.success
        return result

    def follow_upstream(self) -> None:
        """What automation does after a raw refresh: canonical and materialized assets re-run."""
        names = {"canonical_accounts", "materialized_accounts"}
        self.materialize(
            [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) and a.key.path[-1] in names]
        )

    def tick(self) -> list[dg.RunRequest]:
        """One drift_sensor evaluation; every run it requests is executed on the instance."""
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources=defs.resources)
        result = drift_sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        job = defs.resolve_job_def("repair_job")
        for request in result.run_requests or []:
            run = job.execute_in_process(
                partition_key=request.partition_key, instance=self.instance, tags=dict(request.tags)
            )
            assert run.success
        return list(result.run_requests or [])

    def served(self) -> dict[str, tuple[Any, ...]]:
        with tenant_session(self.tenant, self.store.app_engine) as s:
            rows = s.scalars(select(MaterializedAccount).where(MaterializedAccount.is_deleted.is_(False))).all()
        return {r.account_id: (r.name, r.website, r.annual_revenue, r.employee_count, r.billing_city) for r in rows}

    def quarantined(self, reason: str) -> int:
        with tenant_session(self.tenant, self.store.app_engine) as s:
            rows = s.scalars(select(QuarantineRecord).where(QuarantineRecord.entity.is_not(None))).all()
        return sum(1 for q in rows if any(r["reason"] == reason for r in q.reasons))

    def reconciled(self) -> bool:
        result = self.materialize([a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)
                                   and a.key.path[-1] == "canonical_accounts"])  # fmt: skip
        return all(e.passed for e in result.get_asset_check_evaluations() if e.check_name == "reconciles")


@pytest.fixture
def loop(pg_store: Store, dagster_pg_instance: dg.DagsterInstance, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Loop:  # fmt: skip
    monkeypatch.setenv("AUTONOMOS_DATABASE_URL", pg_store.app_url)
    get_settings.cache_clear()
    reset_engines()
    return Loop(pg_store, dagster_pg_instance, tmp_path, f"Heal{uuid.uuid4().hex[:4]}")


def test_renames_added_column_and_type_change_repair_themselves(loop: Loop) -> None:
    cid = loop.add_connection("crm-export", V1)
    loop.materialize()
    assert loop.served() == TRUTH

    loop.write(cid, V2)
    raw = loop.materialize([raw_filesource])
    drift_check = next(e for e in raw.get_asset_check_evaluations() if e.check_name == "schema_drift")
    assert not drift_check.passed
    loop.follow_upstream()
    assert loop.served() == TRUTH  # nothing wrong was served while the drift waited
    assert loop.quarantined("awaiting_mapping_review") == 5

    requests = loop.tick()
    assert [r.partition_key for r in requests] == [str(loop.tenant)]
    assert loop.served() == TRUTH_V2
    with tenant_session(loop.tenant, loop.store.app_engine) as s:
        event = s.scalar(select(DriftEvent))
        version = s.scalar(select(MappingVersionRow).where(MappingVersionRow.is_active.is_(True)))
    assert event is not None and event.status == "repaired"
    kinds = sorted(c["kind"] for c in event.changes)
    assert kinds == ["added", "renamed", "renamed", "renamed", "type_changed"]
    assert version is not None and version.version == 2 and version.author == "engine"
    fields = {m["source_field"]: m["canonical_field"] for m in version.fields}
    assert fields["Annual_Revenue__c"] == "annual_revenue" and "SLA__c" not in fields
    assert loop.quarantined("awaiting_mapping_review") == 0
    assert loop.reconciled()
    assert loop.tick() == []  # the repair's own activation needs no second run


def test_ambiguous_drift_waits_for_review_and_approval_rematerializes(loop: Loop) -> None:
    first = loop.add_connection("crm-a", V1)
    second = loop.add_connection("crm-b", V1)
    loop.materialize()
    loop.write(first, V2_AMBIGUOUS)
    loop.materialize([raw_filesource])
    loop.tick()
    with tenant_session(loop.tenant, loop.store.app_engine) as s:
        proposal = s.scalar(select(RepairProposal).where(RepairProposal.status == "pending"))
    assert proposal is not None and proposal.connection_id == first
    assert loop.quarantined("awaiting_mapping_review") == 5
    assert loop.served() == TRUTH  # the stream keeps its last good mapping

    approve_proposal(loop.store.app_engine, str(loop.tenant), proposal.id, overrides={"Text_Field_7": "billing_city"})
    loop.tick()
    served = loop.served()
    assert {k: v for k, v in served.items() if k == "001E"} == {"001E": TRUTH_V2["001E"]}
    assert loop.quarantined("awaiting_mapping_review") == 0
    assert loop.reconciled()
    with tenant_session(loop.tenant, loop.store.app_engine) as s:
        learned = s.scalar(select(func.count()).select_from(MappingMemoryRow))
    assert learned and learned > 0

    loop.write(second, V2_AMBIGUOUS)  # the same drift in another connection now repairs itself
    loop.materialize([raw_filesource])
    loop.tick()
    with tenant_session(loop.tenant, loop.store.app_engine) as s:
        second_version = s.scalar(
            select(MappingVersionRow).where(
                MappingVersionRow.connection_id == second, MappingVersionRow.is_active.is_(True)
            )
        )
        pending = s.scalar(select(func.count()).select_from(RepairProposal).where(RepairProposal.status == "pending"))
    assert second_version is not None and second_version.author == "engine" and second_version.version == 2
    assert {m["source_field"]: m["canonical_field"] for m in second_version.fields}["Text_Field_7"] == "billing_city"
    assert pending == 0


def test_rollback_rematerializes_with_the_older_version(loop: Loop) -> None:
    cid = loop.add_connection("crm-export", V1)
    loop.materialize()
    loop.write(cid, V2)
    loop.materialize([raw_filesource])
    loop.tick()
    assert loop.served() == TRUTH_V2
    with tenant_session(loop.tenant, loop.store.app_engine) as s:
        v1 = s.scalar(select(MappingVersionRow).where(MappingVersionRow.version == 1))
    assert v1 is not None
    rollback(loop.store.app_engine, str(loop.tenant), v1.id)
    assert loop.tick()  # the activation launches a repair run
    served = loop.served()
    # version 1 knows the old names only: the renamed columns of the newest file are not read any more
    assert served["001E"] == ("Umbrella", None, None, 3000, None)
    with tenant_session(loop.tenant, loop.store.app_engine) as s:
        versions = set(s.scalars(select(MaterializedAccount.mapping_version)))
    assert versions == {1}
    assert loop.reconciled()
