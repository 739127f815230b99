"""A big first load of a connection becomes a partition of its own, indexed once, serving what an insert would."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError

from autonomos_pipeline.dcl import serve
from autonomos_pipeline.dcl.store import Connection, Tenant, get_engine, tenant_session
from tests.utils.serving import (
    ACCOUNTS_TABLE,
    UP_TO_CANONICAL,
    accounts_folder,
    materialize_assets,
    serve_accounts,
    served_accounts,
    tenant_warehouse,
    unmaterialize,
    without_materialized_at,
)
from tests.utils.stores import Store, make_connection, make_tenant

pytestmark = pytest.mark.postgres

#: values that CSV and type parsing could get wrong: quotes, commas, a line break, decimals, dates, empty cells
ACCOUNTS = (
    "Id,Account Name,Industry,AnnualRevenue,NumberOfEmployees,Website,CreatedDate,Description\n"
    '001A,Acme,Tech,1250000.5,120,acme.example,2024-03-01T10:00:00Z,"Says ""hi"", twice"\n'
    '001B,Globex,Energy,,,https://globex.example,2023-12-31T23:59:59+02:00,"two\nlines"\n'
    "001C,Initech,Tech,0.25,7,,,\n"
)


def _partitions(store: Store, tenant: uuid.UUID) -> dict[str, str]:
    """The tenant's account partitions (name -> partition bound), as the owner sees the catalog."""
    with get_engine(store.admin_url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
                " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:p)"
            ),
            {"p": f"ma_t_{tenant.hex}"},
        )
        return {name: bound for name, bound in rows}


def _index_count(store: Store, table: str) -> int:
    with get_engine(store.admin_url).connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM pg_index WHERE indrelid = to_regclass(:t)"), {"t": table}).scalar()
            or 0
        )


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every first load of at least two rows is bulk-loaded."""
    monkeypatch.setattr(serve, "BULK_LOAD_MIN_ROWS", 2)


@pytest.mark.usefixtures("bulk")
def test_a_bulk_first_load_serves_what_the_insert_path_serves(pg_store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    tenant = make_tenant(pg_store, "Bulk")
    cid = make_connection(pg_store, tenant, config={"path": str(accounts_folder(tmp_path, "a", ACCOUNTS))})
    report = serve_accounts(pg_store, data, tenant, {str(cid): "filesource"})
    assert (report.upserted, report.first_load, report.bulk_loaded) == (3, 3, 3)
    partition = f"ma_c_{cid.hex}"
    assert _partitions(pg_store, tenant) == {
        f"ma_d_{tenant.hex}": "DEFAULT",
        partition: f"FOR VALUES IN ('{cid}')",
    }
    served_indexes = _index_count(pg_store, "materialized_accounts")
    assert served_indexes == 6, "the key, the connection's index and the views' four"
    assert _index_count(pg_store, partition) == _index_count(pg_store, f"ma_d_{tenant.hex}") == served_indexes
    with get_engine(pg_store.admin_url).connect() as conn:
        defaults = conn.execute(
            text("SELECT count(*) FROM pg_attrdef WHERE adrelid = to_regclass(:t)"), {"t": partition}
        ).scalar()
    assert defaults == 0, "the load's constant defaults are gone once it is attached"
    bulk = served_accounts(pg_store, tenant)
    assert bulk[(cid, "001A")]["description"] == 'Says "hi", twice'
    assert bulk[(cid, "001B")]["description"] == "two lines", "the normaliser folds whitespace"
    assert bulk[(cid, "001B")]["annual_revenue"] is None and bulk[(cid, "001C")]["website"] is None
    assert {k[1]: (r["name"], r["industry"], r["source_system"]) for k, r in bulk.items()} == {
        "001A": ("Acme", "Tech", "filesource"),
        "001B": ("Globex", "Energy", "filesource"),
        "001C": ("Initech", "Tech", "filesource"),
    }

    # The same pending rows through the plain insert path give the same rows (ids and lineage included).
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.execute(delete(ACCOUNTS_TABLE))
    unmaterialize(data, tenant)
    with tenant_warehouse(data, tenant) as con:
        report = serve.materialize_entity(con, pg_store.app_engine, str(tenant), "account", {str(cid): "filesource"})
    assert (report.first_load, report.bulk_loaded) == (3, 0), "the connection has its partition: it is inserted"
    assert without_materialized_at(served_accounts(pg_store, tenant)) == without_materialized_at(bulk)

    # A later load upserts into the partition, and an unchanged one changes nothing.
    accounts_folder(tmp_path, "a", ACCOUNTS.replace("Initech,Tech", "Initech,Retail"))
    report = serve_accounts(pg_store, data, tenant, {str(cid): "filesource"})
    assert (report.upserted, report.first_load, report.bulk_loaded) == (3, 0, 0)
    served = served_accounts(pg_store, tenant)
    assert served[(cid, "001C")]["industry"] == "Retail"
    unmaterialize(data, tenant)
    with tenant_warehouse(data, tenant) as con:
        serve.materialize_entity(con, pg_store.app_engine, str(tenant), "account", {str(cid): "filesource"})
    assert served_accounts(pg_store, tenant) == served


@pytest.mark.usefixtures("bulk")
def test_bulk_loaded_rows_stay_with_their_tenant(pg_store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    mine, other = make_tenant(pg_store, "Mine"), make_tenant(pg_store, "Other")
    cid = make_connection(pg_store, mine, config={"path": str(accounts_folder(tmp_path, "a", ACCOUNTS))})
    assert serve_accounts(pg_store, data, mine, {str(cid): "filesource"}).bulk_loaded == 3
    with tenant_session(other, pg_store.app_engine) as s:
        assert s.execute(text("SELECT count(*) FROM materialized_accounts")).scalar() == 0
    # the application role reaches rows only through the parent's policy, never the partition itself
    with pytest.raises(DBAPIError, match="permission denied"), tenant_session(mine, pg_store.app_engine) as s:
        s.execute(text(f"SELECT count(*) FROM ma_c_{cid.hex}"))
    # nor can it load for another tenant than its session's
    with pytest.raises(DBAPIError, match="needs that tenant's session"), pg_store.app_engine.begin() as conn:
        conn.execute(text("SELECT set_config('autonomos.tenant_id', :t, true)"), {"t": str(other)})
        conn.execute(
            text("SELECT serving_begin_load('account', :t, :c, 'filesource', now())"), {"t": str(mine), "c": str(cid)}
        )


@pytest.mark.usefixtures("bulk")
def test_a_connection_with_served_rows_is_not_bulk_loaded(
    pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load racing another: the connection looked unserved when the path was picked, but has a row by the time
    the bulk load begins, so its rows are inserted the ordinary way, beside that row."""
    tenant = make_tenant(pg_store, "Served")
    cid = make_connection(pg_store, tenant, config={"path": str(accounts_folder(tmp_path, "a", ACCOUNTS))})
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.execute(
            text(
                "INSERT INTO materialized_accounts (id, tenant_id, connection_id, source_system, source_record_id,"
                " mapping_version, ingested_at, materialized_at, is_deleted, account_id, name)"
                " VALUES (:id, :t, :c, 'filesource', 'zzz', 1, now(), now(), false, 'zzz', 'Served already')"
            ),
            {"id": str(uuid.uuid4()), "t": str(tenant), "c": str(cid)},
        )
    monkeypatch.setattr(serve, "_unserved_connections", lambda engine, tenant_id, table, connections: connections)
    report = serve_accounts(pg_store, tmp_path / "data", tenant, {str(cid): "filesource"})
    assert (report.upserted, report.first_load, report.bulk_loaded) == (3, 3, 0)
    assert set(_partitions(pg_store, tenant)) == {f"ma_d_{tenant.hex}"}, "no partition of its own"
    assert len(served_accounts(pg_store, tenant)) == 4


@pytest.mark.usefixtures("bulk")
def test_deleting_a_tenant_drops_its_partitions(pg_store: Store, tmp_path: Path) -> None:
    tenant = make_tenant(pg_store, "Leaving")
    cid = make_connection(pg_store, tenant, config={"path": str(accounts_folder(tmp_path, "a", ACCOUNTS))})
    assert serve_accounts(pg_store, tmp_path / "data", tenant, {str(cid): "filesource"}).bulk_loaded == 3
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.delete(s.get_one(Connection, cid))
        s.delete(s.get_one(Tenant, tenant))
    with get_engine(pg_store.admin_url).connect() as conn:
        left = conn.execute(
            text("SELECT relname FROM pg_class WHERE relname LIKE :p"), {"p": f"%{tenant.hex}%"}
        ).fetchall()
    assert left == []


@pytest.mark.usefixtures("bulk")
def test_a_reset_or_a_deleted_connection_drops_its_partition(pg_store: Store, tmp_path: Path) -> None:
    """After a reset the same connection is bulk-loaded again; deleting a connection drops its partition."""
    from autonomos_api.services.reset import clear_rows

    data = tmp_path / "data"
    tenant = make_tenant(pg_store, "Again")
    cid = make_connection(pg_store, tenant, config={"path": str(accounts_folder(tmp_path, "a", ACCOUNTS))})
    assert serve_accounts(pg_store, data, tenant, {str(cid): "filesource"}).bulk_loaded == 3
    with tenant_session(tenant, pg_store.app_engine) as s:
        assert clear_rows(s, tenant)["materialized_accounts"] == 3
    assert set(_partitions(pg_store, tenant)) == {f"ma_d_{tenant.hex}"}
    unmaterialize(data, tenant)
    with tenant_warehouse(data, tenant) as con:
        report = serve.materialize_entity(con, pg_store.app_engine, str(tenant), "account", {str(cid): "filesource"})
    assert report.bulk_loaded == 3
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.delete(s.get_one(Connection, cid))
    assert set(_partitions(pg_store, tenant)) == {f"ma_d_{tenant.hex}"}
    assert served_accounts(pg_store, tenant) == {}


@pytest.mark.usefixtures("bulk")
def test_the_latest_of_two_pending_versions_is_served(pg_store: Store, tmp_path: Path) -> None:
    """Two batches not yet served hold the same records: only each record's latest version is loaded."""
    data = tmp_path / "data"
    tenant = make_tenant(pg_store, "Twice")
    folder = accounts_folder(tmp_path, "a", ACCOUNTS)
    cid = make_connection(pg_store, tenant, config={"path": str(folder)})
    materialize_assets(pg_store, data, tenant, UP_TO_CANONICAL)
    accounts_folder(tmp_path, "a", ACCOUNTS.replace("Globex", "Globex Two").replace("Initech,Tech", "Initech,Retail"))
    report = serve_accounts(pg_store, data, tenant, {str(cid): "filesource"})
    assert (report.batches, report.upserted, report.bulk_loaded) == (2, 3, 3)
    served = served_accounts(pg_store, tenant)
    assert {k[1]: (r["name"], r["industry"]) for k, r in served.items()} == {
        "001A": ("Acme", "Tech"),
        "001B": ("Globex Two", "Energy"),
        "001C": ("Initech", "Retail"),
    }


def _app(store: Store, tenant: uuid.UUID) -> Any:
    """A raw connection of the application role, bound to tenant for its transactions."""
    raw = store.app_engine.raw_connection()
    cur = raw.cursor()
    cur.execute("SELECT set_config('autonomos.tenant_id', %s, false)", (str(tenant),))
    raw.commit()
    return raw


@pytest.mark.usefixtures("bulk")
def test_temporary_tables_cannot_stand_in_for_partitions(pg_store: Store, tmp_path: Path) -> None:
    """The definer functions name their relations with the schema: a session's temporary table of a partition's name
    neither hides a partition from them nor gets another tenant's partition dropped."""
    victim = make_tenant(pg_store, "Victim")
    cid = make_connection(pg_store, victim, config={"path": str(accounts_folder(tmp_path, "a", ACCOUNTS))})
    assert serve_accounts(pg_store, tmp_path / "data", victim, {str(cid): "filesource"}).bulk_loaded == 3
    attacker = uuid.uuid4()
    raw = _app(pg_store, attacker)
    try:
        cur = raw.cursor()
        cur.execute(f"CREATE TEMP TABLE ma_t_{attacker.hex} (x int)")
        cur.execute(f"CREATE TEMP TABLE ma_c_{cid.hex} () INHERITS (ma_t_{attacker.hex})")
        cur.execute("SELECT serving_drop_load_partitions(%s)", (str(attacker),))
        cur.execute(
            "INSERT INTO tenants (id, name, slug, created_at) VALUES (%s, 'Attacker', %s, now())",
            (str(attacker), f"attacker-{attacker.hex[:8]}"),
        )
        raw.commit()
    finally:
        raw.close()
    assert f"ma_c_{cid.hex}" in _partitions(pg_store, victim), "the victim's partition is still there"
    assert set(_partitions(pg_store, attacker)) == {f"ma_d_{attacker.hex}"}, "the new tenant got its partitions"


@pytest.mark.usefixtures("bulk")
def test_a_load_left_unfinished_is_replaced_and_cannot_be_finished_later(pg_store: Store, tmp_path: Path) -> None:
    tenant = make_tenant(pg_store, "Unfinished")
    cid = make_connection(pg_store, tenant, config={"path": str(accounts_folder(tmp_path, "a", ACCOUNTS))})
    raw = _app(pg_store, tenant)
    try:
        cur = raw.cursor()
        cur.execute("SELECT serving_begin_load('account', %s, %s, 'filesource', now())", (str(tenant), str(cid)))
        raw.commit()  # committed without finishing: the table stays, unattached
        with pytest.raises(Exception, match="was begun in this transaction"):
            cur.execute("SELECT serving_finish_load('account', %s, %s)", (str(tenant), str(cid)))
        raw.rollback()
    finally:
        raw.close()
    assert serve_accounts(pg_store, tmp_path / "data", tenant, {str(cid): "filesource"}).bulk_loaded == 3
    assert f"ma_c_{cid.hex}" in _partitions(pg_store, tenant)


def test_two_bulk_loads_of_one_tenant_take_turns(pg_store: Store) -> None:
    """Loads of two connections of one tenant queue on the tenant's partition instead of deadlocking at ATTACH."""
    tenant = make_tenant(pg_store, "Turns")
    first, second = make_connection(pg_store, tenant, "one"), make_connection(pg_store, tenant, "two")
    loads = [_app(pg_store, tenant), _app(pg_store, tenant)]

    def begin(raw: Any, cid: uuid.UUID) -> None:
        raw.cursor().execute(
            "SELECT serving_begin_load('account', %s, %s, 'filesource', now())", (str(tenant), str(cid))
        )

    def finish(raw: Any, cid: uuid.UUID) -> None:
        raw.cursor().execute("SELECT serving_finish_load('account', %s, %s)", (str(tenant), str(cid)))
        raw.commit()

    try:
        begin(loads[0], first)
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(lambda: (begin(loads[1], second), finish(loads[1], second)))
            time.sleep(0.5)
            assert not waiting.done(), "the second load waits for the first"
            finish(loads[0], first)
            waiting.result(timeout=30)
    finally:
        for raw in loads:
            raw.close()
    assert set(_partitions(pg_store, tenant)) == {f"ma_d_{tenant.hex}", f"ma_c_{first.hex}", f"ma_c_{second.hex}"}
