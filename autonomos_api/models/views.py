"""Canonical views: one Public shape per entity (CANONICAL.md fields plus lineage) and their list envelopes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from autonomos_api.models.common import Page, UTCDateTime


class Lineage(BaseModel):
    """Where a served row came from: its connection, source record and the mapping version that produced it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connection_id: uuid.UUID
    source_system: str
    source_record_id: str
    mapping_version: int
    ingested_at: UTCDateTime
    materialized_at: UTCDateTime


class AccountPublic(Lineage):
    """A canonical account."""

    account_id: str
    name: str
    website: str | None
    industry: str | None
    employee_count: int | None
    annual_revenue: Decimal | None
    phone: str | None
    billing_street: str | None
    billing_city: str | None
    billing_state: str | None
    billing_postal_code: str | None
    billing_country: str | None
    owner_id: str | None
    description: str | None
    created_at: UTCDateTime | None
    updated_at: UTCDateTime | None


class OpportunityPublic(Lineage):
    """A canonical opportunity."""

    opportunity_id: str
    account_id: str | None
    name: str
    amount: Decimal | None
    currency: str | None
    stage: str | None
    probability: Decimal | None
    close_date: date | None
    status: str | None
    owner_id: str | None
    lead_source: str | None
    type: str | None
    created_at: UTCDateTime | None
    updated_at: UTCDateTime | None


class ContactPublic(Lineage):
    """A canonical contact."""

    contact_id: str
    account_id: str | None
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    mobile_phone: str | None
    title: str | None
    department: str | None
    mailing_city: str | None
    mailing_country: str | None
    owner_id: str | None
    lead_source: str | None
    created_at: UTCDateTime | None
    updated_at: UTCDateTime | None


class AccountsPublic(Page[AccountPublic]):
    """A page of accounts."""


class OpportunitiesPublic(Page[OpportunityPublic]):
    """A page of opportunities."""


class ContactsPublic(Page[ContactPublic]):
    """A page of contacts."""


class Sort(StrEnum):
    """Sort orders of the views: by display name or by last modification, ascending or descending (-)."""

    NAME = "name"
    NAME_DESC = "-name"
    UPDATED_AT = "updated_at"
    UPDATED_AT_DESC = "-updated_at"


class OpportunityStatus(StrEnum):
    """Filter values of an opportunity's status."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"
