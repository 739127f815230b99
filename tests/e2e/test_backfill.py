"""A backfill over three tenant partitions on the real code location: each tenant sees exactly its own rows."""

from __future__ import annotations

import os
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg2
import pytest
import yaml
from dagster import DagsterInstance
from dagster._core.execution.backfill import BulkActionStatus
from sqlalchemy import func, select

from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import (
    MaterializedAccount,
    MaterializedContact,
    MaterializedOpportunity,
    reset_engines,
    tenant_session,
    upgrade,
)
from tests.utils.processes import PG_HOST, PG_PORT, PG_USER, free_port, pg_database, pg_url, process, wait_for_location
from tests.utils.stores import Store, make_connection, make_tenant

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEADLINE_SECONDS = 420.0  # generous: the default-on sensors launch runs of their own that share the per-tenant queue
LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on PartitionSetNotFoundError { message }
  }
}"""
ASSETS = [
    "raw_filesource", "raw_supabase", "stream_mappings", "canonical_accounts", "canonical_opportunities",
    "canonical_contacts", "materialized_accounts", "materialized_opportunities", "materialized_contacts",
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.postgres
def test_backfill_over_three_tenants_with_different_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    with ExitStack() as stack:
        serving = stack.enter_context(pg_database("autonomos_bf_store"))
        dagster_db = stack.enter_context(pg_database("autonomos_bf_dagster"))
        source = stack.enter_context(pg_database("autonomos_bf_source"))
        store = Store(admin_url=pg_url(serving), app_url=pg_url(serving, "autonomos_app"))
        upgrade(admin_url=store.admin_url, app_url=store.app_url)
        data_dir = tmp_path / "data"
        monkeypatch.setenv("AUTONOMOS_DATABASE_URL", store.app_url)
        monkeypatch.setenv("AUTONOMOS_DATA_DIR", str(data_dir))
        get_settings.cache_clear()
        reset_engines()

        accounts, contacts = tmp_path / "accounts", tmp_path / "contacts"
        accounts.mkdir()
        contacts.mkdir()
        (accounts / "accounts.csv").write_text("Id,Account Name,Website\nA1,Acme,acme.com\nA2,Globex,globex.com\n")
        (contacts / "contacts.csv").write_text(
            "Contact ID,First Name,Last Name,Email\nC1,Ada,Lovelace,ada@example.com\nC2,Alan,Turing,alan@example.org\n"
            "C3,Grace,Hopper,grace@example.net\n"
        )
        src = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=source)
        with src, src.cursor() as cur:
            cur.execute(
                "CREATE TABLE opportunities (opportunity_id text primary key, opportunity_name text, amount numeric, "
                "stage text, updated_at timestamptz not null default now())"
            )
            cur.execute("INSERT INTO opportunities VALUES ('O1', 'Big deal', 1000, 'Proposal'), "
                        "('O2', 'Small deal', 10, 'Closed Won'), ('O3', 'Renewal', 500, 'Negotiation'), "
                        "('O4', 'Upsell', 250, 'Prospecting')")  # fmt: skip
        src.close()
        tenants = {name: make_tenant(store, name) for name in ("Files", "People", "Deals")}
        make_connection(store, tenants["Files"], config={"path": str(accounts)})
        make_connection(store, tenants["People"], config={"path": str(contacts)})
        make_connection(store, tenants["Deals"], name="db", type_="supabase", secrets={"url": pg_url(source)})

        home = tmp_path / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(yaml.safe_load((REPO / "dagster.yaml").read_text())))
        env = {**os.environ, "DAGSTER_HOME": str(home), "AUTONOMOS_DAGSTER_PG_URL": pg_url(dagster_db),
               "AUTONOMOS_DATABASE_URL": store.app_url, "AUTONOMOS_DATA_DIR": str(data_dir)}  # fmt: skip
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("AUTONOMOS_DAGSTER_PG_URL", pg_url(dagster_db))
        instance = stack.enter_context(DagsterInstance.get())
        instance.add_dynamic_partitions("tenants", [str(t) for t in tenants.values()])
        port = free_port()
        workspace = str(REPO / "workspace.yaml")
        webserver = stack.enter_context(
            process(
                [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", workspace],
                env,
                tmp_path / "webserver.log",
            )
        )
        stack.enter_context(
            process([str(BIN / "dagster-daemon"), "run", "-w", workspace], env, tmp_path / "daemon.log")
        )
        wait_for_location(port, "autonomos", webserver, deadline)

        params = {
            "partitionNames": [str(t) for t in tenants.values()],
            "assetSelection": [{"path": [name]} for name in ASSETS],
            "fromFailure": False,
        }
        answer = httpx.post(
            f"http://127.0.0.1:{port}/graphql", json={"query": LAUNCH, "variables": {"params": params}}, timeout=30
        ).json()["data"]["launchPartitionBackfill"]
        assert answer["__typename"] == "LaunchBackfillSuccess", answer
        backfill_id = answer["backfillId"]
        while time.monotonic() < deadline:
            backfill = instance.get_backfill(backfill_id)
            assert backfill is not None
            if backfill.status != BulkActionStatus.REQUESTED:
                break
            time.sleep(1.0)
        else:
            pytest.fail(f"the backfill did not finish in {DEADLINE_SECONDS:.0f} s; see {tmp_path}/daemon.log")
        assert backfill.status in (BulkActionStatus.COMPLETED, BulkActionStatus.COMPLETED_SUCCESS), backfill.status

        counts: dict[str, tuple[int, int, int]] = {}
        for name, tid in tenants.items():
            with tenant_session(tid, store.app_engine) as s:
                counts[name] = tuple(  # type: ignore[assignment]
                    s.scalar(select(func.count()).select_from(model)) or 0
                    for model in (MaterializedAccount, MaterializedContact, MaterializedOpportunity)
                )
        assert counts == {"Files": (2, 0, 0), "People": (0, 3, 0), "Deals": (0, 0, 4)}
        with tenant_session(tenants["People"], store.app_engine) as s:
            assert {c.email for c in s.scalars(select(MaterializedContact))} == {
                "ada@example.com", "alan@example.org", "grace@example.net"}  # fmt: skip
        assert uuid.UUID(str(tenants["Deals"]))
