"""Drift events, repair proposals, mapping versions and quarantine: filtered, paged, newest first."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.utils.api import add_review_rows, create_connection, register

AAM = "/api/v1/aam"


def test_review_lists_filter_by_connection_and_state(client: TestClient) -> None:
    admin = register(client)
    first = create_connection(client, admin, name="first")
    second = create_connection(client, admin, name="second")
    one = add_review_rows(admin.tenant_id, first["id"], "one")
    add_review_rows(admin.tenant_id, second["id"], "two")

    for resource in ("drift-events", "repairs", "mappings", "quarantine"):
        everything = client.get(f"{AAM}/{resource}", headers=admin.headers).json()
        assert everything["total"] == 2, resource
        scoped = client.get(f"{AAM}/{resource}", params={"connection_id": first["id"]}, headers=admin.headers).json()
        assert [r["connection_id"] for r in scoped["data"]] == [first["id"]], resource

    assert client.get(f"{AAM}/repairs", params={"status": "pending"}, headers=admin.headers).json()["total"] == 2
    assert client.get(f"{AAM}/repairs", params={"status": "approved"}, headers=admin.headers).json()["total"] == 0
    assert client.get(f"{AAM}/mappings", params={"active": "false"}, headers=admin.headers).json()["total"] == 0
    mapping = client.get(f"{AAM}/mappings/{one['mapping']}", headers=admin.headers).json()
    assert mapping["is_active"] is True and mapping["fields"][0]["canonical_field"] == "name"
    repair = client.get(f"{AAM}/repairs/{one['repair']}", headers=admin.headers).json()
    assert repair["drift_event_id"] == one["drift_event"] and repair["base_version_id"] == one["mapping"]
    record = client.get(f"{AAM}/quarantine/{one['quarantine']}", headers=admin.headers).json()
    assert record["raw"] == {"company": "one raw payload"} and record["reasons"][0]["reason"] == "missing"


def test_review_lists_page_newest_first(client: TestClient) -> None:
    admin = register(client)
    connection = create_connection(client, admin)
    for i in range(5):
        add_review_rows(admin.tenant_id, connection["id"], f"m{i}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{AAM}/drift-events", params=params, headers=admin.headers).json()
        assert page["total"] == 5
        seen += [r["detected_at"] for r in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
