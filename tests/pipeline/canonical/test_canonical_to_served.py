"""From source files to materialized_<entity>: first mappings, quarantine, idempotence and tenant isolation."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select

from autonomos_pipeline.dcl.store import (
    EventJournal,
    MappingVersionRow,
    MaterializedAccount,
    MaterializedContact,
    QuarantineRecord,
    tenant_session,
)
from tests.utils.serving import run_assets
from tests.utils.stores import Store, make_connection, make_tenant

ACCOUNTS = (
    "Id,Account Name,Website,Industry,NumberOfEmployees,AnnualRevenue,BillingCity,BillingCountry,Phone\n"
    '001A,Acme Corp,https://www.acme.com/about,Manufacturing,1200,"$1,200,000.00",Boston,USA,(617) 555-0100\n'
    "001B,Globex,globex.io,Energy,85,950000,Berlin,Deutschland,030 1234567\n"
    "001C,Initech,initech.com,Software,40,not a number,Austin,United States,512-555-0199\n"
    "001D,,hooli.com,Software,10,1000,Palo Alto,US,650-555-0100\n"
)
CONTACTS = (
    "contact_id,first_name,last_name,email,title,mailing_city,mailing_country\n"
    "C1,Ada,Lovelace,ADA@Example.com,CTO,London,United Kingdom\n"
    "C2,Alan,Turing,alan@example.org,Scientist,Manchester,GB\n"
)


def _folder(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for fname, text in files.items():
        (folder / fname).write_text(text)
    return folder


def _check(result: dg.ExecuteInProcessResult, asset: str, check: str) -> bool:
    return next(
        e.passed for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == asset
        and e.check_name == check
    )  # fmt: skip


def _scenario(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    a = make_tenant(store, "Accounts")
    b = make_tenant(store, "Contacts")
    make_connection(store, a, config={"path": str(_folder(tmp_path, "a", {"accounts.csv": ACCOUNTS}))})
    make_connection(store, b, config={"path": str(_folder(tmp_path, "b", {"contacts.csv": CONTACTS}))})

    first = run_assets(store, data, a)
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    assert _check(first, "canonical_accounts", "reconciles")
    assert _check(first, "materialized_accounts", "no_rows_lost")
    assert run_assets(store, data, b).success

    with tenant_session(a, store.app_engine) as s:
        version = s.scalar(select(MappingVersionRow).where(MappingVersionRow.is_active.is_(True)))
        assert version is not None and version.author == "engine" and version.version == 1
        mapped = {m["source_field"]: m["canonical_field"] for m in version.fields}
        assert mapped["Account Name"] == "name" and mapped["Id"] == "account_id"
        assert mapped["AnnualRevenue"] == "annual_revenue"
        rows = {r.account_id: r for r in s.scalars(select(MaterializedAccount))}
        quarantined = s.scalars(select(QuarantineRecord).where(QuarantineRecord.entity == "account")).all()
        contacts_seen_by_a = s.scalar(select(func.count()).select_from(MaterializedContact))
        events = {e.type for e in s.scalars(select(EventJournal))}
    assert set(rows) == {"001A", "001B"}  # 001C has a bad revenue, 001D has no name
    acme = rows["001A"]
    assert (acme.website, acme.billing_country, str(acme.annual_revenue)) == ("acme.com", "US", "1200000.0000")
    assert acme.phone == "+16175550100" and acme.employee_count == 1200
    assert rows["001B"].billing_country == "DE" and rows["001B"].phone == "+49301234567"
    assert acme.source_system == "filesource" and acme.mapping_version == 1 and acme.ingested_at is not None
    reasons = {q.source_record_id: {r["reason"] for r in q.reasons} for q in quarantined}
    assert reasons["001C"] == {"invalid_money"} and reasons["001D"] == {"missing_required"}
    assert contacts_seen_by_a == 0
    assert {"ingested", "canonicalized", "materialized"} <= events

    with tenant_session(b, store.app_engine) as s:
        contacts = {c.contact_id: c for c in s.scalars(select(MaterializedContact))}
        accounts_seen_by_b = s.scalar(select(func.count()).select_from(MaterializedAccount))
    assert set(contacts) == {"C1", "C2"} and contacts["C1"].email == "ada@example.com"
    assert contacts["C1"].mailing_country == "GB" and accounts_seen_by_b == 0

    before = {r.account_id: r.materialized_at for r in rows.values()}
    again = run_assets(store, data, a)  # same input: nothing changes
    assert again.success
    with tenant_session(a, store.app_engine) as s:
        after = {r.account_id: r.materialized_at for r in s.scalars(select(MaterializedAccount))}
        assert s.scalar(select(func.count()).select_from(QuarantineRecord)) == 2
    assert after == before


def test_sqlite_default(sqlite_store: Store, tmp_path: Path) -> None:
    _scenario(sqlite_store, tmp_path)


@pytest.mark.postgres
def test_postgres_with_row_level_security(pg_store: Store, tmp_path: Path) -> None:
    _scenario(pg_store, tmp_path)
