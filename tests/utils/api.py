"""API test factories: tenants and users made through the real endpoints, and served rows written to the store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import (
    DriftEvent,
    MappingVersionRow,
    MaterializedAccount,
    MaterializedContact,
    MaterializedOpportunity,
    QuarantineRecord,
    RepairProposal,
    reset_engines,
    tenant_session,
)
from autonomos_pipeline.dcl.view_cache import bump_data_version

PASSWORD = "correct horse battery staple"


def point_api_at(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the application (and the factories here) use the serving store at url."""
    monkeypatch.setenv("AUTONOMOS_DATABASE_URL", url)
    get_settings.cache_clear()
    reset_engines()


@dataclass(frozen=True)
class Account:
    """A signed-in user: who it is and the headers that authenticate it."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of this user's token."""
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str = "user") -> str:
    """An e-mail no other test uses (users' e-mails are unique across tenants)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the OAuth2 form endpoint and return the token."""
    resp = client.post("/api/v1/auth/login", data={"username": email, "password": password})
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return token


def register(client: TestClient, tenant_name: str = "Acme", email: str | None = None) -> Account:
    """Register a tenant with its admin through the API and sign the admin in."""
    email = email or unique_email("admin")
    resp = client.post("/api/v1/auth/register", json={"tenant_name": tenant_name, "email": email, "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return Account(uuid.UUID(body["tenant"]["id"]), uuid.UUID(body["user"]["id"]), email, login(client, email))


def add_user(client: TestClient, admin: Account, role: str) -> Account:
    """Create a user of admin's tenant through the API and sign it in."""
    email = unique_email(role)
    resp = client.post(
        "/api/v1/users", json={"email": email, "password": PASSWORD, "role": role}, headers=admin.headers
    )
    assert resp.status_code == 201, resp.text
    return Account(admin.tenant_id, uuid.UUID(resp.json()["id"]), email, login(client, email))


def create_connection(client: TestClient, admin: Account, name: str = "files", **extra: Any) -> dict[str, Any]:
    """Create a filesource connection (a folder, relative to the tenant's file folder) through the API."""
    body = {"name": name, "type": "filesource", "config": {"path": name}, **extra}
    resp = client.post("/api/v1/aam/connections", json=body, headers=admin.headers)
    assert resp.status_code == 201, resp.text
    result: dict[str, Any] = resp.json()
    return result


_MODELS = {"account": MaterializedAccount, "opportunity": MaterializedOpportunity, "contact": MaterializedContact}
_REQUIRED = {
    "account": {"name": "Account"},
    "opportunity": {"name": "Deal"},
    "contact": {"last_name": "Person"},
}


def add_rows(
    tenant_id: uuid.UUID, connection_id: uuid.UUID | str, entity: str, rows: list[dict[str, Any]]
) -> list[str]:
    """Write served rows of one entity (as the pipeline's materialize step would) and return their ids."""
    model = _MODELS[entity]
    ids = []
    now = datetime.now(UTC)
    with tenant_session(tenant_id) as session:
        for fields in rows:
            row_id = uuid.uuid4()
            source_id = fields.pop(f"{entity}_id", f"{entity[:3]}-{row_id.hex[:12]}")
            session.add(
                model(
                    id=row_id,
                    tenant_id=tenant_id,
                    connection_id=uuid.UUID(str(connection_id)),
                    source_system="filesource",
                    source_record_id=source_id,
                    mapping_version=1,
                    ingested_at=now,
                    **{f"{entity}_id": source_id, **_REQUIRED[entity], **fields},
                )
            )
            ids.append(str(row_id))
    bump_data_version(tenant_id)  # committed: like the pipeline, retire the tenant's cached view totals
    return ids


def add_review_rows(tenant_id: uuid.UUID, connection_id: uuid.UUID | str, marker: str) -> dict[str, str]:
    """One active mapping version, drift event, repair proposal and quarantined record; returns their ids."""
    cid = uuid.UUID(str(connection_id))
    fields = [
        {"source_field": f"{marker}_name", "canonical_field": "name", "normaliser": "text", "confidence": 0.97},
        {"source_field": "Industry", "canonical_field": "industry", "normaliser": None, "confidence": 0.81},
    ]
    with tenant_session(tenant_id) as session:
        mapping = MappingVersionRow(
            tenant_id=tenant_id,
            connection_id=cid,
            stream=f"{marker}_accounts",
            entity="account",
            version=1,
            fingerprint="f" * 32,
            fields=fields,
            author="engine",
            confidence=0.89,
            is_active=True,
        )
        drift = DriftEvent(
            tenant_id=tenant_id,
            connection_id=cid,
            stream=f"{marker}_accounts",
            from_fingerprint="f" * 32,
            to_fingerprint="e" * 32,
            severity="breaking",
            changes=[{"kind": "renamed", "from": f"{marker}_name", "to": "company"}],
        )
        session.add_all([mapping, drift])
        session.flush()
        repair = RepairProposal(
            tenant_id=tenant_id,
            drift_event_id=drift.id,
            connection_id=cid,
            stream=f"{marker}_accounts",
            entity="account",
            base_version_id=mapping.id,
            proposed_fields=fields,
            confidence=0.6,
        )
        quarantined = QuarantineRecord(
            tenant_id=tenant_id,
            connection_id=cid,
            stream=f"{marker}_accounts",
            entity="account",
            source_record_id=f"{marker}-rec-1",
            raw={"company": f"{marker} raw payload"},
            reasons=[{"field": "name", "reason": "missing"}],
        )
        session.add_all([repair, quarantined])
        session.flush()
        return {
            "mapping": str(mapping.id),
            "drift_event": str(drift.id),
            "repair": str(repair.id),
            "quarantine": str(quarantined.id),
        }
