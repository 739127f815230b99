"""Exact totals cached in Redis per tenant data version: reused until the version changes, never across tenants."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from autonomos_pipeline.dcl.redis_client import get_redis
from autonomos_pipeline.dcl.store import MaterializedAccount, tenant_session
from autonomos_pipeline.dcl.view_cache import bump_data_version, data_version_key
from tests.utils.api import Account, add_rows, create_connection, register

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ACCOUNTS = "/api/v1/dcl/views/accounts"


def _tenant_with(client: TestClient, name: str, industries: list[str]) -> tuple[Account, str]:
    admin = register(client, name)
    connection = create_connection(client, admin)
    rows = [{"name": f"{name} {i}", "industry": industry} for i, industry in enumerate(industries)]
    add_rows(admin.tenant_id, connection["id"], "account", rows)
    return admin, connection["id"]


def _total(client: TestClient, who: Account, **params: str) -> int:
    resp = client.get(ACCOUNTS, params=params, headers=who.headers)
    assert resp.status_code == 200, resp.text
    total: int = resp.json()["total"]
    return total


def _hide_without_bump(tenant_id: uuid.UUID) -> None:
    """Delete-mark one row behind the API's back (a writer that breaks the contract: it does not bump)."""
    with tenant_session(tenant_id) as session:
        row = session.query(MaterializedAccount).filter_by(is_deleted=False, industry="Software").first()
        assert row is not None
        session.execute(update(MaterializedAccount).where(MaterializedAccount.id == row.id).values(is_deleted=True))


def test_a_cached_total_is_used_until_the_data_version_changes(cached_client: TestClient) -> None:
    admin, _ = _tenant_with(cached_client, "Cached", ["Software"] * 3 + ["Retail"] * 2)
    assert _total(cached_client, admin, industry="Software") == 3
    _hide_without_bump(admin.tenant_id)
    # another page of the same filter (the page cache has not seen it): rows are read, the total comes from the cache
    page = cached_client.get(ACCOUNTS, params={"industry": "Software", "limit": 10}, headers=admin.headers).json()
    assert (page["total"], len(page["data"])) == (3, 2), "total served from the cache of the unchanged version"
    assert _total(cached_client, admin, industry="Retail") == 2, "another filter is counted"

    bump_data_version(admin.tenant_id)
    assert _total(cached_client, admin, industry="Software") == 2
    assert _total(cached_client, admin) == 4


def test_served_rows_written_by_the_factories_bump_the_version(cached_client: TestClient) -> None:
    admin, connection = _tenant_with(cached_client, "Growing", ["Software"])
    assert _total(cached_client, admin, industry="Software") == 1
    add_rows(admin.tenant_id, connection, "account", [{"name": "More", "industry": "Software"}])
    assert _total(cached_client, admin, industry="Software") == 2


def test_deleting_a_connection_retires_the_cached_totals(cached_client: TestClient) -> None:
    admin, connection = _tenant_with(cached_client, "Leaving", ["Software"] * 2)
    assert _total(cached_client, admin, industry="Software") == 2
    resp = cached_client.delete(f"/api/v1/aam/connections/{connection}", headers=admin.headers)
    assert resp.status_code == 200, resp.text
    assert _total(cached_client, admin, industry="Software") == 0


def test_tenants_never_share_cached_totals(cached_client: TestClient) -> None:
    a, _ = _tenant_with(cached_client, "Tenant A", ["Software"] * 3)
    b, _ = _tenant_with(cached_client, "Tenant B", ["Software"])
    client = get_redis()
    assert client is not None
    client.set(data_version_key(b.tenant_id), client.get(data_version_key(a.tenant_id)) or "same")
    assert _total(cached_client, a, industry="Software") == 3
    assert _total(cached_client, b, industry="Software") == 1, "same filter and version string, other tenant"
    assert _total(cached_client, a, industry="Software") == 3
