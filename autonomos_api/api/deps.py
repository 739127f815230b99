"""Request dependencies: settings, verified token, tenant-scoped session, current user, roles (I/O-free ones async)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from autonomos_api.core.config import Settings, get_settings
from autonomos_api.core.db import api_engine
from autonomos_api.core.errors import APIError
from autonomos_api.core.security import TokenClaims, verified_claims
from autonomos_api.core.throttle import LoginThrottle
from autonomos_api.models.users import ROLE_RANK, Role
from autonomos_pipeline.dcl.store import RevokedToken, User, tenant_session

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
_BEARER = {"WWW-Authenticate": "Bearer"}
SLOT_TIMEOUT_SECONDS = 20.0


async def settings() -> Settings:
    """The current settings (async: a cached lookup needs no worker thread)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings)]


def _unauthorized(code: str, message: str) -> APIError:
    return APIError(401, code, message, headers=_BEARER)


async def get_claims(settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> TokenClaims:
    """The verified claims of the bearer token; 401 when it is missing, forged, expired or incomplete."""
    if not token:
        raise _unauthorized("not_authenticated", "a bearer token is required")
    try:
        return verified_claims(settings, token)
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token_expired", "the token has expired; sign in again") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid_token", "the token is not valid") from None


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]


async def database_slot(request: Request) -> AsyncIterator[None]:
    """Wait (on the event loop, not in a worker thread) until fewer requests hold a session than the pool has.

    A request keeps its connection across several worker-thread hops; without this bound, threads blocked on an
    exhausted pool starve the requests that hold connections, and requests time out under load. Requests get the
    pool's steady size; its overflow is left to background work (event hub, view journal), so request traffic never
    opens and closes overflow connections.
    """
    slots: asyncio.Semaphore | None = getattr(request.app.state, "database_slots", None)
    if slots is None:
        pool: Any = api_engine().pool
        slots = request.app.state.database_slots = asyncio.Semaphore(pool.size())
    try:
        await asyncio.wait_for(slots.acquire(), timeout=SLOT_TIMEOUT_SECONDS)
    except TimeoutError:
        raise APIError(503, "busy", "the service is busy; retry shortly", headers={"Retry-After": "1"}) from None
    try:
        yield
    finally:
        slots.release()


def get_session(claims: ClaimsDep, _slot: Annotated[None, Depends(database_slot)]) -> Iterator[Session]:
    """A session bound to the token's tenant: it sees and writes only that tenant's rows."""
    with tenant_session(claims.tenant_id, api_engine()) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
SlotDep = Annotated[None, Depends(database_slot)]


def _check_token_user(is_active: bool | None, revoked: bool) -> None:
    """401 unless the token's user was found (is_active not None) and is active, and the token was not revoked."""
    if not is_active:
        raise _unauthorized("invalid_token", "the token's user does not exist or is deactivated")
    if revoked:
        raise _unauthorized("token_revoked", "the token was revoked by logout; sign in again")


def get_current_user(session: SessionDep, claims: ClaimsDep) -> User:
    """The token's user: it exists in the token's tenant, is active, and the token was not revoked."""
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == claims.jti).exists()
    row = session.execute(
        select(User, revoked.label("revoked")).where(User.id == claims.user_id, User.tenant_id == claims.tenant_id)
    ).first()
    _check_token_user(row.User.is_active if row else None, bool(row and row.revoked))
    user: User = row.User  # type: ignore[union-attr]  # checked above
    return user


_USERS: Any = User.__table__
_REVOKED: Any = RevokedToken.__table__


def verify_token_user(connection: Connection, claims: TokenClaims) -> None:
    """get_current_user's checks as one Core query, for read paths that need no User object (401 on failure)."""
    revoked = select(_REVOKED.c.jti).where(_REVOKED.c.jti == claims.jti).exists()
    row = connection.execute(
        select(_USERS.c.is_active, revoked.label("revoked")).where(
            _USERS.c.id == claims.user_id, _USERS.c.tenant_id == claims.tenant_id
        )
    ).first()
    _check_token_user(row.is_active if row else None, bool(row and row.revoked))


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(minimum: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through users whose current role is at least `minimum`."""

    async def _check(user: CurrentUser) -> User:
        rank = ROLE_RANK[Role(user.role)] if user.role in ROLE_RANK else -1
        if rank < ROLE_RANK[minimum]:
            raise APIError(403, "forbidden", f"this action needs the {minimum.value} role or higher")
        return user

    return _check


MemberUser = Annotated[User, Depends(require_role(Role.MEMBER))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]


async def get_login_throttle(request: Request) -> LoginThrottle:
    """The application's login throttle."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


ThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
