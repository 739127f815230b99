"""The SQL application of a mapping gives, row by row, what the Python normalisers and the documented checks give."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from autonomos_pipeline.dcl.canonical_sql import (
    ERRORS,
    PHONE_COUNTRY,
    build_lookups,
    drop_stages,
    plan_fields,
    stage_input,
    stage_output,
)
from autonomos_pipeline.dcl.warehouse import ensure_raw_tables, write_batch
from schemas import canonical_fields, required_fields
from schemas.normalize import DEFAULT_NORMALISER, NORMALISERS, NULL_LIKE, NormalisationError

RNG = random.Random(7)
SOURCE = {
    "account_id": "Id",
    "name": "Account Name",
    "website": "Website",
    "employee_count": "Employees",
    "annual_revenue": "Annual Revenue",
    "phone": "Phone",
    "billing_country": "Billing Country",
    "billing_city": "Billing City",
    "created_at": "Created Date",
}
PHONES = ["+1 415 555 2671", "+33 1 23 45 67", "(415) 555-2671", "020 7946 0958", "+44 20 7946 0958", "call me",
          "+65 6123 4567", "555-0100 ext. 12", "+7 8 495 123 45 67", "N/A", "", "12"]  # fmt: skip
WEBSITES = [
    "www.acme.com",
    "https://Acme.io/about",
    "acme",
    "http://www.www.com",
    "bad site.com",
    "1.2.3.4",
    "xn--bcher-kva.de",
]
EMPLOYEES = ["120", "1,200", "-5", "abc", "  42 ", "3.0", "null"]
REVENUE = ["1000", "1000.50", "$1.2M", "EUR 3,000", "free", "-12.5"]
COUNTRIES = ["US", "United Kingdom", "France", "Narnia", "sg", "Deutschland", ""]
CREATED = ["2024-01-15T10:30:00.000Z", "01/15/2024", "2024-01-15", "yesterday", "2024-02-30T10:00:00Z", "1700000000"]
NAMES = ["Acme  Corp", "  Globex ", "N/A", "Initech", "Umbrella"]


def _payloads(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        row = {
            "Id": f"A{i % (n - 15)}",  # the last 15 rows repeat earlier ids
            "Account Name": RNG.choice(NAMES),
            "Website": RNG.choice(WEBSITES),
            "Employees": RNG.choice(EMPLOYEES),
            "Annual Revenue": RNG.choice(REVENUE),
            "Phone": RNG.choice(PHONES),
            "Billing Country": RNG.choice(COUNTRIES),
            "Billing City": RNG.choice(["Paris", " London", None]),
            "Created Date": RNG.choice(CREATED),
        }
        if i % 17 == 0:
            row["Id"] = None
        rows.append(row)
    clean = {"Account Name": "Dup Inc", "Website": "dup.com", "Employees": "3", "Annual Revenue": "10"}
    clean |= {
        "Phone": "+1 415 555 2671",
        "Billing Country": "US",
        "Billing City": "Paris",
        "Created Date": "2024-01-15",
    }
    return [*rows, {"Id": "DUP", **clean}, {"Id": "DUP", **clean}, {"Id": "OTHER", **clean}]


def _str(value: str | None) -> str | None:
    if value is None or value.strip().lower() in NULL_LIKE:
        return None
    return re.sub(r"\s+", " ", value.strip())


def _reference(entity: str, mapping: dict[str, dict[str, Any]], rows: list[dict[str, Any]], deleted: set[int]):
    """The documented behaviour, row by row in Python: values and the set of (field, reason) errors."""
    out = []
    seen: set[Any] = set()
    hint_field = PHONE_COUNTRY[entity]
    for i, row in enumerate(rows):
        values: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for name in sorted(canonical_fields(entity), key=lambda f: f != hint_field):
            m = mapping.get(name)
            raw = row.get(m["source_field"]) if m else None
            normaliser = DEFAULT_NORMALISER[(entity, name)]
            if m is None or normaliser == "str":
                values[name] = _str(raw) if m else None
                continue
            try:
                kwargs = {"country": values.get(hint_field)} if normaliser == "phone" else {}
                value = NORMALISERS[normaliser](raw, field=name, **kwargs)
                values[name] = getattr(value, "value", value)
            except NormalisationError as exc:
                values[name] = None
                errors.append((name, exc.reason))
        if i in deleted:  # a deletion is never rejected, but its id counts towards repeats
            seen.add(values["account_id"] or row["Id"])
            out.append((values, set()))
            continue
        for req in required_fields(entity):
            if values[req] is None and not any(f == req for f, _ in errors):
                errors.append((req, "missing_required"))
        if (values["employee_count"] or 0) < 0:
            errors.append(("employee_count", "negative"))
        rid = values["account_id"]
        if rid is not None and not errors:
            if rid in seen:
                errors.append(("account_id", "duplicate_id"))
            seen.add(rid)
        out.append((values, set(errors)))
    return out


def test_sql_application_matches_the_reference() -> None:
    entity = "account"
    mapping = {f: {"canonical_field": f, "source_field": s} for f, s in SOURCE.items()}
    rows = _payloads(397)
    con = duckdb.connect()
    ensure_raw_tables(con)
    table = pa.Table.from_pylist(rows)
    write_batch(
        con, batch_id="b1", connection_id="c1", stream="accounts", table=table, id_column="Id", deleted_ids=[],
        fingerprint="f", cursor_before=None, cursor_after=None, error_count=0, ingested_at=datetime.now(UTC),
    )  # fmt: skip
    deleted = {3, 40, 41}
    con.execute("UPDATE raw_records SET is_deleted = TRUE WHERE row_index IN (3, 40, 41)")
    plans = plan_fields(entity, mapping)
    stage_input(con, plans, ["b1"])
    lookups = build_lookups(con, entity, plans)
    stage_output(con, entity, plans, lookups)
    got = con.sql("SELECT * FROM _canon_checked ORDER BY row_index").to_arrow_table().to_pylist()
    drop_stages(con, lookups)
    expected = _reference(entity, mapping, rows, deleted)
    assert len(got) == len(expected) == 400
    reasons_seen: set[str] = set()
    for row, (values, errors) in zip(got, expected, strict=True):
        got_errors = {(e["field"], e["reason"]) for e in json.loads(row[ERRORS] or "[]")}
        assert got_errors == errors, f"row {row['row_index']}: {got_errors} != {errors}"
        reasons_seen |= {reason for _, reason in errors}
        if errors:
            continue
        for name, value in values.items():
            if name == "account_id" and row["is_deleted"] and value is None:
                value = row["source_record_id"]
            assert row[name] == value, f"row {row['row_index']} {name}: {row[name]!r} != {value!r}"
    # the data exercises every kind of rejection
    assert {"invalid_phone", "missing_required", "negative", "duplicate_id"} <= reasons_seen
