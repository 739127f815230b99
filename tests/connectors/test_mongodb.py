"""MongoDB connector against mongomock (no MongoDB server is available here), injected through the config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import mongomock
import pytest
from bson import Decimal128, ObjectId

from connectors import Batch, TerminalConnectorError, build_connector
from connectors.base import Connector
from schemas.source_schema import FieldType

T0 = datetime(2024, 5, 1, 8, 0, 0)
T1 = datetime(2024, 5, 2, 8, 0, 0)


@pytest.fixture
def client() -> mongomock.MongoClient:
    client: mongomock.MongoClient = mongomock.MongoClient()
    client.crm.accounts.insert_many(
        [
            {
                "_id": ObjectId(f"65f0000000000000000000{i:02d}"),
                "name": f"Acme {i}",
                "hq": {"address": {"city": "Berlin", "zip": "10115"}, "floors": 3},
                "tags": ["b2b", "eu"],
                "contacts": [{"name": "Ada"}],
                "revenue": Decimal128("1500000.25"),
                "updated_at": T0,
                "meta": {},
            }
            for i in range(5)
        ]
    )
    return client


def _connector(client: mongomock.MongoClient, **config: Any) -> Connector:
    return build_connector("mongodb", {"database": "crm", "client": client, **config})


def _rows(batches: list[Batch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.table.to_pylist()]


@pytest.fixture
def connector(client: mongomock.MongoClient) -> Iterator[Connector]:
    connector = _connector(client)
    yield connector
    connector.close()


def test_discover_flattens_documents_and_infers_types(connector: Connector) -> None:
    (schema,) = connector.discover()
    assert schema.stream == "accounts" and schema.primary_key == ["_id"] and schema.cursor_field == "_id"
    types = {f.name: f.type for f in schema.fields}
    assert types == {
        "_id": FieldType.STRING,
        "name": FieldType.STRING,
        "hq.address.city": FieldType.STRING,
        "hq.address.zip": FieldType.STRING,
        "hq.floors": FieldType.INTEGER,
        "tags": FieldType.ARRAY,
        "contacts": FieldType.ARRAY,
        "revenue": FieldType.NUMBER,
        "updated_at": FieldType.DATETIME,
        "meta": FieldType.OBJECT,
    }
    city = schema.field("hq.address.city")
    assert city is not None and city.sample_values == ["Berlin"]
    updated = schema.field("updated_at")
    assert updated is not None and updated.sample_values == ["2024-05-01T08:00:00+00:00"]
    assert json.dumps([f.sample_values for f in schema.fields])


def test_read_converts_bson_and_keeps_arrays_as_json(connector: Connector) -> None:
    (batch,) = list(connector.read("accounts"))
    row = batch.table.to_pylist()[0]
    assert row["_id"] == "65f000000000000000000000"
    assert row["hq.address.city"] == "Berlin" and row["hq.floors"] == 3
    assert json.loads(row["tags"]) == ["b2b", "eu"] and json.loads(row["contacts"]) == [{"name": "Ada"}]
    assert Decimal(row["revenue"]) == Decimal("1500000.25")
    assert row["updated_at"] == "2024-05-01T08:00:00+00:00" and row["meta"] == "{}"


def test_incremental_by_id(client: mongomock.MongoClient, connector: Connector) -> None:
    first = list(connector.read("accounts", batch_size=2))
    assert [b.table.num_rows for b in first] == [2, 2, 1]
    assert [r["name"] for r in _rows(list(connector.read("accounts", first[0].cursor)))] == [
        "Acme 2",
        "Acme 3",
        "Acme 4",
    ]
    assert list(connector.read("accounts", first[-1].cursor)) == []
    client.crm.accounts.insert_one({"_id": ObjectId("65f000000000000000000099"), "name": "New"})
    assert [r["name"] for r in _rows(list(connector.read("accounts", first[-1].cursor)))] == ["New"]


def test_incremental_by_update_time_keeps_ties_and_missing_values(client: mongomock.MongoClient) -> None:
    client.crm.accounts.insert_one({"_id": ObjectId("65f000000000000000000050"), "name": "No timestamp"})
    connector = _connector(client, cursor_field="updated_at")
    first = list(connector.read("accounts", batch_size=2))
    assert [r["name"] for r in _rows(first)] == ["No timestamp", *[f"Acme {i}" for i in range(5)]]
    resumed = list(connector.read("accounts", first[1].cursor, batch_size=2))
    assert [r["name"] for r in _rows(resumed)] == ["Acme 3", "Acme 4"]
    assert list(connector.read("accounts", first[-1].cursor)) == []
    client.crm.accounts.update_one({"name": "Acme 1"}, {"$set": {"updated_at": T1, "name": "Acme 1b"}})
    client.crm.accounts.insert_one({"_id": ObjectId("65f000000000000000000060"), "name": "Tie", "updated_at": T0})
    assert [r["name"] for r in _rows(list(connector.read("accounts", first[-1].cursor)))] == ["Tie", "Acme 1b"]


def test_mixed_kinds_in_one_field_become_json_text(client: mongomock.MongoClient) -> None:
    client.crm.events.insert_many([{"_id": 1, "value": 5}, {"_id": 2, "value": "five"}, {"_id": 3, "value": 2.5}])
    (batch,) = list(_connector(client).read("events"))
    assert batch.table.column("value").to_pylist() == ["5", "five", "2.5"]


def test_missing_collection_is_terminal(client: mongomock.MongoClient, connector: Connector) -> None:
    with pytest.raises(TerminalConnectorError, match="collection 'deals' does not exist in database 'crm'"):
        list(connector.read("deals"))
    configured = _connector(client, collections=["accounts", "deals"])
    result = configured.check()
    assert not result.ok and "deals" in result.reason
    with pytest.raises(TerminalConnectorError):
        configured.discover()


def test_check_reports_collections(connector: Connector) -> None:
    result = connector.check()
    assert result.ok and "1 collections" in result.reason
