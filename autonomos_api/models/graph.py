"""The mapping graph: connections, streams, source fields, canonical entities and fields, and the edges between them."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, Field


class NodeKind(StrEnum):
    """What a node stands for."""

    CONNECTION = "connection"
    STREAM = "stream"
    SOURCE_FIELD = "source_field"
    ENTITY = "entity"
    CANONICAL_FIELD = "canonical_field"


class EdgeKind(StrEnum):
    """How two nodes relate: containment, or a mapping of source onto canonical."""

    HAS_STREAM = "has_stream"
    HAS_FIELD = "has_field"
    MAPS_TO = "maps_to"


class GraphNode(BaseModel):
    """One node; `id` is stable across requests (kind:path)."""

    id: str
    kind: NodeKind
    label: str
    connection_id: uuid.UUID | None = None
    entity: str | None = None


class GraphEdge(BaseModel):
    """One edge; mapping edges carry the active mapping version, its id and the confidence."""

    source: str
    target: str
    kind: EdgeKind
    mapping_id: uuid.UUID | None = None
    mapping_version: int | None = None
    confidence: float | None = None
    normaliser: str | None = None


class GraphPublic(BaseModel):
    """The tenant's mapping graph under the active mapping versions."""

    nodes: list[GraphNode] = Field(description="connections, streams, source fields, entities, canonical fields")
    edges: list[GraphEdge]
