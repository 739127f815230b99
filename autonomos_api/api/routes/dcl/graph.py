"""The tenant's mapping graph for lineage and ontology views, built from the active mapping versions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from autonomos_api.api.deps import CurrentUser, SessionDep
from autonomos_api.models.graph import EdgeKind, GraphEdge, GraphNode, GraphPublic, NodeKind
from autonomos_pipeline.dcl.store import Connection, MappingVersionRow
from schemas.canonical import CANONICAL_MODELS, canonical_fields

router = APIRouter(prefix="/graph", tags=["graph"])


class _Builder:
    """Collects nodes once each, and edges, in insertion order."""

    def __init__(self) -> None:
        self.nodes: dict[str, GraphNode] = {}
        self.edges: list[GraphEdge] = []

    def node(self, node_id: str, kind: NodeKind, label: str, **extra: Any) -> str:
        self.nodes.setdefault(node_id, GraphNode(id=node_id, kind=kind, label=label, **extra))
        return node_id

    def edge(self, source: str, target: str, kind: EdgeKind, **extra: Any) -> None:
        self.edges.append(GraphEdge(source=source, target=target, kind=kind, **extra))


def _confidence(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _ontology(graph: _Builder) -> None:
    for entity in CANONICAL_MODELS:
        entity_node = graph.node(f"entity:{entity}", NodeKind.ENTITY, entity, entity=entity)
        for name in canonical_fields(entity):
            field_node = graph.node(f"canonical_field:{entity}.{name}", NodeKind.CANONICAL_FIELD, name, entity=entity)
            graph.edge(entity_node, field_node, EdgeKind.HAS_FIELD)


def _mapping(graph: _Builder, row: MappingVersionRow) -> None:
    cid = row.connection_id
    stream_node = graph.node(f"stream:{cid}:{row.stream}", NodeKind.STREAM, row.stream, connection_id=cid)
    graph.edge(f"connection:{cid}", stream_node, EdgeKind.HAS_STREAM)
    version = {"mapping_id": row.id, "mapping_version": row.version}
    entity_node = graph.node(f"entity:{row.entity}", NodeKind.ENTITY, row.entity, entity=row.entity)
    graph.edge(stream_node, entity_node, EdgeKind.MAPS_TO, confidence=_confidence(row.confidence), **version)
    for item in row.fields if isinstance(row.fields, list) else []:
        source, target = (item.get("source_field"), item.get("canonical_field")) if isinstance(item, dict) else (0, 0)
        if not isinstance(source, str) or not isinstance(target, str):
            continue
        source_node = graph.node(
            f"source_field:{cid}:{row.stream}:{source}", NodeKind.SOURCE_FIELD, source, connection_id=cid
        )
        graph.edge(stream_node, source_node, EdgeKind.HAS_FIELD)
        target_node = graph.node(
            f"canonical_field:{row.entity}.{target}", NodeKind.CANONICAL_FIELD, target, entity=row.entity
        )
        normaliser = item.get("normaliser")
        graph.edge(
            source_node,
            target_node,
            EdgeKind.MAPS_TO,
            confidence=_confidence(item.get("confidence")),
            normaliser=normaliser if isinstance(normaliser, str) else None,
            **version,
        )


@router.get("", response_model=GraphPublic)
def get_graph(
    user: CurrentUser,
    session: SessionDep,
    connection_id: Annotated[uuid.UUID | None, Query(description="only this connection's part of the graph")] = None,
) -> GraphPublic:
    """Connections, streams and source fields, mapped onto canonical entities and fields by the active versions."""
    connections = select(Connection).where(Connection.tenant_id == user.tenant_id)
    mappings = select(MappingVersionRow).where(
        MappingVersionRow.tenant_id == user.tenant_id, MappingVersionRow.is_active.is_(True)
    )
    if connection_id is not None:
        connections = connections.where(Connection.id == connection_id)
        mappings = mappings.where(MappingVersionRow.connection_id == connection_id)
    graph = _Builder()
    for connection in session.scalars(connections.order_by(Connection.name, Connection.id)):
        graph.node(f"connection:{connection.id}", NodeKind.CONNECTION, connection.name, connection_id=connection.id)
    _ontology(graph)
    order = (MappingVersionRow.connection_id, MappingVersionRow.stream)
    for row in session.scalars(mappings.order_by(*order)):
        _mapping(graph, row)
    return GraphPublic(nodes=list(graph.nodes.values()), edges=graph.edges)
