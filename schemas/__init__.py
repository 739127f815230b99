"""Pure pydantic contracts shared by connectors, pipeline and API: canonical entities, envelopes, schemas, mappings."""

from schemas.canonical import (
    CANONICAL_MODELS,
    Account,
    CanonicalRecord,
    Contact,
    EntityName,
    Opportunity,
    OpportunityStatus,
    canonical_fields,
    required_fields,
)
from schemas.envelope import CanonicalEvent, EventOp, SourceSystem
from schemas.mapping import FieldMapping, MappingAuthor, MappingVersion
from schemas.source_schema import FieldType, SourceField, SourceSchema

__all__ = [
    "CANONICAL_MODELS",
    "Account",
    "CanonicalEvent",
    "CanonicalRecord",
    "Contact",
    "EntityName",
    "EventOp",
    "FieldMapping",
    "FieldType",
    "MappingAuthor",
    "MappingVersion",
    "Opportunity",
    "OpportunityStatus",
    "SourceField",
    "SourceSchema",
    "SourceSystem",
    "canonical_fields",
    "required_fields",
]
