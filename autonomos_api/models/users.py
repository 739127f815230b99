"""Users of a tenant: Base / Create / Update / Public shapes and the list envelope."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from autonomos_api.models.common import Page, UTCDateTime


class Role(StrEnum):
    """What a user may do: viewers read, members run and review, admins also manage users and connections."""

    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2}
Password = Field(min_length=8, max_length=128, description="8 to 128 characters")


class UserBase(BaseModel):
    """Fields every user shape shares."""

    email: EmailStr = Field(max_length=320)
    full_name: str | None = Field(None, max_length=200)


class UserCreate(UserBase):
    """An admin adds a user to its tenant."""

    password: str = Password
    role: Role = Role.MEMBER


class UserUpdate(BaseModel):
    """An admin changes a user's name, role, or deactivates it (is_active=false)."""

    full_name: str | None = Field(None, max_length=200)
    role: Role | None = None
    is_active: bool | None = None


class UserPublic(UserBase):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    role: Role
    is_active: bool
    created_at: UTCDateTime


class UsersPublic(Page[UserPublic]):
    """A page of users."""
