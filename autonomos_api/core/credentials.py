"""Connection secrets encrypted at rest with Fernet; the key comes from the settings."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from autonomos_pipeline.dcl.settings import Settings

_HKDF_INFO = b"autonomos connection secrets v1"


class CredentialsKeyError(Exception):
    """Secrets cannot be encrypted or decrypted with the configured key."""


def fernet(settings: Settings) -> Fernet:
    """The cipher of connection secrets.

    AUTONOMOS_CREDENTIALS_KEY (a Fernet key) is used when set. In development and test, when it is unset, a key is
    derived deterministically from the JWT secret with HKDF-SHA256 so local set-ups work without extra configuration;
    in production a missing key is refused, because secrets must not depend on the token-signing secret.
    """
    if settings.credentials_key is not None:
        try:
            return Fernet(settings.credentials_key.get_secret_value().encode())
        except ValueError as exc:
            raise CredentialsKeyError("AUTONOMOS_CREDENTIALS_KEY is not a valid Fernet key") from exc
    if settings.environment == "production":
        raise CredentialsKeyError("AUTONOMOS_CREDENTIALS_KEY must be set to store connection secrets in production")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    key = hkdf.derive(settings.jwt_secret.get_secret_value().encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secrets(settings: Settings, secrets: dict[str, str]) -> str | None:
    """Encrypt a secrets mapping (None when it is empty)."""
    if not secrets:
        return None
    return fernet(settings).encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()


def decrypt_secrets(settings: Settings, token: str | None) -> dict[str, str]:
    """Decrypt what encrypt_secrets produced ({} for None)."""
    if not token:
        return {}
    try:
        data = json.loads(fernet(settings).decrypt(token.encode()))
    except InvalidToken as exc:
        raise CredentialsKeyError("stored secrets cannot be decrypted with the configured key") from exc
    return {str(k): str(v) for k, v in data.items()}
