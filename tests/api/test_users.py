"""Admins manage the users of their tenant; roles are enforced on every action; deactivation is immediate."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.utils.api import PASSWORD, add_user, create_connection, register

USERS = "/api/v1/users"


def test_admin_creates_and_lists_users(client: TestClient) -> None:
    admin = register(client)
    member = add_user(client, admin, "member")
    viewer = add_user(client, admin, "viewer")
    listing = client.get(USERS, headers=admin.headers)
    assert listing.status_code == 200
    body = listing.json()
    assert body["total"] == 3
    assert {(u["email"], u["role"]) for u in body["data"]} == {
        (admin.email, "admin"),
        (member.email, "member"),
        (viewer.email, "viewer"),
    }
    assert "password" not in listing.text
    assert client.get(f"{USERS}/{member.user_id}", headers=admin.headers).json()["email"] == member.email


def test_creating_a_user_with_a_taken_email_conflicts(client: TestClient) -> None:
    admin = register(client)
    member = add_user(client, admin, "member")
    resp = client.post(USERS, json={"email": member.email, "password": PASSWORD}, headers=admin.headers)
    assert resp.status_code == 409


def test_roles_are_enforced(client: TestClient) -> None:
    admin = register(client)
    member = add_user(client, admin, "member")
    viewer = add_user(client, admin, "viewer")
    connection = create_connection(client, admin)
    check = f"/api/v1/aam/connections/{connection['id']}/check"
    new_connection = {"name": "more", "type": "filesource", "config": {"path": "more"}}

    assert client.get("/api/v1/dcl/views/accounts", headers=viewer.headers).status_code == 200
    assert client.get("/api/v1/aam/connections", headers=viewer.headers).status_code == 200
    refused = client.post(check, headers=viewer.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"

    assert client.post(check, headers=member.headers).status_code == 200
    assert client.post("/api/v1/aam/connections", json=new_connection, headers=member.headers).status_code == 403
    assert client.get(USERS, headers=member.headers).status_code == 403

    assert client.post("/api/v1/aam/connections", json=new_connection, headers=admin.headers).status_code == 201


def test_a_role_change_applies_to_existing_tokens(client: TestClient) -> None:
    admin = register(client)
    member = add_user(client, admin, "member")
    connection = create_connection(client, admin)
    check = f"/api/v1/aam/connections/{connection['id']}/check"
    assert client.post(check, headers=member.headers).status_code == 200
    client.patch(f"{USERS}/{member.user_id}", json={"role": "viewer"}, headers=admin.headers)
    assert client.post(check, headers=member.headers).status_code == 403


def test_deactivated_users_lose_access_at_once(client: TestClient) -> None:
    admin = register(client)
    member = add_user(client, admin, "member")
    resp = client.patch(f"{USERS}/{member.user_id}", json={"is_active": False}, headers=admin.headers)
    assert resp.status_code == 200 and resp.json()["is_active"] is False
    assert client.get("/api/v1/auth/me", headers=member.headers).status_code == 401
    login = client.post("/api/v1/auth/login", data={"username": member.email, "password": PASSWORD})
    assert login.status_code == 401 and login.json()["code"] == "account_disabled"
    client.patch(f"{USERS}/{member.user_id}", json={"is_active": True}, headers=admin.headers)
    assert client.post("/api/v1/auth/login", data={"username": member.email, "password": PASSWORD}).status_code == 200


def test_admins_cannot_lock_themselves_out(client: TestClient) -> None:
    admin = register(client)
    for change in ({"is_active": False}, {"role": "member"}):
        resp = client.patch(f"{USERS}/{admin.user_id}", json=change, headers=admin.headers)
        assert resp.status_code == 409
    assert client.get("/api/v1/auth/me", headers=admin.headers).json()["role"] == "admin"
