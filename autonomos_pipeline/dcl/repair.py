"""The self-healing loop in plain Python: record drift, repair mappings, and the review actions a person takes."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from autonomos_pipeline.dcl.drift import DriftReport, classify
from autonomos_pipeline.dcl.events import publish
from autonomos_pipeline.dcl.mappings import (
    activate_version,
    active_version,
    create_version,
    field_mappings,
    mapping_engine,
)
from autonomos_pipeline.dcl.store import (
    Connection,
    DriftEvent,
    MappingVersionRow,
    RepairProposal,
    SchemaSnapshot,
    Tenant,
    tenant_session,
)
from schemas import SourceSchema, canonical_fields, required_fields

log = logging.getLogger(__name__)


class ReviewError(ValueError):
    """A review action that cannot be taken (unknown id, already decided, invalid override)."""


def _schema_for(session: Session, connection_id: uuid.UUID, stream: str, fingerprint: str) -> SourceSchema | None:
    snap = session.scalar(
        select(SchemaSnapshot)
        .where(
            SchemaSnapshot.connection_id == connection_id,
            SchemaSnapshot.stream == stream,
            SchemaSnapshot.fingerprint == fingerprint,
        )
        .order_by(SchemaSnapshot.captured_at.desc())
        .limit(1)
    )
    return SourceSchema.model_validate(snap.schema_json) if snap else None


def detect_drift(engine: Engine, tenant_id: str, connection_id: uuid.UUID, schema: SourceSchema) -> DriftEvent | None:
    """Compare a new snapshot with the active mapping's schema; record (once) and publish drift when it differs."""
    with tenant_session(tenant_id, engine) as s:
        version = active_version(s, connection_id, schema.stream)
        if version is None:
            return None
        existing = s.scalar(
            select(DriftEvent).where(
                DriftEvent.connection_id == connection_id,
                DriftEvent.stream == schema.stream,
                DriftEvent.to_fingerprint == schema.fingerprint,
            )
        )
        if existing is not None or version.fingerprint == schema.fingerprint:
            return existing
        old = _schema_for(s, connection_id, schema.stream, version.fingerprint)
        if old is None:
            return None
        mapping = _source_to_canonical(version)
        report = classify(old, schema, mapping=mapping, entity=version.entity)
        if not report.is_drift:
            return None
        event = DriftEvent(
            tenant_id=uuid.UUID(tenant_id),
            connection_id=connection_id,
            stream=schema.stream,
            from_fingerprint=version.fingerprint,
            to_fingerprint=schema.fingerprint,
            severity=report.severity or "low",
            changes=report.as_json(),
        )
        s.add(event)
        s.flush()
        publish(
            s,
            tenant_id,
            "drift",
            {
                "drift_event_id": str(event.id),
                "connection_id": str(connection_id),
                "stream": schema.stream,
                "severity": event.severity,
                "changes": event.changes,
            },
        )
        return event


def _source_to_canonical(version: MappingVersionRow) -> dict[str, str]:
    return {m["source_field"]: m["canonical_field"] for m in version.fields}


@dataclass(frozen=True)
class RepairOutcome:
    """What the repair of one drift event did."""

    drift_event_id: uuid.UUID
    applied: bool
    mapping_version: int | None
    proposal_id: uuid.UUID | None
    confidence: float
    changes: list[dict[str, Any]]


def _plan(
    version: MappingVersionRow, report: DriftReport, suggestion: Any, new_schema: SourceSchema
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, float], list[str]]:
    """The repaired mapping, previous names per field, confidences, and the reasons a person must look at it."""
    present = set(new_schema.field_names)
    by_source = {f.source_field: f for f in suggestion.fields}
    mapping: dict[str, str] = {}
    previous: dict[str, list[str]] = {}
    confidence: dict[str, float] = {}
    blockers: list[str] = []
    changed = {c.field: c for c in report.changes}
    for m in version.fields:
        src, dst = m["source_field"], m["canonical_field"]
        change = changed.get(src)
        if change is None and src in present:
            mapping[src] = dst
            previous[src] = list(m.get("previous_source_fields", []))
            confidence[src] = float(m.get("confidence", 1.0))
            continue
        if change is not None and change.kind == "type_changed" and change.severity == "medium":
            mapping[src], confidence[src] = dst, float(m.get("confidence", 1.0))
            previous[src] = list(m.get("previous_source_fields", []))
            continue
        if change is not None and change.kind == "renamed" and change.new_field:
            sug = by_source.get(change.new_field)
            if sug is not None and sug.canonical_field == dst and sug.decision == "auto":
                mapping[change.new_field] = dst
                previous[change.new_field] = [src, *m.get("previous_source_fields", [])]
                confidence[change.new_field] = sug.confidence
                continue
            blockers.append(f"{src} -> {change.new_field} is not confidently {dst}")
            if sug is not None and sug.canonical_field == dst:
                mapping[change.new_field], confidence[change.new_field] = dst, sug.confidence
                previous[change.new_field] = [src, *m.get("previous_source_fields", [])]
            continue
        reason = change.kind if change is not None else "missing"
        blockers.append(f"{src} ({dst}) is {reason}")
    taken = set(mapping.values())
    for sug in suggestion.fields:
        if sug.source_field in mapping or sug.canonical_field is None or sug.canonical_field in taken:
            continue
        if sug.decision == "auto" and sug.source_field in {c.field for c in report.changes if c.kind == "added"}:
            mapping[sug.source_field] = sug.canonical_field
            confidence[sug.source_field] = sug.confidence
            taken.add(sug.canonical_field)
    missing = [f for f in required_fields(version.entity) if f not in mapping.values()]
    blockers += [f"required field {f} has no source" for f in missing]
    return mapping, previous, confidence, blockers


def repair_drift(engine: Engine, tenant_id: str, drift_event_id: uuid.UUID) -> RepairOutcome | None:
    """Re-map what changed: apply a new version when every changed mapped field is auto, else propose it."""
    with tenant_session(tenant_id, engine) as s:
        event = s.get(DriftEvent, drift_event_id)
        if event is None or event.status != "open":
            return None
        version = active_version(s, event.connection_id, event.stream)
        old = _schema_for(s, event.connection_id, event.stream, event.from_fingerprint)
        new = _schema_for(s, event.connection_id, event.stream, event.to_fingerprint)
        connection = s.get(Connection, event.connection_id)
        tenant = s.get(Tenant, uuid.UUID(tenant_id))
    if version is None or old is None or new is None or connection is None:
        return None
    report = classify(old, new, mapping=_source_to_canonical(version), entity=version.entity)
    suggestion = mapping_engine(engine).suggest(new, version.entity, tenant_id=tenant_id)
    mapping, previous, confidence, blockers = _plan(version, report, suggestion, new)
    changed_conf = [confidence[f] for f in mapping if f not in _source_to_canonical(version)] or [1.0]
    overall = round(min(changed_conf), 5)
    changes = report.as_json()
    with tenant_session(tenant_id, engine) as s:
        event = s.get(DriftEvent, drift_event_id)
        assert event is not None
        if not blockers:
            row = create_version(
                s,
                tenant_id=tenant_id,
                connection_id=event.connection_id,
                stream=event.stream,
                entity=version.entity,
                fingerprint=new.fingerprint,
                fields=field_mappings(mapping, version.entity, confidence, previous),
                author="engine",
                confidence=overall,
            )
            event.status = "repaired"
            publish(s, tenant_id, "repair_applied", _payload(event, overall, changes, version=row.version))
            outcome = RepairOutcome(event.id, True, row.version, None, overall, changes)
        else:
            proposal = RepairProposal(
                tenant_id=uuid.UUID(tenant_id),
                drift_event_id=event.id,
                connection_id=event.connection_id,
                stream=event.stream,
                entity=version.entity,
                base_version_id=version.id,
                proposed_fields=[
                    {
                        "source_field": src,
                        "canonical_field": dst,
                        "confidence": round(confidence.get(src, 0.0), 5),
                        "previous_source_fields": previous.get(src, []),
                    }
                    for src, dst in mapping.items()
                ]
                + [
                    {
                        "source_field": f.source_field,
                        "canonical_field": None,
                        "suggested": f.canonical_field,
                        "confidence": round(f.confidence, 5),
                        "decision": f.decision,
                    }
                    for f in suggestion.fields
                    if f.source_field not in mapping
                ],
                confidence=overall,
            )
            s.add(proposal)
            s.flush()
            event.status = "awaiting_review"
            publish(
                s,
                tenant_id,
                "repair_proposed",
                _payload(event, overall, changes, proposal_id=str(proposal.id), blockers=blockers),
            )
            outcome = RepairOutcome(event.id, False, None, proposal.id, overall, changes)
    _notify(tenant.name if tenant else tenant_id, tenant_id, connection.name, event.stream, outcome)
    return outcome


def _payload(event: DriftEvent, confidence: float, changes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "drift_event_id": str(event.id),
        "connection_id": str(event.connection_id),
        "stream": event.stream,
        "confidence": confidence,
        "changes": changes,
        **extra,
    }


def _notify(tenant_name: str, tenant_id: str, connection: str, stream: str, outcome: RepairOutcome) -> None:
    """Tell Slack (when configured); a failing webhook never fails the repair."""
    try:
        from autonomos_pipeline.dcl.notify import notifier_from_settings

        notifier = notifier_from_settings()
        if notifier is None:
            return
        if outcome.applied:
            notifier.notify_repair_applied(
                tenant_name=tenant_name, tenant_id=tenant_id, connection=connection, stream=stream,
                changes=outcome.changes, confidence=outcome.confidence, mapping_version=outcome.mapping_version or 0,
            )  # fmt: skip
        else:
            notifier.notify_repair_proposed(
                tenant_name=tenant_name, tenant_id=tenant_id, connection=connection, stream=stream,
                changes=outcome.changes, confidence=outcome.confidence, proposal_id=str(outcome.proposal_id),
            )  # fmt: skip
    except Exception as exc:  # notifications are best effort by design
        log.warning("repair notification failed: %s", type(exc).__name__)


def open_drift_events(engine: Engine, tenant_id: str) -> list[uuid.UUID]:
    """Drift events of the tenant that no repair has looked at yet, oldest first."""
    with tenant_session(tenant_id, engine) as s:
        return list(
            s.scalars(select(DriftEvent.id).where(DriftEvent.status == "open").order_by(DriftEvent.detected_at))
        )


def approve_proposal(
    engine: Engine,
    tenant_id: str,
    proposal_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None = None,
    overrides: dict[str, str | None] | None = None,
) -> MappingVersionRow:
    """Approve a proposal (optionally overriding single fields): a new active version, remembered for next time."""
    overrides = overrides or {}
    with tenant_session(tenant_id, engine) as s:
        proposal = s.get(RepairProposal, proposal_id)
        if proposal is None:
            raise LookupError(f"no repair proposal {proposal_id}")
        if proposal.status != "pending":
            raise ReviewError(f"proposal {proposal_id} is already {proposal.status}")
        allowed = set(canonical_fields(proposal.entity))
        fields = {f["source_field"]: f for f in proposal.proposed_fields}
        for src, dst in overrides.items():
            if src not in fields:
                raise ReviewError(f"{src!r} is not a field of stream {proposal.stream!r}")
            if dst is not None and dst not in allowed:
                raise ReviewError(f"{dst!r} is not a canonical {proposal.entity} field")
        mapping: dict[str, str] = {}
        previous: dict[str, list[str]] = {}
        base = s.get(MappingVersionRow, proposal.base_version_id) if proposal.base_version_id else None
        base_source = {m["canonical_field"]: m for m in base.fields} if base else {}
        for src, f in fields.items():
            dst = overrides[src] if src in overrides else f.get("canonical_field")
            if dst is None:
                continue
            mapping[src] = dst
            previous[src] = list(f.get("previous_source_fields", []))
            before = base_source.get(dst)
            if before is not None and before["source_field"] != src and before["source_field"] not in fields:
                # a person confirmed a rename: rows read before it keep their value through the old name
                previous[src] = [before["source_field"], *before.get("previous_source_fields", [])]
        if len(set(mapping.values())) != len(mapping):
            raise ReviewError("two source fields are mapped to the same canonical field")
        missing = [f for f in required_fields(proposal.entity) if f not in mapping.values()]
        if missing:
            raise ReviewError(f"the mapping must map the required field(s) {', '.join(missing)}")
        schema = _latest_schema(s, proposal.connection_id, proposal.stream)
        row = create_version(
            s,
            tenant_id=tenant_id,
            connection_id=proposal.connection_id,
            stream=proposal.stream,
            entity=proposal.entity,
            fingerprint=schema.fingerprint if schema else "",
            fields=field_mappings(mapping, proposal.entity, dict.fromkeys(mapping, 1.0), previous),
            author="person",
            confidence=1.0,
            created_by=user_id,
        )
        proposal.status, proposal.decided_at, proposal.decided_by = "approved", datetime.now(UTC), user_id
        if proposal.drift_event_id is not None:
            event = s.get(DriftEvent, proposal.drift_event_id)
            if event is not None:
                event.status = "resolved"
        publish(
            s,
            tenant_id,
            "repair_applied",
            {"proposal_id": str(proposal.id), "connection_id": str(proposal.connection_id), "stream": proposal.stream,
             "mapping_version": row.version, "approved_by": str(user_id) if user_id else None,
             "overrides": overrides},
        )  # fmt: skip
        decisions = {src: mapping.get(src) for src in fields}
        entity = proposal.entity
    _remember(engine, tenant_id, entity, schema, decisions)
    return row


def _latest_schema(session: Session, connection_id: uuid.UUID, stream: str) -> SourceSchema | None:
    from autonomos_pipeline.dcl.mappings import latest_schema

    return latest_schema(session, connection_id, stream)


def _remember(
    engine: Engine, tenant_id: str, entity: str, schema: SourceSchema | None, decisions: dict[str, str | None]
) -> None:
    """Teach the retrieval memory every decision of an approval, so the same drift elsewhere repairs itself."""
    if schema is None:
        return
    learner = mapping_engine(engine)
    for field in schema.fields:
        if field.name in decisions:
            learner.remember(tenant_id=tenant_id, entity=entity, field=field, canonical_field=decisions[field.name])


def reject_proposal(
    engine: Engine, tenant_id: str, proposal_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> None:
    """Reject a proposal: the stream keeps its last good mapping; the drift is closed as rejected."""
    with tenant_session(tenant_id, engine) as s:
        proposal = s.get(RepairProposal, proposal_id)
        if proposal is None:
            raise LookupError(f"no repair proposal {proposal_id}")
        if proposal.status != "pending":
            raise ReviewError(f"proposal {proposal_id} is already {proposal.status}")
        proposal.status, proposal.decided_at, proposal.decided_by = "rejected", datetime.now(UTC), user_id
        if proposal.drift_event_id is not None:
            event = s.get(DriftEvent, proposal.drift_event_id)
            if event is not None:
                event.status = "rejected"


def rollback(engine: Engine, tenant_id: str, version_id: uuid.UUID) -> MappingVersionRow:
    """Activate an earlier mapping version; the next canonical run re-processes the stream with it."""
    with tenant_session(tenant_id, engine) as s:
        row = activate_version(s, version_id)
        publish(
            s,
            tenant_id,
            "repair_applied",
            {"connection_id": str(row.connection_id), "stream": row.stream, "mapping_version": row.version,
             "rollback": True},
        )  # fmt: skip
        return row
