"""Users of the caller's tenant: admins create, list, change and deactivate them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from autonomos_api.api.deps import AdminUser, SessionDep
from autonomos_api.core.errors import APIError, not_found
from autonomos_api.core.security import hash_password
from autonomos_api.models.users import Role, UserCreate, UserPublic, UsersPublic, UserUpdate
from autonomos_pipeline.dcl.store import User
from autonomos_pipeline.dcl.view_cache import bump_auth_version

router = APIRouter(prefix="/users", tags=["users"])


def _get(session: SessionDep, admin: User, user_id: uuid.UUID) -> User:
    user = session.scalars(select(User).where(User.id == user_id, User.tenant_id == admin.tenant_id)).first()
    if user is None:
        raise not_found("user")
    return user


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, admin: AdminUser, session: SessionDep) -> User:
    """Add a user to the caller's tenant."""
    user = User(
        tenant_id=admin.tenant_id,
        email=body.email.lower(),
        full_name=body.full_name,
        password_hash=hash_password(body.password),
        role=body.role.value,
        is_active=True,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise APIError(409, "email_taken", "an account with this e-mail already exists") from None
    return user


@router.get("", response_model=UsersPublic)
def list_users(
    admin: AdminUser,
    session: SessionDep,
    skip: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(100, ge=1, le=500),
) -> UsersPublic:
    """List the tenant's users, oldest first."""
    query = select(User).where(User.tenant_id == admin.tenant_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(User.created_at, User.id).offset(skip).limit(limit)).all()
    data = [UserPublic.model_validate(u) for u in rows]
    return UsersPublic(data=data, total=total, next_cursor=None)


@router.get("/{user_id}", response_model=UserPublic)
def get_user(user_id: uuid.UUID, admin: AdminUser, session: SessionDep) -> User:
    """One user of the tenant."""
    return _get(session, admin, user_id)


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(user_id: uuid.UUID, body: UserUpdate, admin: AdminUser, session: SessionDep) -> User:
    """Change a user's name or role, or deactivate it (its tokens stop working at once)."""
    user = _get(session, admin, user_id)
    changes = body.model_dump(exclude_unset=True)
    if user.id == admin.id and (changes.get("is_active") is False or changes.get("role") not in (None, Role.ADMIN)):
        raise APIError(409, "cannot_demote_self", "admins cannot deactivate or demote themselves")
    if "full_name" in changes:
        user.full_name = body.full_name
    if body.role is not None:
        user.role = body.role.value
    if body.is_active is not None:
        user.is_active = body.is_active
    session.commit()
    bump_auth_version(user.id)  # after the commit: page caches forget that they accepted this user's tokens
    return user
