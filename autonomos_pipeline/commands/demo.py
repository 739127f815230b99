"""`autonomos demo seed|drift`: a demo tenant with sample sources through the real API, and a schema change to watch."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg2

from autonomos_pipeline.dcl.demo_data import write_demo_files, write_drifted_accounts
from autonomos_pipeline.dcl.settings import get_settings

DEMO_EMAIL = "demo@autonomos.example.com"
DEMO_PASSWORD = "autonomos-demo"  # noqa: S105 - the published login of the local demo tenant
DEMO_TENANT = "Demo Co"
DEMO_SOURCE_DB = "autonomos_demo_source"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `demo seed` and `demo drift`."""
    demo = subparsers.add_parser("demo", help="the demo tenant: seed it, then change its source schema")
    sub = demo.add_subparsers(dest="demo_command", required=True)
    seed = sub.add_parser("seed", help="create the demo tenant and sources through the API and materialize them")
    seed.add_argument("--api", default="http://127.0.0.1:8000", help="the running API")
    seed.set_defaults(func=run_seed)
    drift = sub.add_parser("drift", help="rename columns in the demo accounts file and re-read it")
    drift.set_defaults(func=run_drift)


def _state_path() -> Path:
    return get_settings().data_dir / "demo" / "state.json"


def _login(client: httpx.Client) -> dict[str, str]:
    """Register the demo tenant, or log in when it exists; returns the auth header."""
    resp = client.post(
        "/api/v1/auth/register",
        json={"tenant_name": DEMO_TENANT, "email": DEMO_EMAIL, "password": DEMO_PASSWORD, "full_name": "Demo Admin"},
    )
    if resp.status_code not in (201, 409, 400):
        resp.raise_for_status()
    token = client.post("/api/v1/auth/login/json", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _demo_source_url() -> str | None:
    """A PostgreSQL database holding a `deals` table, when the machine's PostgreSQL is reachable."""
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3)
    except psycopg2.OperationalError:
        return None
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DEMO_SOURCE_DB,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{DEMO_SOURCE_DB}"')
    admin.close()
    src = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=DEMO_SOURCE_DB)
    with src, src.cursor() as cur:
        cur.execute(
            """CREATE TABLE IF NOT EXISTS deals (
                 deal_id text PRIMARY KEY, deal_name text NOT NULL, account_ref text, deal_value numeric(14, 2),
                 currency_code text, pipeline_stage text, win_probability numeric(5, 2), expected_close date,
                 updated_at timestamptz NOT NULL DEFAULT now())"""
        )
        cur.execute(
            """INSERT INTO deals SELECT 'SB-' || g, 'Supabase deal ' || g, '001D' || lpad((g % 500)::text, 7, '0'),
                 (g * 137 % 90000) + 1000, 'EUR', (ARRAY['Discovery','Proposal','Closed Won'])[g % 3 + 1],
                 (g * 7 % 100), date '2025-01-01' + g, now()
               FROM generate_series(1, 200) g ON CONFLICT DO NOTHING"""
        )
    src.close()
    return f"postgresql://postgres@127.0.0.1:5432/{DEMO_SOURCE_DB}"


def _create(client: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> None:
    resp = client.post("/api/v1/aam/connections", headers=headers, json=body)
    if resp.status_code != 201:
        raise RuntimeError(f"creating connection {body['name']} failed: {resp.status_code} {resp.text}")


def seed(api: str) -> dict[str, Any]:
    """Create (or reuse) the demo tenant and its connections through the API, then materialize it."""
    from autonomos_pipeline.commands.materialize import materialize_tenant

    settings = get_settings()
    with httpx.Client(base_url=api, timeout=60.0) as client:
        print(f"[demo 1/4] signing in as {DEMO_EMAIL} (tenant {DEMO_TENANT!r})", flush=True)
        headers = _login(client)
        me = client.get("/api/v1/auth/me", headers=headers)
        me.raise_for_status()
        tenant_id = me.json()["tenant"]["id"]
        # a tenant's file connections may only read below <data_dir>/files/<tenant id>
        folder = (settings.data_dir / "files" / tenant_id / "demo").resolve()
        print(f"[demo 2/4] writing sample CRM exports to {folder}", flush=True)
        if not (folder / "accounts.csv").exists():
            print(f"           {write_demo_files(folder)}", flush=True)
        print("[demo 3/4] adding the demo connections", flush=True)
        existing = {c["name"] for c in client.get("/api/v1/aam/connections", headers=headers).json()["data"]}
        if "demo-files" not in existing:
            _create(client, headers, {"name": "demo-files", "type": "filesource", "config": {"path": "demo"}})
        url = _demo_source_url()
        if url and "demo-supabase" not in existing:
            _create(client, headers, {"name": "demo-supabase", "type": "supabase", "config": {"tables": ["deals"]},
                                      "secrets": {"url": url}})  # fmt: skip
        elif not url:
            print("           PostgreSQL is not reachable: the Supabase demo source is skipped", flush=True)
    state = {"tenant_id": tenant_id, "folder": str(folder)}
    state_file = _state_path()
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state))
    print(f"[demo 4/4] materializing tenant {tenant_id}", flush=True)
    if materialize_tenant(tenant_id) != 0:
        raise RuntimeError("the demo materialization failed: see the Dagster UI")
    return state


def run_seed(args: argparse.Namespace) -> int:
    """Seed the demo and print the login."""
    try:
        seed(args.api)
    except (httpx.HTTPError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    return 0


def run_drift(_args: argparse.Namespace) -> int:
    """Change the demo accounts file's schema and re-read it; the drift sensor repairs and re-materializes it."""
    from autonomos_pipeline.commands.materialize import materialize_tenant

    state_file = _state_path()
    if not state_file.exists():
        print("error: no demo tenant yet: run ./scripts/run.sh (or `autonomos demo seed`) first", file=sys.stderr)
        return 2
    state = json.loads(state_file.read_text())
    rows = write_drifted_accounts(Path(state["folder"]))
    print(f"[drift 1/2] accounts.csv now has Company_Website__c, Annual_Revenue__c, Billing_City__c, SLA__c and "
          f"{rows} rows", flush=True)  # fmt: skip
    print("[drift 2/2] re-reading the demo source (raw assets)", flush=True)
    code = materialize_tenant(str(uuid.UUID(state["tenant_id"])), layers=("raw",))
    print("Now watch drift_sensor launch repair_job in the Dagster UI (Automation, Runs), and the drift,")
    print("repair_applied and materialized events on GET /api/v1/events/stream.")
    return code
