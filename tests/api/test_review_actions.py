"""Review actions: approve (with overrides) and reject repairs, activate (roll back) versions, suggest for a file."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, table

from autonomos_api.services.suggest import MAX_UPLOAD_BYTES
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import (
    DriftEvent,
    EventJournal,
    MappingMemoryRow,
    RepairProposal,
    SchemaSnapshot,
    get_engine,
    tenant_session,
)
from schemas import SourceField, SourceSchema
from tests.utils.api import Account, add_review_rows, add_user, create_connection, register
from tests.utils.stores import Store

AAM = "/api/v1/aam"
CSV = b"Company Name,Web Site,Employees,Industry\nAcme GmbH,https://acme.example,120,Software\nGlobex,globex.io,35,Retail\n"


def _seed(client: TestClient) -> tuple[Account, dict[str, str]]:
    """A tenant with a pending proposal for stream m_accounts that maps m_id, m_name and Industry."""
    admin = register(client)
    connection = create_connection(client, admin)
    ids = add_review_rows(admin.tenant_id, connection["id"], "m")
    with tenant_session(admin.tenant_id) as s:
        proposal = s.get(RepairProposal, uuid.UUID(ids["repair"]))
        assert proposal is not None
        id_field = {"source_field": "m_id", "canonical_field": "account_id", "confidence": 0.99}
        proposal.proposed_fields = [id_field, *proposal.proposed_fields]
    return admin, {**ids, "connection": connection["id"]}


def _snapshot(tenant_id: uuid.UUID, connection_id: str, stream: str, names: list[str]) -> None:
    """The stream's latest schema, so an approval can teach the memory its fields."""
    schema = SourceSchema(stream=stream, fields=[SourceField(name=n, sample_values=["x"]) for n in names])
    with tenant_session(tenant_id) as s:
        s.add(
            SchemaSnapshot(
                tenant_id=tenant_id,
                connection_id=uuid.UUID(connection_id),
                stream=stream,
                fingerprint=schema.fingerprint,
                schema_json=schema.model_dump(mode="json"),
            )
        )


def test_member_approves_with_an_override_and_the_memory_learns(client: TestClient) -> None:
    admin, ids = _seed(client)
    member = add_user(client, admin, "member")
    _snapshot(admin.tenant_id, ids["connection"], "m_accounts", ["m_id", "m_name", "Industry"])
    resp = client.post(
        f"{AAM}/repairs/{ids['repair']}/approve", json={"overrides": {"Industry": None}}, headers=member.headers
    )
    assert resp.status_code == 200, resp.text
    version = resp.json()
    assert version["version"] == 2 and version["is_active"] and version["author"] == "person"
    assert version["created_by"] == str(member.user_id)
    assert [(f["source_field"], f["canonical_field"]) for f in version["fields"]] == [
        ("m_id", "account_id"),
        ("m_name", "name"),
    ]
    repair = client.get(f"{AAM}/repairs/{ids['repair']}", headers=member.headers).json()
    assert repair["status"] == "approved" and repair["decided_by"] == str(member.user_id)
    assert client.get(f"{AAM}/mappings/{ids['mapping']}", headers=member.headers).json()["is_active"] is False
    with tenant_session(admin.tenant_id) as s:
        assert s.get(DriftEvent, uuid.UUID(ids["drift_event"])).status == "resolved"  # type: ignore[union-attr]
        memory = s.execute(select(MappingMemoryRow.source_field, MappingMemoryRow.canonical_field)).all()
        learned = {source: canonical for source, canonical in memory}
        applied = s.scalars(select(EventJournal.payload).where(EventJournal.type == "repair_applied")).all()
    assert learned == {"m_id": "account_id", "m_name": "name", "Industry": None}
    assert applied and applied[-1]["overrides"] == {"Industry": None}

    again = client.post(f"{AAM}/repairs/{ids['repair']}/approve", headers=member.headers)
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    assert client.post(f"{AAM}/repairs/{ids['repair']}/reject", headers=member.headers).status_code == 409


def test_invalid_overrides_are_422_naming_the_field(client: TestClient) -> None:
    admin, ids = _seed(client)
    url = f"{AAM}/repairs/{ids['repair']}/approve"
    unknown = client.post(url, json={"overrides": {"nope": "name"}}, headers=admin.headers)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "overrides.nope"
    bad_target = client.post(url, json={"overrides": {"Industry": "stage"}}, headers=admin.headers)
    assert bad_target.status_code == 422
    assert bad_target.json()["errors"][0]["field"] == "overrides.Industry"
    assert "'stage' is not a canonical account field" in bad_target.json()["detail"]
    required = client.post(url, json={"overrides": {"m_name": None}}, headers=admin.headers)
    assert required.status_code == 422 and "required field(s) name" in required.json()["detail"]
    twice = client.post(url, json={"overrides": {"Industry": "name"}}, headers=admin.headers)
    assert twice.status_code == 422 and "same canonical field" in twice.json()["detail"]
    assert client.get(f"{AAM}/repairs/{ids['repair']}", headers=admin.headers).json()["status"] == "pending"


def test_reject_keeps_the_mapping_and_closes_the_drift(client: TestClient) -> None:
    admin, ids = _seed(client)
    resp = client.post(f"{AAM}/repairs/{ids['repair']}/reject", headers=admin.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "rejected" and resp.json()["decided_by"] == str(admin.user_id)
    assert client.get(f"{AAM}/mappings/{ids['mapping']}", headers=admin.headers).json()["is_active"] is True
    event = client.get(f"{AAM}/drift-events/{ids['drift_event']}", headers=admin.headers).json()
    assert event["status"] == "rejected"


def test_viewers_cannot_review_and_foreign_ids_are_404(client: TestClient) -> None:
    admin, ids = _seed(client)
    viewer = add_user(client, admin, "viewer")
    for path in (
        f"repairs/{ids['repair']}/approve",
        f"repairs/{ids['repair']}/reject",
        f"mappings/{ids['mapping']}/activate",
    ):
        resp = client.post(f"{AAM}/{path}", headers=viewer.headers)
        assert resp.status_code == 403 and resp.json()["code"] == "forbidden", path
    other = register(client, tenant_name="Other")
    for path in (
        f"repairs/{ids['repair']}/approve",
        f"repairs/{ids['repair']}/reject",
        f"mappings/{ids['mapping']}/activate",
    ):
        assert client.post(f"{AAM}/{path}", headers=other.headers).status_code == 404, path
    for path in (f"repairs/{uuid.uuid4()}/approve", f"mappings/{uuid.uuid4()}/activate"):
        assert client.post(f"{AAM}/{path}", headers=admin.headers).status_code == 404, path
    assert client.get(f"{AAM}/repairs/{ids['repair']}", headers=admin.headers).json()["status"] == "pending"


def test_activate_rolls_back_to_an_earlier_version(client: TestClient) -> None:
    admin, ids = _seed(client)
    member = add_user(client, admin, "member")
    approved = client.post(f"{AAM}/repairs/{ids['repair']}/approve", headers=member.headers).json()
    resp = client.post(f"{AAM}/mappings/{ids['mapping']}/activate", headers=member.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 1 and resp.json()["is_active"] is True
    assert client.get(f"{AAM}/mappings/{approved['id']}", headers=member.headers).json()["is_active"] is False
    active = client.get(f"{AAM}/mappings", params={"active": "true"}, headers=member.headers).json()
    assert [m["id"] for m in active["data"]] == [ids["mapping"]]


def _row_counts(store: Store) -> dict[str, int]:
    """Rows per table of the whole serving store (every tenant)."""
    with get_engine(store.admin_url).connect() as conn:
        names = inspect(conn).get_table_names()
        return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _parquet() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"Company Name": ["Acme GmbH", "Globex"], "Employees": [120, 35]}), buffer)
    return buffer.getvalue()


def test_suggest_reads_every_format_without_side_effects(client: TestClient, sqlite_store: Store) -> None:
    admin, ids = _seed(client)
    _snapshot(admin.tenant_id, ids["connection"], "m_accounts", ["m_id", "m_name", "Industry"])
    assert client.post(f"{AAM}/repairs/{ids['repair']}/approve", headers=admin.headers).status_code == 200
    viewer = add_user(client, admin, "viewer")
    records = [{"Company Name": "Acme GmbH", "Employees": 120}, {"Company Name": "Globex", "Employees": 35}]
    samples = {
        "accounts.csv": CSV,
        "accounts.json": json.dumps(records).encode(),
        "accounts.jsonl": "\n".join(json.dumps(r) for r in records).encode(),
        "accounts.parquet": _parquet(),
    }
    counts, files = _row_counts(sqlite_store), _files(get_settings().data_dir)
    for name, data in samples.items():
        resp = client.post(
            f"{AAM}/mappings/suggest", files={"file": (name, data)}, data={"entity": "account"}, headers=viewer.headers
        )
        assert resp.status_code == 200, (name, resp.text)
        body = resp.json()
        assert set(body) == {"entity", "fields", "coverage", "auto_threshold", "llm_calls", "llm_calls_saved"}
        by_source = {f["source_field"]: f for f in body["fields"]}
        assert by_source["Company Name"]["canonical_field"] == "name", name
        assert by_source["Company Name"]["decision"] in ("auto", "review")
        assert body["entity"] == "account" and body["llm_calls"] == 0
    assert _row_counts(sqlite_store) == counts, "suggest wrote to the serving store"
    assert _files(get_settings().data_dir) == files, "suggest wrote files"


def test_suggest_uses_the_tenants_memory(client: TestClient) -> None:
    admin, ids = _seed(client)
    _snapshot(admin.tenant_id, ids["connection"], "m_accounts", ["m_id", "m_name", "Industry"])
    client.post(f"{AAM}/repairs/{ids['repair']}/approve", headers=admin.headers)
    data = b"m_id,m_name,Industry\n1,Acme,Software\n"
    mine = client.post(
        f"{AAM}/mappings/suggest", files={"file": ("a.csv", data)}, data={"entity": "account"}, headers=admin.headers
    ).json()
    other = register(client, tenant_name="Other")
    theirs = client.post(
        f"{AAM}/mappings/suggest", files={"file": ("a.csv", data)}, data={"entity": "account"}, headers=other.headers
    ).json()
    assert mine["coverage"] == 1.0 and theirs["coverage"] == 0.0


def test_suggest_refuses_bad_files_with_a_message(client: TestClient) -> None:
    admin = register(client)

    def post(name: str, data: bytes, entity: str = "account") -> Any:
        return client.post(
            f"{AAM}/mappings/suggest", files={"file": (name, data)}, data={"entity": entity}, headers=admin.headers
        )

    broken = post("x.json", b'[{"a": 1}, {')
    assert broken.status_code == 422 and broken.json()["code"] == "unreadable_file"
    assert post("x.parquet", b"not parquet at all").status_code == 422
    assert post("x.csv", b"\xff\xfe\x00garbage\x00").status_code == 422
    empty = post("x.jsonl", b"")
    assert empty.status_code == 422 and empty.json()["code"] == "empty_file"
    unknown = post("x.xlsx", b"PK\x03\x04")
    assert unknown.status_code == 415 and ".csv" in unknown.json()["detail"]
    too_big = post("x.csv", b"a,b\n" + b"1,2\n" * (MAX_UPLOAD_BYTES // 4 + 1))
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
    wrong_entity = post("x.csv", CSV, entity="invoice")
    assert wrong_entity.status_code == 422 and wrong_entity.json()["errors"][0]["field"] == "entity"
    missing = client.post(f"{AAM}/mappings/suggest", data={"entity": "account"}, headers=admin.headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "file"
