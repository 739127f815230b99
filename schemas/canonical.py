"""The canonical model of CANONICAL.md: account, opportunity and contact, with exactly its field names and types."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

EntityName = Literal["account", "opportunity", "contact"]


def _require_aware(value: datetime | None) -> datetime | None:
    """Reject naive datetimes: canonical datetimes are timezone-aware and stored in UTC."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    from datetime import UTC

    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_require_aware)]
NonEmptyStr = Annotated[str, Field(min_length=1)]


class OpportunityStatus(StrEnum):
    """Whether a deal is still open, won or lost."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class CanonicalRecord(BaseModel):
    """Base of every canonical entity: strict field names, no extras."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Account(CanonicalRecord):
    """A company the tenant sells to."""

    account_id: NonEmptyStr = Field(description="the record's id in its source system")
    name: NonEmptyStr = Field(description="legal or display name of the company")
    website: str | None = Field(None, description="web site or domain, a bare lower-case domain")
    industry: str | None = Field(None, description="industry or sector")
    employee_count: int | None = Field(None, ge=0, description="number of employees / headcount")
    annual_revenue: Decimal | None = Field(None, description="yearly revenue of the company")
    phone: str | None = Field(None, description="main phone number, E.164 where the country is known")
    billing_street: str | None = Field(None, description="street line of the billing / headquarters address")
    billing_city: str | None = Field(None, description="city of the billing / headquarters address")
    billing_state: str | None = Field(None, description="state, province or region")
    billing_postal_code: str | None = Field(None, description="ZIP or postal code")
    billing_country: str | None = Field(None, description="country, ISO 3166-1 alpha-2 where recognisable")
    owner_id: str | None = Field(None, description="id of the user (sales rep) who owns the record")
    description: str | None = Field(None, description="free-text description")
    created_at: AwareDatetime | None = Field(None, description="when the record was created in the source")
    updated_at: AwareDatetime | None = Field(None, description="when the record was last modified in the source")


class Opportunity(CanonicalRecord):
    """A deal in the tenant's pipeline."""

    opportunity_id: NonEmptyStr = Field(description="the record's id in its source system")
    account_id: str | None = Field(None, description="source id of the account the deal belongs to")
    name: NonEmptyStr = Field(description="deal name")
    amount: Decimal | None = Field(None, description="deal value")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code of amount")
    stage: str | None = Field(None, description="pipeline stage")
    probability: Decimal | None = Field(None, ge=0, le=100, description="win probability in percent, 0 to 100")
    close_date: date | None = Field(None, description="expected or actual close date")
    status: OpportunityStatus | None = Field(None, description="whether the deal is open, won or lost")
    owner_id: str | None = Field(None, description="id of the owning sales rep")
    lead_source: str | None = Field(None, description="where the deal came from")
    type: str | None = Field(None, description="deal type (new business, renewal, upsell ...)")
    created_at: AwareDatetime | None = Field(None, description="creation time in the source")
    updated_at: AwareDatetime | None = Field(None, description="last modification time in the source")


class Contact(CanonicalRecord):
    """A person at an account."""

    contact_id: NonEmptyStr = Field(description="the record's id in its source system")
    account_id: str | None = Field(None, description="source id of the contact's account")
    first_name: str | None = Field(None, description="given name")
    last_name: NonEmptyStr = Field(description="family name")
    email: str | None = Field(None, description="e-mail address, lower-cased and validated")
    phone: str | None = Field(None, description="work / office phone")
    mobile_phone: str | None = Field(None, description="mobile phone")
    title: str | None = Field(None, description="job title")
    department: str | None = Field(None, description="department")
    mailing_city: str | None = Field(None, description="city of the contact's address")
    mailing_country: str | None = Field(None, description="country, ISO 3166-1 alpha-2 where recognisable")
    owner_id: str | None = Field(None, description="id of the owning sales rep")
    lead_source: str | None = Field(None, description="where the contact came from")
    created_at: AwareDatetime | None = Field(None, description="creation time in the source")
    updated_at: AwareDatetime | None = Field(None, description="last modification time in the source")


CANONICAL_MODELS: dict[str, type[CanonicalRecord]] = {
    "account": Account,
    "opportunity": Opportunity,
    "contact": Contact,
}

ID_FIELDS: dict[str, str] = {
    "account": "account_id",
    "opportunity": "opportunity_id",
    "contact": "contact_id",
}


def canonical_fields(entity: str) -> list[str]:
    """Return the canonical field names of an entity, in CANONICAL.md order."""
    return list(CANONICAL_MODELS[entity].model_fields)


def required_fields(entity: str) -> list[str]:
    """Return the required canonical field names of an entity."""
    return [name for name, info in CANONICAL_MODELS[entity].model_fields.items() if info.is_required()]


def field_description(entity: str, field: str) -> str:
    """Return the CANONICAL.md meaning of one field."""
    return CANONICAL_MODELS[entity].model_fields[field].description or field
