"""`autonomos tenants create|list`: tenants in the serving store and as partitions of the Dagster instance."""

from __future__ import annotations

import argparse
import re
import uuid

from sqlalchemy import select

from autonomos_pipeline.dcl.dagster_home import ensure_dagster_home
from autonomos_pipeline.dcl.store import Tenant, tenant_session, upgrade

PARTITIONS_NAME = "tenants"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `tenants create NAME` and `tenants list`."""
    tenants = subparsers.add_parser("tenants", help="manage tenants")
    sub = tenants.add_subparsers(dest="tenants_command", required=True)
    create = sub.add_parser("create", help="create a tenant and register its Dagster partition")
    create.add_argument("name")
    create.set_defaults(func=run_create)
    lst = sub.add_parser("list", help="list the tenant partitions of the Dagster instance")
    lst.set_defaults(func=run_list)


def slugify(name: str) -> str:
    """A URL-safe slug of a tenant name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "tenant"


def create_tenant(name: str) -> uuid.UUID:
    """Create the tenant row and add its id as a partition of the `tenants` dynamic partitions."""
    import dagster as dg

    upgrade()
    tid = uuid.uuid4()
    with tenant_session(tid) as s:
        s.add(Tenant(id=tid, name=name, slug=f"{slugify(name)}-{tid.hex[:8]}"))
    ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(PARTITIONS_NAME, [str(tid)])
    return tid


def run_create(args: argparse.Namespace) -> int:
    """Create a tenant and print its id."""
    tid = create_tenant(args.name)
    print(tid)
    return 0


def run_list(_args: argparse.Namespace) -> int:
    """Print every tenant partition with its name."""
    import dagster as dg

    ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:
        keys = instance.get_dynamic_partitions(PARTITIONS_NAME)
    for key in keys:
        with tenant_session(key) as s:
            name = s.scalar(select(Tenant.name).where(Tenant.id == uuid.UUID(key)))
        print(f"{key}\t{name or '?'}")
    return 0
