"""raw_<connector> assets on a real Dagster instance: per-tenant warehouses, idempotent batches, quarantine, events."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from autonomos_pipeline.dcl.store import EventJournal, QuarantineRecord, SchemaSnapshot, tenant_session
from autonomos_pipeline.defs.raw.assets import raw_filesource, raw_supabase
from tests.utils.serving import run_assets
from tests.utils.stores import Store, make_connection, make_tenant

ACCOUNTS = "Id,Account Name,Website\n001,Acme,acme.com\n002,Globex,globex.com\n003,Initech,initech.com\n"


def _raw_rows(data_dir: Path, tenant: uuid.UUID) -> list[tuple[str, str]]:
    con = duckdb.connect(str(data_dir / "warehouse" / f"tenant_{tenant}.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT source_record_id, payload->>'Account Name' FROM raw_records ORDER BY 1, 2"
        ).fetchall()
        return [(str(a), str(b)) for a, b in rows]
    finally:
        con.close()


def test_filesource_lands_rows_once_and_rereads_a_changed_file(sqlite_store: Store, tmp_path: Path) -> None:
    files = tmp_path / "acme_files"
    files.mkdir()
    (files / "accounts.csv").write_text(ACCOUNTS)
    tenant = make_tenant(sqlite_store, "Acme")
    make_connection(sqlite_store, tenant, config={"path": str(files)})
    data_dir = tmp_path / "data"

    first = run_assets(sqlite_store, data_dir, tenant, [raw_filesource])
    assert first.success
    mat = first.asset_materializations_for_node("raw_filesource")[0]
    assert mat.metadata["rows"].value == 3
    assert len(_raw_rows(data_dir, tenant)) == 3
    checks = first.get_asset_check_evaluations()
    assert {c.check_name: c.passed for c in checks} == {"batches_complete": True, "schema_drift": True}

    again = run_assets(sqlite_store, data_dir, tenant, [raw_filesource])  # unchanged file: nothing new
    assert again.asset_materializations_for_node("raw_filesource")[0].metadata["rows"].value == 0
    assert len(_raw_rows(data_dir, tenant)) == 3

    (files / "accounts.csv").write_text(ACCOUNTS + "004,Umbrella,umbrella.com\n")
    changed = run_assets(sqlite_store, data_dir, tenant, [raw_filesource])
    assert changed.asset_materializations_for_node("raw_filesource")[0].metadata["rows"].value == 4
    assert ("004", "Umbrella") in _raw_rows(data_dir, tenant)

    with tenant_session(tenant, sqlite_store.app_engine) as s:
        events = s.scalars(select(EventJournal).where(EventJournal.type == "ingested")).all()
        snapshots = s.scalars(select(SchemaSnapshot)).all()
    assert [e.payload["rows"] for e in events] == [3, 0, 4]
    assert len(snapshots) == 1 and snapshots[0].stream == "accounts"


def test_malformed_lines_are_quarantined_with_line_numbers(sqlite_store: Store, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "accounts.csv").write_text(ACCOUNTS + "005,Broken,too,many,fields\n006,Hooli,hooli.com\n")
    tenant = make_tenant(sqlite_store, "Broken")
    make_connection(sqlite_store, tenant, config={"path": str(files)})
    result = run_assets(sqlite_store, tmp_path / "data", tenant, [raw_filesource])
    assert result.success
    metadata = result.asset_materializations_for_node("raw_filesource")[0].metadata
    assert metadata["rows"].value == 4 and metadata["quarantined"].value == 1
    with tenant_session(tenant, sqlite_store.app_engine) as s:
        (q,) = s.scalars(select(QuarantineRecord)).all()
    assert q.raw["line"] == 5 and "005,Broken" in q.raw["text"]
    assert q.reasons[0]["reason"] == "malformed_source_record"


def test_a_failing_connection_fails_only_its_tenant(sqlite_store: Store, tmp_path: Path) -> None:
    good_files = tmp_path / "good"
    good_files.mkdir()
    (good_files / "accounts.csv").write_text(ACCOUNTS)
    good = make_tenant(sqlite_store, "Good")
    bad = make_tenant(sqlite_store, "Bad")
    make_connection(sqlite_store, good, config={"path": str(good_files)})
    make_connection(sqlite_store, bad, config={"path": str(tmp_path / "missing")})
    data_dir = tmp_path / "data"
    failed = run_assets(sqlite_store, data_dir, bad, [raw_filesource])
    assert not failed.success
    assert "does not exist" in str(failed.all_events)
    ok = run_assets(sqlite_store, data_dir, good, [raw_filesource])
    assert ok.success and len(_raw_rows(data_dir, good)) == 3


@pytest.mark.postgres
def test_supabase_source_on_postgres_with_secrets(pg_store: Store, tmp_path: Path) -> None:
    import psycopg2

    from tests.conftest import PG_HOST, PG_PORT, PG_SUPERUSER

    source_db = f"autonomos_src_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{source_db}"')
    try:
        src = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname=source_db)
        with src, src.cursor() as cur:
            cur.execute(
                'CREATE TABLE accounts (id text primary key, "Account Name" text, updated_at timestamptz not null)'
            )
            cur.execute("INSERT INTO accounts SELECT 'A' || g, 'Company ' || g, now() FROM generate_series(1, 250) g")
        src.close()
        tenant = make_tenant(pg_store, "Supa")
        url = f"postgresql://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{source_db}"
        make_connection(pg_store, tenant, name="supa", type_="supabase", config={}, secrets={"url": url})
        result = run_assets(pg_store, tmp_path / "data", tenant, [raw_supabase])
        assert result.success, result.all_events
        assert result.asset_materializations_for_node("raw_supabase")[0].metadata["rows"].value == 250
        again = run_assets(pg_store, tmp_path / "data", tenant, [raw_supabase])
        assert again.asset_materializations_for_node("raw_supabase")[0].metadata["rows"].value == 0
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{source_db}" WITH (FORCE)')
        admin.close()


def test_transient_salesforce_outage_is_retried_and_recovers(sqlite_store: Store, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import tests.fakes.salesforce_server as sf
    from autonomos_pipeline.defs.raw.assets import raw_salesforce

    with sf.FakeSalesforce() as fake:
        for i in range(3):
            fake.add("Account", datetime(2024, 1, 1, tzinfo=UTC), Name=f"Account {i}")
        tenant = make_tenant(sqlite_store, "Retry")
        make_connection(
            sqlite_store,
            tenant,
            name="sf",
            type_="salesforce",
            config={"login_url": fake.url, "client_id": sf.CLIENT_ID, "username": sf.USERNAME,
                    "objects": ["Account"], "max_attempts": 1, "backoff_seconds": 0.001},
            secrets={"client_secret": sf.CLIENT_SECRET, "password": sf.PASSWORD,
                     "security_token": sf.SECURITY_TOKEN},
        )  # fmt: skip
        fake.fail_next(2, status=503)  # two attempts of the asset hit the outage, the third gets through
        result = run_assets(sqlite_store, tmp_path / "data", tenant, [raw_salesforce])
    assert result.success
    assert result.asset_materializations_for_node("raw_salesforce")[0].metadata["rows"].value == 3
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 2
