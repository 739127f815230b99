"""`autonomos connections add|list`: a tenant's source connections, secrets encrypted at rest."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from autonomos_pipeline.dcl.secrets import encrypt_secrets
from autonomos_pipeline.dcl.store import Connection, Tenant, tenant_session, upgrade
from connectors import ConnectorError, config_model


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `connections add` and `connections list`."""
    connections = subparsers.add_parser("connections", help="manage a tenant's source connections")
    sub = connections.add_subparsers(dest="connections_command", required=True)
    add = sub.add_parser("add", help="add a connection to a tenant")
    add.add_argument("--tenant", required=True, help="tenant id")
    add.add_argument("--type", required=True, choices=["filesource", "supabase", "salesforce", "mongodb"])
    add.add_argument("--name", help="connection name (default: the type)")
    add.add_argument("--config", action="append", default=[], metavar="KEY=VALUE", help="a setting (repeatable)")
    add.add_argument("--config-json", help="settings as one JSON object")
    add.add_argument(
        "--secret", action="append", default=[], metavar="KEY=VALUE", help="a secret setting, stored encrypted"
    )
    add.add_argument("--refresh-minutes", type=int, default=60, help="how often the source is re-read")
    add.set_defaults(func=run_add)
    lst = sub.add_parser("list", help="list a tenant's connections")
    lst.add_argument("--tenant", required=True)
    lst.set_defaults(func=run_list)


def _pairs(items: list[str], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_connection(
    tenant_id: str,
    type_: str,
    name: str,
    config: dict[str, Any],
    secrets: dict[str, Any],
    refresh_minutes: int = 60,
) -> uuid.UUID:
    """Validate the connector config and store the connection; raises ValueError with the reason when invalid."""
    try:
        config_model(type_).model_validate({**config, **secrets})
    except ConnectorError as exc:
        raise ValueError(exc.reason) from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid {type_} config: {problems}") from exc
    tid = uuid.UUID(tenant_id)
    cid = uuid.uuid4()
    with tenant_session(tid) as s:
        if s.get(Tenant, tid) is None:
            raise ValueError(f"no tenant {tenant_id}: create it with `autonomos tenants create NAME`")
        s.add(
            Connection(
                id=cid,
                tenant_id=tid,
                name=name,
                type=type_,
                config=config,
                secrets_encrypted=encrypt_secrets(secrets) if secrets else None,
                refresh_interval_minutes=refresh_minutes,
            )
        )
    return cid


def run_add(args: argparse.Namespace) -> int:
    """Add the connection and print its id."""
    upgrade()
    config = json.loads(args.config_json) if args.config_json else {}
    config.update(_pairs(args.config, "--config"))
    try:
        cid = add_connection(
            args.tenant,
            args.type,
            args.name or args.type,
            config,
            _pairs(args.secret, "--secret"),
            args.refresh_minutes,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(cid)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the tenant's connections (never their secrets)."""
    with tenant_session(args.tenant) as s:
        for c in s.scalars(select(Connection).order_by(Connection.created_at)):
            print(f"{c.id}\t{c.type}\t{c.name}\t{json.dumps(c.config)}")
    return 0
