"""Connection config and secrets: validation against the connector's config model, encryption, building connectors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autonomos_api.core.config import Settings
from autonomos_api.core.credentials import CredentialsKeyError, decrypt_secrets, encrypt_secrets
from autonomos_api.core.errors import APIError
from autonomos_pipeline.dcl.store import Connection
from connectors.base import CheckResult, Connector
from connectors.exceptions import ConnectorError, TerminalConnectorError, TransientConnectorError
from connectors.registry import build_connector, config_model
from schemas.source_schema import SourceSchema

log = logging.getLogger(__name__)

# Settings that carry credentials: accepted only in `secrets`, so they are encrypted and never returned.
SECRET_FIELDS: dict[str, frozenset[str]] = {
    "filesource": frozenset(),
    "supabase": frozenset({"url"}),
    "salesforce": frozenset({"client_secret", "password", "security_token"}),
    "mongodb": frozenset({"url"}),
}
# Settings only code may pass (live client objects), never an API caller.
INTERNAL_FIELDS = frozenset({"client"})


def _invalid(errors: list[dict[str, str]]) -> APIError:
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return APIError(422, "validation_error", summary, errors=errors)


def filesource_root(settings: Settings, tenant_id: str) -> Path:
    """The only directory a tenant's file connections may read: <data_dir>/files/<tenant_id>."""
    return (settings.data_dir / "files" / tenant_id).resolve()


def validate(
    settings: Settings, tenant_id: str, type_: str, config: dict[str, Any], secrets: dict[str, str]
) -> dict[str, Any]:
    """The config to store (a relative file path made absolute inside the tenant's file folder).

    422 naming the field when config and secrets do not make a valid connector config for type_.
    """
    if type_ == "filesource" and isinstance(config.get("path"), str) and not Path(config["path"]).is_absolute():
        config = {**config, "path": str(filesource_root(settings, tenant_id) / config["path"])}
    errors = [
        {"field": f"config.{k}", "message": "this setting is a credential: send it in `secrets`"}
        for k in config
        if k in SECRET_FIELDS[type_]
    ]
    errors += [{"field": f"config.{k}", "message": "not allowed"} for k in config if k in INTERNAL_FIELDS]
    errors += [
        {"field": f"secrets.{k}", "message": f"not a credential of {type_} connections"}
        for k in secrets
        if k not in SECRET_FIELDS[type_]
    ]
    if errors:
        raise _invalid(errors)
    try:
        parsed = config_model(type_).model_validate({**config, **secrets})
    except ValidationError as exc:
        raise _invalid(
            [
                {
                    "field": f"{'secrets' if str(e['loc'][0]) in secrets else 'config'}.{'.'.join(map(str, e['loc']))}"
                    if e["loc"]
                    else "config",
                    "message": e["msg"],
                }
                for e in exc.errors()
            ]
        ) from None
    path = getattr(parsed, "path", None)
    if type_ == "filesource" and path is not None:
        root = filesource_root(settings, tenant_id)
        if not Path(path).resolve().is_relative_to(root):
            raise _invalid([{"field": "config.path", "message": "must be inside the tenant's file folder"}])
    return config


def seal(settings: Settings, secrets: dict[str, str]) -> str | None:
    """Encrypt secrets for storage; 503 when no usable key is configured."""
    try:
        return encrypt_secrets(settings, secrets)
    except CredentialsKeyError as exc:
        raise APIError(503, "credentials_key_unavailable", str(exc)) from None


def unseal(settings: Settings, connection: Connection) -> dict[str, str]:
    """Decrypt a connection's secrets; 503 when the configured key cannot."""
    try:
        return decrypt_secrets(settings, connection.secrets_encrypted)
    except CredentialsKeyError as exc:
        raise APIError(503, "credentials_key_unavailable", str(exc)) from None


def _scrub(text: str, secrets: dict[str, str]) -> str:
    for value in secrets.values():
        if value:
            text = text.replace(value, "***")
    return text


@contextmanager
def _open(settings: Settings, connection: Connection, secrets: dict[str, str]) -> Iterator[Connector]:
    """The connection's connector; connector failures become problem responses with secrets scrubbed.

    Invalid configuration and terminal source errors (bad credentials, missing tables) answer 422; transient source
    failures and unexpected connector crashes answer 502, because the fault is upstream, not in the request.
    """
    connector: Connector | None = None
    try:
        connector = build_connector(connection.type, {**connection.config, **secrets})
        yield connector
    except TerminalConnectorError as exc:
        raise APIError(422, "connector_error", _scrub(exc.reason, secrets)) from None
    except TransientConnectorError as exc:
        raise APIError(502, "source_unavailable", _scrub(exc.reason, secrets)) from None
    except ConnectorError as exc:
        raise APIError(502, "connector_error", _scrub(exc.reason, secrets)) from None
    except APIError:
        raise
    except Exception as exc:
        log.warning("connector %s failed: %s", connection.type, type(exc).__name__)
        raise APIError(502, "connector_failed", f"the {connection.type} connector failed unexpectedly") from None
    finally:
        if connector is not None:
            try:
                connector.close()
            except Exception as exc:
                log.warning("closing the %s connector failed: %s", connection.type, type(exc).__name__)


def check(settings: Settings, connection: Connection) -> CheckResult:
    """Run the connector's health check."""
    secrets = unseal(settings, connection)
    with _open(settings, connection, secrets) as connector:
        result = connector.check()
    return CheckResult(ok=result.ok, reason=_scrub(result.reason, secrets))


def discover(settings: Settings, connection: Connection) -> list[SourceSchema]:
    """Discover the source's streams."""
    with _open(settings, connection, unseal(settings, connection)) as connector:
        return connector.discover()
