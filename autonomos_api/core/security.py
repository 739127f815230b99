"""Password hashing (Argon2id) and access tokens (JWT HS256 with pinned algorithm and required claims)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from autonomos_pipeline.dcl.settings import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "tenant_id", "role", "iat", "exp", "jti"]

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that case costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("autonomos-dummy-password-for-timing")


def hash_password(password: str) -> str:
    """Hash a password with Argon2id and the current parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when password matches; with no hash (unknown user) a dummy hash is verified and False returned."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of an access token."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    jti: str
    expires_at: datetime


def create_access_token(settings: Settings, user_id: uuid.UUID, tenant_id: uuid.UUID, role: str) -> tuple[str, int]:
    """Sign an access token; returns it with its lifetime in seconds."""
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.jwt_expire_minutes)
    claims = {
        "sub": str(user_id),
        "tenant_id": str(tenant_id),
        "role": role,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


_verified: dict[tuple[str, str], TokenClaims] = {}
_VERIFIED_MAX = 10_000


def verified_claims(settings: Settings, token: str) -> TokenClaims:
    """decode_access_token, remembering tokens it already verified in this process; expiry is checked every time.

    A token's signature and claims cannot change, so verifying the same string again only costs time; an expired
    token is decoded again, which raises ExpiredSignatureError.
    """
    key = (settings.jwt_secret.get_secret_value(), token)
    claims = _verified.get(key)
    if claims is not None and claims.expires_at > datetime.now(UTC):
        return claims
    claims = decode_access_token(settings, token)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[key] = claims
    return claims


def decode_access_token(settings: Settings, token: str) -> TokenClaims:
    """Verify signature, algorithm, expiry and required claims; raises jwt.InvalidTokenError otherwise."""
    payload = jwt.decode(
        token,
        settings.jwt_secret.get_secret_value(),
        algorithms=[ALGORITHM],
        options={"require": REQUIRED_CLAIMS},
    )
    try:
        return TokenClaims(
            user_id=uuid.UUID(str(payload["sub"])),
            tenant_id=uuid.UUID(str(payload["tenant_id"])),
            role=str(payload["role"]),
            jti=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except (ValueError, TypeError) as exc:
        raise jwt.InvalidTokenError("malformed claims") from exc
