"""The mapping graph links source fields to canonical fields through the active mapping versions only."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from autonomos_pipeline.dcl.store import MappingVersionRow, tenant_session
from schemas.canonical import canonical_fields
from tests.utils.api import add_review_rows, create_connection, register

GRAPH = "/api/v1/dcl/graph"


def test_graph_of_the_active_mapping(client: TestClient) -> None:
    admin = register(client)
    connection = create_connection(client, admin, name="crm")
    idle = create_connection(client, admin, name="idle")
    ids = add_review_rows(admin.tenant_id, connection["id"], "crm")
    with tenant_session(admin.tenant_id) as session:
        session.add(
            MappingVersionRow(
                tenant_id=admin.tenant_id,
                connection_id=uuid.UUID(connection["id"]),
                stream="crm_accounts",
                entity="account",
                version=0,
                fingerprint="0" * 32,
                fields=[{"source_field": "OldName", "canonical_field": "name", "confidence": 0.5}],
                author="engine",
                confidence=0.5,
                is_active=False,
            )
        )
    resp = client.get(GRAPH, headers=admin.headers)
    assert resp.status_code == 200
    graph = resp.json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    cid = connection["id"]
    assert nodes[f"connection:{cid}"]["label"] == "crm"
    assert f"connection:{idle['id']}" in nodes
    assert {n["label"] for n in graph["nodes"] if n["kind"] == "canonical_field" and n["entity"] == "contact"} == set(
        canonical_fields("contact")
    )
    assert not any(n["label"] == "OldName" for n in graph["nodes"]), "inactive versions are not in the graph"
    mapped = {
        (e["source"], e["target"]): e
        for e in graph["edges"]
        if e["kind"] == "maps_to" and "source_field" in e["source"]
    }
    edge = mapped[(f"source_field:{cid}:crm_accounts:crm_name", "canonical_field:account.name")]
    assert edge["mapping_version"] == 1 and edge["mapping_id"] == ids["mapping"]
    assert edge["confidence"] == 0.97 and edge["normaliser"] == "text"
    assert (f"connection:{cid}", f"stream:{cid}:crm_accounts") in {(e["source"], e["target"]) for e in graph["edges"]}

    only_idle = client.get(GRAPH, params={"connection_id": idle["id"]}, headers=admin.headers).json()
    assert not [n for n in only_idle["nodes"] if n["kind"] in ("stream", "source_field")]
    assert [n["id"] for n in only_idle["nodes"] if n["kind"] == "connection"] == [f"connection:{idle['id']}"]
    with tenant_session(admin.tenant_id) as session:
        assert len(session.scalars(select(MappingVersionRow)).all()) == 2
