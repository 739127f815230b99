"""Reset a tenant's pipeline state: what the pipeline derived from source reads goes; people's decisions stay.

Cleared: the tenant's DuckDB warehouse file (raw_records, raw_batches, canonical_*), materialized_accounts /
_opportunities / _contacts, stream cursors (the next run reads every source from the start), schema snapshots,
quarantine, drift events and repair proposals (re-detected from fresh reads).
Kept: the tenant, users, connections (with their secrets), mapping versions and which one is active (reviewed
decisions), the mapping engine's memory, and the event journal (the audit trail).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from autonomos_pipeline.dcl.settings import Settings
from autonomos_pipeline.dcl.store import (
    DriftEvent,
    MaterializedAccount,
    MaterializedContact,
    MaterializedOpportunity,
    QuarantineRecord,
    RepairProposal,
    SchemaSnapshot,
    StreamCursor,
)

log = logging.getLogger(__name__)

CLEARED_TABLES = (
    MaterializedAccount,
    MaterializedOpportunity,
    MaterializedContact,
    QuarantineRecord,
    RepairProposal,
    DriftEvent,
    SchemaSnapshot,
    StreamCursor,
)
KEPT = ("tenant", "users", "connections", "mapping_versions", "mapping_memory", "event_journal")


def clear_rows(session: Session, tenant_id: uuid.UUID) -> dict[str, int]:
    """Delete the tenant's pipeline rows in the session's transaction; rows deleted per table."""
    dropped: dict[str, int] = {}
    if session.get_bind().dialect.name == "postgresql":
        # first, so the next first loads are bulk loads again (migration 0008); before the deletes, which would
        # lock the tenant's partitions in the opposite order of a bulk load's
        dropped = session.execute(select(func.serving_drop_load_partitions(tenant_id))).scalar() or {}
    counts: dict[str, int] = {}
    for model in CLEARED_TABLES:
        result = session.execute(delete(model).where(model.tenant_id == tenant_id))
        name = model.__tablename__
        counts[name] = int(getattr(result, "rowcount", 0) or 0) + int(dropped.get(name, 0))
    return counts


def delete_warehouse(settings: Settings, tenant_id: uuid.UUID) -> bool:
    """Delete the tenant's DuckDB warehouse file (and its write-ahead log); whether a file existed."""
    path: Path = settings.warehouse_path(str(tenant_id))
    existed = path.exists()
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)
    if existed:
        log.info("deleted the warehouse of tenant %s", tenant_id)
    return existed
