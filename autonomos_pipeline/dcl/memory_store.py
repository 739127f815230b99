"""The mapping engine's retrieval memory kept in the serving store: per tenant under RLS, safe across processes."""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import Engine, select

from autonomos_pipeline.dcl.mapping.types import MemoryHit
from autonomos_pipeline.dcl.store import MappingMemoryRow, SharedMappingMemoryRow, system_session, tenant_session


class StoreMemory:
    """Approved mappings in the serving store; with sharing on, field-name knowledge is also kept tenant-free."""

    def __init__(self, engine: Engine | None = None, *, share_across_tenants: bool = False) -> None:
        self.engine = engine
        self.share_across_tenants = share_across_tenants

    def add(
        self,
        tenant_id: str,
        key_text: str,
        vector: np.ndarray,
        entity: str,
        canonical_field: str | None,
        source_field: str,
    ) -> None:
        """Store (or replace) the tenant's decision for this entity and key text."""
        vec = [round(float(x), 6) for x in np.asarray(vector, dtype=np.float32).ravel()]
        with tenant_session(tenant_id, self.engine) as s:
            row = s.scalar(
                select(MappingMemoryRow).where(MappingMemoryRow.entity == entity, MappingMemoryRow.key_text == key_text)
            )
            if row is None:
                s.add(
                    MappingMemoryRow(
                        tenant_id=uuid.UUID(tenant_id),
                        entity=entity,
                        key_text=key_text,
                        source_field=source_field,
                        canonical_field=canonical_field,
                        vector=vec,
                    )
                )
            else:
                row.canonical_field, row.source_field, row.vector = canonical_field, source_field, vec
        if self.share_across_tenants:
            with system_session(self.engine) as s:
                shared = s.scalar(
                    select(SharedMappingMemoryRow).where(
                        SharedMappingMemoryRow.entity == entity, SharedMappingMemoryRow.key_text == key_text
                    )
                )
                if shared is None:
                    s.add(
                        SharedMappingMemoryRow(
                            entity=entity, key_text=key_text, canonical_field=canonical_field, vector=vec
                        )
                    )
                else:
                    shared.canonical_field, shared.vector = canonical_field, vec

    def query(self, tenant_id: str | None, vector: np.ndarray, entity: str, k: int = 5) -> list[MemoryHit]:
        """The k most similar decisions visible to the tenant (and shared ones when sharing is on)."""
        entries: list[tuple[str | None, str, str, list[float]]] = []
        if tenant_id is not None:
            with tenant_session(tenant_id, self.engine) as s:
                rows = s.execute(
                    select(
                        MappingMemoryRow.canonical_field, MappingMemoryRow.source_field, MappingMemoryRow.vector
                    ).where(MappingMemoryRow.entity == entity)
                ).all()
            entries += [(c, src, tenant_id, v) for c, src, v in rows]
        if self.share_across_tenants:
            with system_session(self.engine) as s:
                shared = s.execute(
                    select(
                        SharedMappingMemoryRow.canonical_field,
                        SharedMappingMemoryRow.key_text,
                        SharedMappingMemoryRow.vector,
                    ).where(SharedMappingMemoryRow.entity == entity)
                ).all()
            entries += [(c, key, "shared", v) for c, key, v in shared]
        if not entries:
            return []
        matrix = np.asarray([e[3] for e in entries], dtype=np.float32)
        sims = matrix @ np.asarray(vector, dtype=np.float32).ravel()
        order = np.argsort(-sims)[:k]
        return [
            MemoryHit(
                canonical_field=entries[i][0],
                similarity=float(sims[i]),
                source_field=entries[i][1],
                tenant_id=entries[i][2],
            )
            for i in order
        ]
