"""Mapping versions per (connection, stream): first mappings from the engine, proposals, activation and rollback."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from autonomos_pipeline.dcl.events import publish
from autonomos_pipeline.dcl.store import MappingVersionRow, RepairProposal, SchemaSnapshot, tenant_session
from schemas import FieldMapping, SourceSchema, required_fields
from schemas.normalize import DEFAULT_NORMALISER

log = logging.getLogger(__name__)

AWAITING_REVIEW = "awaiting mapping review"

_ENTITY_BY_NAME = {
    "account": ("account", "accounts", "company", "companies", "organization", "organizations", "organisation",
                "organisations", "customer", "customers", "firma", "firmen", "societe", "societes", "empresa",
                "empresas", "clients", "client"),
    "opportunity": ("opportunity", "opportunities", "deal", "deals", "pipeline", "sales", "oportunidades",
                    "opportunites", "chancen", "verkaufschancen"),
    "contact": ("contact", "contacts", "people", "person", "persons", "lead", "leads", "kontakte", "contactos",
                "personnes"),
}  # fmt: skip


def mapping_engine(engine: Engine | None = None, event_sink: Any = None) -> Any:
    """A pipeline mapping engine: memory in Pinecone when configured, else the serving store; the model loads once per
    process and the canonical fields' embeddings are kept under the data dir for later runs."""
    from autonomos_pipeline.dcl.llm import build_advisor
    from autonomos_pipeline.dcl.mapping import MappingEngine, SentenceTransformerEmbedder
    from autonomos_pipeline.dcl.memory_pinecone import PineconeMemory
    from autonomos_pipeline.dcl.memory_store import StoreMemory
    from autonomos_pipeline.dcl.settings import get_settings

    settings = get_settings()
    memory = PineconeMemory.from_settings(settings) or StoreMemory(
        engine, share_across_tenants=settings.share_memory_across_tenants
    )
    return MappingEngine(
        embedder=SentenceTransformerEmbedder(keep_constants=True),  # later runs read the canonical embeddings
        memory=memory,
        advisor=build_advisor(settings),
        event_sink=event_sink,
    )


def _event_sink(engine: Engine, tenant_id: str) -> Any:
    """Publish the engine's events (rag_coverage_check) to the tenant's journal."""

    def sink(type_: str, payload: dict[str, Any]) -> None:
        with tenant_session(tenant_id, engine) as s:
            publish(s, tenant_id, type_, payload)

    return sink


def entity_for_stream(stream: str) -> str | None:
    """The canonical entity a stream holds, from its name (accounts, Opportunity, hubspot_deals, ...)."""
    tokens = [t for t in re.split(r"[^a-z]+", stream.lower()) if t]
    for entity, names in _ENTITY_BY_NAME.items():
        if any(t in names for t in tokens):
            return entity
    return None


def field_mappings(
    mapping: dict[str, str],
    entity: str,
    confidences: dict[str, float],
    previous: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Validated field mappings (source -> canonical + its default normaliser) as stored JSON."""
    previous = previous or {}
    out = [
        FieldMapping(
            source_field=src,
            canonical_field=dst,
            normaliser=DEFAULT_NORMALISER.get((entity, dst)),
            confidence=round(confidences.get(src, 1.0), 5),
            previous_source_fields=previous.get(src, []),
        ).model_dump()
        for src, dst in mapping.items()
    ]
    targets = [m["canonical_field"] for m in out]
    if len(targets) != len(set(targets)):
        raise ValueError("a canonical field is mapped twice")
    return out


def active_version(session: Session, connection_id: uuid.UUID, stream: str) -> MappingVersionRow | None:
    """The active mapping version of a stream, if any."""
    return session.scalar(
        select(MappingVersionRow).where(
            MappingVersionRow.connection_id == connection_id,
            MappingVersionRow.stream == stream,
            MappingVersionRow.is_active.is_(True),
        )
    )


def create_version(
    session: Session,
    *,
    tenant_id: str,
    connection_id: uuid.UUID,
    stream: str,
    entity: str,
    fingerprint: str,
    fields: list[dict[str, Any]],
    author: str,
    confidence: float,
    created_by: uuid.UUID | None = None,
) -> MappingVersionRow:
    """Add an immutable new version and make it the only active one."""
    missing = [f for f in required_fields(entity) if f not in {m["canonical_field"] for m in fields}]
    if missing:
        raise ValueError(f"a mapping for {entity} must map the required field(s) {', '.join(missing)}")
    latest = session.scalar(
        select(func.max(MappingVersionRow.version)).where(
            MappingVersionRow.connection_id == connection_id, MappingVersionRow.stream == stream
        )
    )
    session.execute(
        update(MappingVersionRow)
        .where(MappingVersionRow.connection_id == connection_id, MappingVersionRow.stream == stream)
        .values(is_active=False)
    )
    session.flush()
    now = datetime.now(UTC)
    row = MappingVersionRow(
        tenant_id=uuid.UUID(tenant_id),
        connection_id=connection_id,
        stream=stream,
        entity=entity,
        version=(latest or 0) + 1,
        fingerprint=fingerprint,
        fields=fields,
        author=author,
        created_by=created_by,
        confidence=round(confidence, 5),
        is_active=True,
        created_at=now,
        activated_at=now,  # equal to created_at until a rollback re-activates it
    )
    session.add(row)
    session.flush()
    return row


def activate_version(session: Session, version_id: uuid.UUID) -> MappingVersionRow:
    """Make an existing version (e.g. an older one: rollback) the active one; raises LookupError if unknown."""
    row = session.get(MappingVersionRow, version_id)
    if row is None:
        raise LookupError(f"no mapping version {version_id}")
    session.execute(
        update(MappingVersionRow)
        .where(MappingVersionRow.connection_id == row.connection_id, MappingVersionRow.stream == row.stream)
        .values(is_active=False)
    )
    session.flush()
    row.is_active = True
    row.activated_at = datetime.now(UTC)
    session.flush()
    return row


def latest_schema(session: Session, connection_id: uuid.UUID, stream: str) -> SourceSchema | None:
    """The stream's most recent schema snapshot."""
    snap = session.scalar(
        select(SchemaSnapshot)
        .where(SchemaSnapshot.connection_id == connection_id, SchemaSnapshot.stream == stream)
        .order_by(SchemaSnapshot.captured_at.desc())
        .limit(1)
    )
    return SourceSchema.model_validate(snap.schema_json) if snap else None


@dataclass(frozen=True)
class FirstMapping:
    """What happened to a stream seen for the first time."""

    entity: str | None
    version: int | None
    proposal_id: uuid.UUID | None


def ensure_first_mapping(
    engine: Engine, tenant_id: str, connection_id: uuid.UUID, stream: str, schema: SourceSchema
) -> FirstMapping:
    """Give a never-mapped stream its first version: auto-applied when the engine is sure, else a proposal."""
    entity = entity_for_stream(stream)
    if entity is None:
        log.info("stream %s matches no canonical entity; it is not canonicalized", stream)
        return FirstMapping(None, None, None)
    with tenant_session(tenant_id, engine) as s:
        existing = active_version(s, connection_id, stream)
        if existing is not None:
            return FirstMapping(existing.entity, existing.version, None)
        pending = s.scalar(
            select(RepairProposal.id).where(
                RepairProposal.connection_id == connection_id,
                RepairProposal.stream == stream,
                RepairProposal.status == "pending",
            )
        )
        if pending is not None:
            return FirstMapping(entity, None, pending)
    suggestion = mapping_engine(engine, _event_sink(engine, tenant_id)).suggest(schema, entity, tenant_id=tenant_id)
    auto = suggestion.mapping(auto_only=True)
    confidences = {f.source_field: f.confidence for f in suggestion.fields}
    review = [f for f in suggestion.fields if f.decision == "review"]
    required_ok = set(required_fields(entity)) <= set(auto.values())
    with tenant_session(tenant_id, engine) as s:
        version = None
        if required_ok:
            fields = field_mappings(auto, entity, confidences)
            conf = min((m["confidence"] for m in fields), default=1.0)
            row = create_version(
                s,
                tenant_id=tenant_id,
                connection_id=connection_id,
                stream=stream,
                entity=entity,
                fingerprint=schema.fingerprint,
                fields=fields,
                author="engine",
                confidence=conf,
            )
            version = row.version
        proposal_id = None
        if review or not required_ok:
            proposal = RepairProposal(
                tenant_id=uuid.UUID(tenant_id),
                connection_id=connection_id,
                stream=stream,
                entity=entity,
                base_version_id=None,
                proposed_fields=[
                    {
                        "source_field": f.source_field,
                        "canonical_field": f.canonical_field,
                        "confidence": round(f.confidence, 5),
                        "decision": f.decision,
                        "alternatives": [[a, round(sc, 5)] for a, sc in f.alternatives],
                    }
                    for f in suggestion.fields
                ],
                confidence=round(min((f.confidence for f in review), default=1.0), 5),
            )
            s.add(proposal)
            s.flush()
            proposal_id = proposal.id
            publish(
                s,
                tenant_id,
                "repair_proposed",
                {
                    "proposal_id": str(proposal.id),
                    "connection_id": str(connection_id),
                    "stream": stream,
                    "entity": entity,
                    "reason": "first mapping" if required_ok else "required fields not mapped with confidence",
                    "review_fields": [f.source_field for f in review],
                },
            )
    return FirstMapping(entity, version, proposal_id)
