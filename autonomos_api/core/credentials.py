"""Connection secrets for the API: a thin adapter over the pipeline's one Fernet implementation (dcl.secrets)."""

from __future__ import annotations

from cryptography.fernet import Fernet

from autonomos_pipeline.dcl import secrets as _secrets
from autonomos_pipeline.dcl.settings import Settings

# The API and the pipeline must agree on the key and the format; both use dcl.secrets, so one error type.
CredentialsKeyError = _secrets.SecretsError

__all__ = ["CredentialsKeyError", "decrypt_secrets", "encrypt_secrets", "fernet"]


def fernet(settings: Settings) -> Fernet:
    """The cipher of connection secrets (AUTONOMOS_CREDENTIALS_KEY; derived from the JWT secret outside production)."""
    return _secrets.fernet_for(settings)


def encrypt_secrets(settings: Settings, secrets: dict[str, str]) -> str | None:
    """Encrypt a secrets mapping (None when it is empty)."""
    if not secrets:
        return None
    return _secrets.encrypt_secrets(secrets, settings)


def decrypt_secrets(settings: Settings, token: str | None) -> dict[str, str]:
    """Decrypt what encrypt_secrets produced ({} for None)."""
    return {str(k): str(v) for k, v in _secrets.decrypt_secrets(token, settings).items()}
