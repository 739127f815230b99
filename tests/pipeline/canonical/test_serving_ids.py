"""The serving row id computed in DuckDB is the documented uuid5 of (tenant, connection, entity, record id)."""

from __future__ import annotations

import duckdb

from autonomos_pipeline.dcl.serve import _row_id_sql, row_id


def test_sql_row_id_is_python_uuid5() -> None:
    tenant = "7b0c2c9e-4f7e-4c47-9d3c-4c1c0f6a1b2d"
    records = [f"001{i:012X}AAA" for i in range(500)] + ["Zürich ✓", "it's", "", "a/b"]
    digest, uuid_text = _row_id_sql(tenant, "account", "record")
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT connection_id, record, {uuid_text} FROM (
                SELECT *, {digest} AS __h FROM (
                    SELECT 'c0ffee00-0000-4000-8000-000000000001' AS connection_id, unnest(?::VARCHAR[]) AS record))""",
        [records],
    ).fetchall()
    assert len(rows) == len(records)
    for connection, record, computed in rows:
        assert computed == str(row_id(tenant, connection, "account", record))
