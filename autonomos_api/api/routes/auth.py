"""Registration, login (OAuth2 password form and JSON), the current user, and logout."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from autonomos_api.api.deps import ClaimsDep, CurrentUser, SessionDep, SettingsDep, ThrottleDep
from autonomos_api.core.config import Settings
from autonomos_api.core.db import api_engine
from autonomos_api.core.errors import APIError
from autonomos_api.core.security import create_access_token, hash_password, needs_rehash, verify_password
from autonomos_api.core.throttle import ACCOUNT_LIMIT, CLIENT_LIMIT, LoginThrottle
from autonomos_api.models.auth import LoginRequest, Me, Registered, RegisterRequest, TenantPublic, Token
from autonomos_api.models.common import Message
from autonomos_api.models.users import Role, UserPublic
from autonomos_pipeline.dcl.store import RevokedToken, Tenant, User, auth_session, tenant_session
from autonomos_pipeline.dcl.view_cache import bump_auth_version

router = APIRouter(prefix="/auth", tags=["auth"])

_SLUG = re.compile(r"[^a-z0-9]+")
_BAD_CREDENTIALS = "incorrect e-mail or password"


def _slug(name: str, tenant_id: uuid.UUID) -> str:
    base = _SLUG.sub("-", name.lower()).strip("-")[:80] or "tenant"
    return f"{base}-{tenant_id.hex[:8]}"


@router.post("/register", response_model=Registered, status_code=status.HTTP_201_CREATED)
def register(body: RegisterRequest) -> Registered:
    """Create a tenant and its first admin user."""
    tenant_id = uuid.uuid4()
    password_hash = hash_password(body.password)
    try:
        with tenant_session(tenant_id, api_engine()) as session:
            tenant = Tenant(id=tenant_id, name=body.tenant_name.strip(), slug=_slug(body.tenant_name, tenant_id))
            session.add(tenant)
            session.flush()
            user = User(
                tenant_id=tenant_id,
                email=body.email.lower(),
                full_name=body.full_name,
                password_hash=password_hash,
                role=Role.ADMIN.value,
                is_active=True,
            )
            session.add(user)
            session.flush()
            result = Registered(tenant=TenantPublic.model_validate(tenant), user=UserPublic.model_validate(user))
    except IntegrityError:
        raise APIError(409, "email_taken", "an account with this e-mail already exists") from None
    return result


def _authenticate(email: str, password: str, client: str, throttle: LoginThrottle, settings: Settings) -> Token:
    """Check throttling, then the password (in constant-ish time for unknown e-mails), then issue a token."""
    email = email.strip().lower()
    keys = {f"account:{email}": ACCOUNT_LIMIT, f"client:{client}": CLIENT_LIMIT}
    verdict = throttle.check(keys)
    if not verdict.allowed:
        raise APIError(
            429,
            "too_many_attempts",
            f"too many failed sign-ins; try again in {verdict.retry_after} seconds",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    with auth_session(email, api_engine()) as session:
        user = session.scalars(select(User).where(User.email == email)).first()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        throttle.record_failure(list(keys))
        raise APIError(401, "invalid_credentials", _BAD_CREDENTIALS, headers={"WWW-Authenticate": "Bearer"})
    if not user.is_active:
        raise APIError(401, "account_disabled", "this account is deactivated", headers={"WWW-Authenticate": "Bearer"})
    if needs_rehash(user.password_hash):
        with tenant_session(user.tenant_id, api_engine()) as session:
            stored = session.scalars(select(User).where(User.id == user.id)).one()
            stored.password_hash = hash_password(password)
    throttle.reset(f"account:{email}")
    token, expires_in = create_access_token(settings, user.id, user.tenant_id, user.role)
    return Token(access_token=token, expires_in=expires_in)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    throttle: ThrottleDep,
    settings: SettingsDep,
) -> Token:
    """Sign in with the OAuth2 password form (username = e-mail); returns a bearer token."""
    return _authenticate(form.username, form.password, _client(request), throttle, settings)


@router.post("/login/json", response_model=Token)
def login_json(body: LoginRequest, request: Request, throttle: ThrottleDep, settings: SettingsDep) -> Token:
    """Sign in with a JSON body {email, password}; returns a bearer token."""
    return _authenticate(body.email, body.password, _client(request), throttle, settings)


@router.get("/me", response_model=Me)
def me(user: CurrentUser, session: SessionDep) -> Me:
    """The signed-in user and its tenant."""
    tenant = session.scalars(select(Tenant).where(Tenant.id == user.tenant_id)).one()
    return Me(**UserPublic.model_validate(user).model_dump(), tenant=TenantPublic.model_validate(tenant))


@router.post("/logout", response_model=Message)
def logout(user: CurrentUser, claims: ClaimsDep, session: SessionDep) -> Message:
    """Revoke the token this request was made with."""
    now = datetime.now(UTC)
    session.execute(delete(RevokedToken).where(RevokedToken.tenant_id == user.tenant_id, RevokedToken.expires_at < now))
    session.add(RevokedToken(jti=claims.jti, tenant_id=user.tenant_id, expires_at=claims.expires_at))
    session.commit()
    bump_auth_version(user.id)  # after the commit: page caches forget that they accepted this user's tokens
    return Message(message="signed out; the token is revoked")
