"""Canonical views: keyset pages cover every row once, filters and search narrow them, every read is journaled."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from autonomos_pipeline.dcl.store import EventJournal, MaterializedAccount, tenant_session
from tests.utils.api import Account, add_rows, create_connection, register

ACCOUNTS = "/api/v1/dcl/views/accounts"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _walk(client: TestClient, url: str, user: Account, **params: Any) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        resp = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, headers=user.headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        rows += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return rows, pages


def _accounts(client: TestClient) -> tuple[Account, list[str]]:
    admin = register(client)
    connection = create_connection(client, admin)
    rows = [
        {
            "name": f"Company {i:02d}",
            "industry": "Software" if i % 3 == 0 else "Retail",
            "owner_id": f"rep-{i % 2}",
            "updated_at": None if i % 7 == 0 else T0 + timedelta(days=i % 5),
        }
        for i in range(23)
    ]
    return admin, add_rows(admin.tenant_id, connection["id"], "account", rows)


def test_pages_cover_every_row_once_in_order(client: TestClient) -> None:
    admin, ids = _accounts(client)
    rows, pages = _walk(client, ACCOUNTS, admin, limit=5)
    assert pages == 5
    assert [r["id"] for r in rows] == [r["id"] for r in sorted(rows, key=lambda r: r["name"])]
    assert sorted(r["id"] for r in rows) == sorted(ids)

    newest, _ = _walk(client, ACCOUNTS, admin, limit=4, sort="-updated_at")
    assert sorted(r["id"] for r in newest) == sorted(ids)
    stamps = [r["updated_at"] for r in newest]
    dated = [s for s in stamps if s is not None]
    assert dated == sorted(dated, reverse=True)
    assert stamps[len(dated) :] == [None] * (len(stamps) - len(dated)), "rows without updated_at come last"

    oldest, _ = _walk(client, ACCOUNTS, admin, limit=3, sort="updated_at")
    assert [r["id"] for r in oldest[: len(dated)]] != [r["id"] for r in newest[: len(dated)]]
    assert sorted(r["id"] for r in oldest) == sorted(ids)


def test_total_is_exact_and_filters_combine(client: TestClient) -> None:
    admin, _ = _accounts(client)
    page = client.get(ACCOUNTS, params={"limit": 2, "industry": "Software"}, headers=admin.headers).json()
    assert page["total"] == 8 and len(page["data"]) == 2
    assert {r["industry"] for r in page["data"]} == {"Software"}
    both = client.get(ACCOUNTS, params={"industry": "Software", "owner_id": "rep-0"}, headers=admin.headers).json()
    assert both["total"] == 4
    since = client.get(
        ACCOUNTS, params={"updated_since": (T0 + timedelta(days=3)).isoformat()}, headers=admin.headers
    ).json()
    assert since["total"] == len([i for i in range(23) if i % 7 and i % 5 >= 3])
    assert all(r["updated_at"] >= "2026-01-04" for r in since["data"])


def test_text_search_is_case_insensitive_and_literal(client: TestClient) -> None:
    admin = register(client)
    connection = create_connection(client, admin)
    add_rows(
        admin.tenant_id,
        connection["id"],
        "contact",
        [
            {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.example"},
            {"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.example"},
            {"first_name": "Percent", "last_name": "100% Sure", "email": None},
        ],
    )
    contacts = "/api/v1/dcl/views/contacts"

    def search(q: str) -> list[str]:
        resp = client.get(contacts, params={"q": q}, headers=admin.headers)
        return sorted(r["last_name"] for r in resp.json()["data"])

    assert search("LOVE") == ["Lovelace"]
    assert search("NAVY.example") == ["Hopper"]
    assert search("gRaCe") == ["Hopper"]
    assert search("%") == ["100% Sure"]
    assert search("_") == []


def test_opportunity_filters(client: TestClient) -> None:
    admin = register(client)
    connection = create_connection(client, admin)
    add_rows(
        admin.tenant_id,
        connection["id"],
        "opportunity",
        [
            {"name": "Big deal", "stage": "Negotiation", "status": "open", "amount": "1000.50"},
            {"name": "Done deal", "stage": "Closed Won", "status": "won"},
            {"name": "Lost deal", "stage": "Closed Lost", "status": "lost"},
        ],
    )
    url = "/api/v1/dcl/views/opportunities"
    won = client.get(url, params={"status": "won"}, headers=admin.headers).json()
    assert [r["name"] for r in won["data"]] == ["Done deal"]
    stage = client.get(url, params={"stage": "Negotiation"}, headers=admin.headers).json()
    assert stage["data"][0]["amount"] == "1000.5000"
    bad = client.get(url, params={"status": "maybe"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.status"


def test_single_rows_and_lineage(client: TestClient) -> None:
    admin, ids = _accounts(client)
    resp = client.get(f"{ACCOUNTS}/{ids[0]}", headers=admin.headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["id"] == ids[0] and body["source_system"] == "filesource" and body["mapping_version"] == 1
    assert datetime.fromisoformat(body["ingested_at"]).utcoffset() == timedelta(0)
    assert client.get(f"{ACCOUNTS}/00000000-0000-0000-0000-000000000000", headers=admin.headers).status_code == 404


def test_deleted_rows_are_not_served(client: TestClient) -> None:
    admin, ids = _accounts(client)
    with tenant_session(admin.tenant_id) as session:
        session.scalars(
            select(MaterializedAccount).where(MaterializedAccount.id == uuid.UUID(ids[0]))
        ).one().is_deleted = True
    assert client.get(ACCOUNTS, headers=admin.headers).json()["total"] == 22
    assert client.get(f"{ACCOUNTS}/{ids[0]}", headers=admin.headers).status_code == 404


def _journaled(tenant_id: uuid.UUID, count: int, timeout: float = 10.0) -> list[EventJournal]:
    """The tenant's journal once it holds count events (reads journal their `viewed` event in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        with tenant_session(tenant_id) as session:
            events = list(session.scalars(select(EventJournal).order_by(EventJournal.id)))
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.02)


def test_each_read_publishes_a_viewed_event(client: TestClient) -> None:
    admin, ids = _accounts(client)
    client.get(ACCOUNTS, params={"industry": "Retail", "limit": 3}, headers=admin.headers)
    client.get(f"{ACCOUNTS}/{ids[1]}", headers=admin.headers)
    events = _journaled(admin.tenant_id, 2)
    assert [e.type for e in events] == ["viewed", "viewed"]
    assert events[0].payload == {
        "user_id": str(admin.user_id),
        "entity": "account",
        "rows": 3,
        "total": 15,
        "filters": {"industry": "Retail"},
    }
    assert events[1].payload["id"] == ids[1]


def test_bad_paging_parameters_name_the_field(client: TestClient) -> None:
    admin, _ = _accounts(client)
    too_many = client.get(ACCOUNTS, params={"limit": 501}, headers=admin.headers)
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "query.limit"
    bad_cursor = client.get(ACCOUNTS, params={"cursor": "not-a-cursor"}, headers=admin.headers)
    assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["field"] == "cursor"
    first = client.get(ACCOUNTS, params={"limit": 2}, headers=admin.headers).json()
    other_sort = client.get(ACCOUNTS, params={"cursor": first["next_cursor"], "sort": "-name"}, headers=admin.headers)
    assert other_sort.status_code == 422


@pytest.mark.postgres
def test_concurrent_reads_each_journal_their_own_event(pg_client: TestClient) -> None:
    admin, ids = _accounts(pg_client)
    other = register(pg_client, "Other")

    reads = [(admin, f"{ACCOUNTS}/{ids[i]}") for i in range(10)] + [(admin, ACCOUNTS)] * 20 + [(other, ACCOUNTS)] * 10

    def read(who_url: tuple[Account, str]) -> int:
        who, url = who_url
        return pg_client.get(url, headers=who.headers).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(read, reads))
    assert statuses == [200] * 40
    assert len(_journaled(admin.tenant_id, 30)) == 30
    others = _journaled(other.tenant_id, 10)
    assert len(others) == 10 and {e.payload["user_id"] for e in others} == {str(other.user_id)}
    time.sleep(0.2)
    assert len(_journaled(admin.tenant_id, 31, timeout=0)) == 30, "one event per read, no more"
