"""Connection secrets encrypted at rest with Fernet; the key comes from the settings, never from code."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from autonomos_pipeline.dcl.settings import Settings, get_settings


class SecretsError(RuntimeError):
    """Secrets cannot be encrypted or decrypted (no key in production, or a wrong key)."""


def fernet_for(settings: Settings | None = None) -> Fernet:
    """The Fernet of AUTONOMOS_CREDENTIALS_KEY; in development and tests, one derived from the JWT secret (HKDF)."""
    settings = settings or get_settings()
    if settings.credentials_key is not None:
        try:
            return Fernet(settings.credentials_key.get_secret_value().encode())
        except ValueError as exc:
            raise SecretsError("AUTONOMOS_CREDENTIALS_KEY is not a valid Fernet key") from exc
    if settings.environment == "production":
        raise SecretsError("AUTONOMOS_CREDENTIALS_KEY must be set to store connection secrets in production")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"autonomos connection secrets v1").derive(
        settings.jwt_secret.get_secret_value().encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secrets(secrets: dict[str, Any], settings: Settings | None = None) -> str:
    """Encrypt a dict of secrets to an opaque token."""
    return fernet_for(settings).encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()


def decrypt_secrets(token: str | None, settings: Settings | None = None) -> dict[str, Any]:
    """Decrypt a token made by encrypt_secrets ({} when there is none)."""
    if not token:
        return {}
    try:
        value: dict[str, Any] = json.loads(fernet_for(settings).decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretsError("connection secrets cannot be decrypted with the configured key") from exc
    return value
