"""Connections: CRUD, write-only encrypted secrets, config validation, check / discover, Dagster partitions."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select

from autonomos_api.core.credentials import decrypt_secrets
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import Connection, tenant_session
from tests.utils.api import Account, register

URL = "/api/v1/aam/connections"
SECRETS = {"client_secret": "s3cr3t-client-value", "password": "hunter2-password", "security_token": "tok-xyz-123"}
SALESFORCE = {
    "name": "crm",
    "type": "salesforce",
    "config": {"client_id": "client-1", "username": "ops@acme.example", "login_url": "https://127.0.0.1:1"},
    "secrets": SECRETS,
}


def _stored(admin: Account, connection_id: str) -> Connection:
    with tenant_session(admin.tenant_id) as session:
        return session.scalars(select(Connection).where(Connection.id == uuid.UUID(connection_id))).one()


def test_secrets_are_write_only_and_encrypted(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin = register(client)
    created = client.post(URL, json=SALESFORCE, headers=admin.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_secrets"] is True and body["config"]["client_id"] == "client-1"
    listing = client.get(URL, headers=admin.headers)
    single = client.get(f"{URL}/{body['id']}", headers=admin.headers)
    stored = _stored(admin, body["id"])
    seen = (created.text, listing.text, single.text, str(stored.config), stored.secrets_encrypted or "", caplog.text)
    for text in seen:
        for value in SECRETS.values():
            assert value not in text
    assert decrypt_secrets(get_settings(), stored.secrets_encrypted) == SECRETS


def test_credentials_must_go_in_secrets(client: TestClient) -> None:
    admin = register(client)
    leaky = {**SALESFORCE, "config": {**SALESFORCE["config"], "password": "in-the-clear"}}  # type: ignore[dict-item]
    resp = client.post(URL, json=leaky, headers=admin.headers)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["config.password"]
    stray = client.post(URL, json={**SALESFORCE, "secrets": {"colour": "blue"}}, headers=admin.headers)
    assert [e["field"] for e in stray.json()["errors"]] == ["secrets.colour"]


def test_invalid_config_names_the_field(client: TestClient) -> None:
    admin = register(client)
    config = {k: v for k, v in SALESFORCE["config"].items() if k != "client_id"}  # type: ignore[attr-defined]
    resp = client.post(URL, json={**SALESFORCE, "config": config}, headers=admin.headers)
    assert resp.status_code == 422
    assert "config.client_id" in [e["field"] for e in resp.json()["errors"]]
    unknown = client.post(URL, json={"name": "x", "type": "ftp", "config": {}}, headers=admin.headers)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "type"


@pytest.mark.parametrize("path", ["/etc", "../elsewhere", "sub/../../../"])
def test_file_connections_stay_inside_the_tenant_folder(client: TestClient, path: str) -> None:
    admin = register(client)
    resp = client.post(URL, json={"name": "f", "type": "filesource", "config": {"path": path}}, headers=admin.headers)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "config.path"


def test_update_merges_secrets_and_replaces_config(client: TestClient) -> None:
    admin = register(client)
    cid = client.post(URL, json=SALESFORCE, headers=admin.headers).json()["id"]
    resp = client.patch(
        f"{URL}/{cid}",
        json={
            "name": "crm-eu",
            "config": {**SALESFORCE["config"], "api_version": "v62.0"},  # type: ignore[dict-item]
            "secrets": {"password": "new-password-1", "security_token": None},
            "refresh_interval_minutes": 15,
        },
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "crm-eu" and resp.json()["config"]["api_version"] == "v62.0"
    assert resp.json()["refresh_interval_minutes"] == 15
    stored = _stored(admin, cid)
    assert decrypt_secrets(get_settings(), stored.secrets_encrypted) == {
        "client_secret": SECRETS["client_secret"],
        "password": "new-password-1",
    }


def test_names_are_unique_per_tenant_and_delete_removes(client: TestClient) -> None:
    admin = register(client)
    other = register(client)
    body = {"name": "files", "type": "filesource", "config": {"path": "files"}}
    cid = client.post(URL, json=body, headers=admin.headers).json()["id"]
    assert client.post(URL, json=body, headers=admin.headers).status_code == 409
    assert client.post(URL, json=body, headers=other.headers).status_code == 201
    assert client.delete(f"{URL}/{cid}", headers=admin.headers).status_code == 200
    assert client.get(f"{URL}/{cid}", headers=admin.headers).status_code == 404
    assert client.get(URL, headers=admin.headers).json()["total"] == 0


def test_check_and_discover_a_file_source(client: TestClient) -> None:
    admin = register(client)
    folder = get_settings().data_dir / "files" / str(admin.tenant_id) / "crm"
    folder.mkdir(parents=True)
    (folder / "accounts.csv").write_text("Id,Company,Employees\n1,Acme,10\n2,Globex,20\n")
    cid = client.post(
        URL, json={"name": "crm", "type": "filesource", "config": {"path": "crm"}}, headers=admin.headers
    ).json()["id"]
    check = client.post(f"{URL}/{cid}/check", headers=admin.headers)
    assert check.status_code == 200 and check.json()["ok"] is True
    discovered = client.post(f"{URL}/{cid}/discover", headers=admin.headers)
    assert discovered.status_code == 200
    (stream,) = discovered.json()["streams"]
    assert [f["name"] for f in stream["fields"]] == ["Id", "Company", "Employees"]
    assert len(stream["fingerprint"]) == 32


def test_check_reports_a_missing_folder(client: TestClient) -> None:
    admin = register(client)
    cid = client.post(
        URL, json={"name": "gone", "type": "filesource", "config": {"path": "gone"}}, headers=admin.headers
    ).json()["id"]
    check = client.post(f"{URL}/{cid}/check", headers=admin.headers)
    assert check.status_code == 200 and check.json()["ok"] is False and check.json()["reason"]


def test_an_unreachable_source_is_a_problem_without_secrets(client: TestClient) -> None:
    admin = register(client)
    secret_url = "postgresql://reader:pa55-w0rd-zz@127.0.0.1:1/crm"
    body = {"name": "db", "type": "supabase", "config": {"tables": ["accounts"]}, "secrets": {"url": secret_url}}
    cid = client.post(URL, json=body, headers=admin.headers).json()["id"]
    for action in ("check", "discover"):
        resp = client.post(f"{URL}/{cid}/{action}", headers=admin.headers)
        assert resp.status_code in (200, 422, 502), resp.text
        assert "pa55-w0rd-zz" not in resp.text
        if resp.status_code == 200:
            assert resp.json()["ok"] is False
        else:
            assert resp.headers["content-type"].startswith("application/problem+json")


def test_production_refuses_secrets_without_a_key(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTONOMOS_ENVIRONMENT", "production")
    monkeypatch.setenv("AUTONOMOS_JWT_SECRET", "a-production-secret-that-is-long-enough-0123456789")
    get_settings.cache_clear()
    admin = register(client)
    resp = client.post(URL, json=SALESFORCE, headers=admin.headers)
    assert resp.status_code == 503 and resp.json()["code"] == "credentials_key_unavailable"
    assert client.get(URL, headers=admin.headers).json()["total"] == 0

    key = Fernet.generate_key()
    monkeypatch.setenv("AUTONOMOS_CREDENTIALS_KEY", key.decode())
    get_settings.cache_clear()
    created = client.post(URL, json=SALESFORCE, headers=admin.headers)
    assert created.status_code == 201
    token = _stored(admin, created.json()["id"]).secrets_encrypted
    assert token is not None and Fernet(key).decrypt(token.encode())


def test_creating_a_connection_registers_the_tenant_partition(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    admin = register(client)
    body = {"name": "files", "type": "filesource", "config": {"path": "files"}}
    assert client.post(URL, json=body, headers=admin.headers).status_code == 201
    with DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions("tenants") == [str(admin.tenant_id)]
