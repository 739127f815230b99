"""Registration, login and token shapes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from autonomos_api.models.common import UTCDateTime
from autonomos_api.models.users import Password, UserPublic


class TenantPublic(BaseModel):
    """A tenant as its users see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    created_at: UTCDateTime


class RegisterRequest(BaseModel):
    """A new organisation and its first admin."""

    tenant_name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    email: EmailStr = Field(max_length=320)
    password: str = Password
    full_name: str | None = Field(None, max_length=200)


class Registered(BaseModel):
    """The tenant and admin that registration created."""

    tenant: TenantPublic
    user: UserPublic


class LoginRequest(BaseModel):
    """E-mail and password, as JSON."""

    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=1, max_length=128)


class Token(BaseModel):
    """A bearer token for the Authorization header."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds until the token expires")


class Me(UserPublic):
    """The signed-in user and its tenant."""

    tenant: TenantPublic
