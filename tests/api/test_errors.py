"""Every error is problem+json with a stable code; validation errors name the field and say why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.api import register


def _is_problem(resp: object, status: int, code: str) -> dict[str, object]:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    assert resp.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = resp.json()  # type: ignore[attr-defined]
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


def test_validation_errors_name_each_field(client: TestClient) -> None:
    admin = register(client)
    resp = client.post(
        "/api/v1/users", json={"email": "not-an-email", "password": "pw", "role": "owner"}, headers=admin.headers
    )
    body = _is_problem(resp, 422, "validation_error")
    errors = {e["field"]: e["message"] for e in body["errors"]}  # type: ignore[attr-defined]
    assert set(errors) == {"email", "password", "role"}
    assert "8" in errors["password"]


def test_malformed_json_and_wrong_methods(client: TestClient) -> None:
    admin = register(client)
    headers = {**admin.headers, "content-type": "application/json"}
    _is_problem(client.post("/api/v1/users", content=b"{not json", headers=headers), 422, "validation_error")
    _is_problem(client.put("/api/v1/users", headers=admin.headers), 405, "method_not_allowed")
    _is_problem(client.get("/api/v1/users/not-a-uuid", headers=admin.headers), 422, "validation_error")


@pytest.mark.postgres
def test_nul_characters_are_a_client_error_on_postgres(pg_client: TestClient) -> None:
    admin = register(pg_client)
    resp = pg_client.get("/api/v1/dcl/views/accounts", params={"q": "a\x00b"}, headers=admin.headers)
    _is_problem(resp, 422, "invalid_characters")
    login = pg_client.post("/api/v1/auth/login", data={"username": "a\x00b@example.com", "password": "x"})
    assert login.status_code in (401, 422)
