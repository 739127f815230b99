"""Salesforce connector against a local server speaking the Salesforce REST protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from connectors import Batch, TerminalConnectorError, TransientConnectorError, build_connector
from connectors.base import Connector
from schemas.source_schema import FieldType
from tests.fakes import salesforce_server as sf
from tests.fakes.salesforce_server import FakeSalesforce

T0 = datetime(2024, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(page_size=3) as server:
        yield server


def _config(fake: FakeSalesforce, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "login_url": fake.url,
        "client_id": sf.CLIENT_ID,
        "client_secret": sf.CLIENT_SECRET,
        "username": sf.USERNAME,
        "password": sf.PASSWORD,
        "security_token": sf.SECURITY_TOKEN,
        "backoff_seconds": 0.001,
        "max_attempts": 4,
    }
    return config | overrides


@pytest.fixture
def connector(fake: FakeSalesforce) -> Iterator[Connector]:
    connector = build_connector("salesforce", _config(fake))
    yield connector
    connector.close()


def _accounts(fake: FakeSalesforce, count: int, stamp: datetime = T0) -> list[dict[str, Any]]:
    return [
        fake.add(
            "Account",
            stamp,
            Name=f"Acme {i}",
            AnnualRevenue=1500000.25,
            NumberOfEmployees=120 + i,
            BillingCity="Berlin",
            Region__c="EMEA",
        )
        for i in range(count)
    ]


def _names(batches: list[Batch]) -> list[str]:
    return [row["Name"] for b in batches for row in b.table.to_pylist()]


def test_discover_describes_objects_with_types_and_samples(fake: FakeSalesforce, connector: Connector) -> None:
    _accounts(fake, 2)
    schemas = {s.stream: s for s in connector.discover()}
    assert list(schemas) == ["Account", "Opportunity", "Contact"]
    account = schemas["Account"]
    assert account.primary_key == ["Id"] and account.cursor_field == "SystemModstamp"
    assert "BillingAddress" not in account.field_names and "BillingCity" in account.field_names
    types = {f.name: f.type for f in account.fields}
    assert types["AnnualRevenue"] == FieldType.NUMBER and types["NumberOfEmployees"] == FieldType.INTEGER
    assert types["SystemModstamp"] == FieldType.DATETIME and types["Region__c"] == FieldType.STRING
    name = account.field("Name")
    assert name is not None and not name.nullable and set(name.sample_values) == {"Acme 0", "Acme 1"}
    assert schemas["Opportunity"].field("CloseDate") is not None
    assert {f.name: f.type for f in schemas["Opportunity"].fields}["CloseDate"] == FieldType.DATE


def test_read_pages_through_next_records_url_with_typed_columns(fake: FakeSalesforce, connector: Connector) -> None:
    _accounts(fake, 7)
    batches = list(connector.read("Account"))
    assert _names(batches) == [f"Acme {i}" for i in range(7)]
    assert any("/queryAll/01g" in target for _, target in fake.requests)
    table = pa.concat_tables([b.table for b in batches])
    assert "attributes" not in table.column_names
    row = table.to_pylist()[0]
    assert row["AnnualRevenue"] == "1500000.25" and row["NumberOfEmployees"] == 120
    assert row["SystemModstamp"] == T0.replace(microsecond=250000) and row["IsDeleted"] is False
    assert table.schema.field("SystemModstamp").type == pa.timestamp("ms", tz="UTC")


def test_opportunity_dates_and_percentages(fake: FakeSalesforce, connector: Connector) -> None:
    fake.add("Opportunity", T0, Name="Big deal", Amount=50000, Probability=75, CloseDate="2024-06-30")
    (batch,) = list(connector.read("Opportunity"))
    (row,) = batch.table.to_pylist()
    assert row["CloseDate"] == date(2024, 6, 30) and row["Probability"] == 75.0 and row["Amount"] == "50000"


def test_incremental_reads_lose_nothing_sharing_a_modstamp(fake: FakeSalesforce, connector: Connector) -> None:
    records = _accounts(fake, 5)
    first = list(connector.read("Account", batch_size=2))
    assert [b.table.num_rows for b in first] == [2, 2, 1]
    assert _names(list(connector.read("Account", first[0].cursor))) == ["Acme 2", "Acme 3", "Acme 4"]
    assert list(connector.read("Account", first[-1].cursor)) == []
    later = T0 + timedelta(milliseconds=1)
    fake.update("Account", records[1]["Id"], later, Name="Acme 1 renamed")
    fake.add("Account", T0, Name="Late arrival at the same stamp")
    fake.delete("Account", records[3]["Id"], later)
    changed = list(connector.read("Account", first[-1].cursor))
    assert _names(changed) == ["Late arrival at the same stamp", "Acme 1 renamed"]
    assert [i for b in changed for i in b.deleted_ids] == [records[3]["Id"]]
    assert list(connector.read("Account", changed[-1].cursor)) == []
    soql = [t for _, t in fake.requests if "queryAll?q=" in t][-1]
    assert "SystemModstamp+%3E%3D+2024-03-01T09%3A30%3A15Z" in soql


def test_client_credentials_flow(fake: FakeSalesforce) -> None:
    config = _config(fake, auth_flow="client_credentials", instance_url=fake.url, login_url="http://127.0.0.1:9")
    del config["username"], config["password"], config["security_token"]
    connector = build_connector("salesforce", config)
    result = connector.check()
    assert result.ok, result.reason
    assert fake.token_grants == ["client_credentials"]
    connector.close()


def test_reauthenticates_once_when_the_session_expires(fake: FakeSalesforce, connector: Connector) -> None:
    _accounts(fake, 2)
    assert len(_names(list(connector.read("Account")))) == 2
    fake.expire_tokens()
    assert len(_names(list(connector.read("Account")))) == 2
    assert fake.token_grants == ["password", "password"]


def test_bad_credentials_are_terminal_with_salesforces_reason(fake: FakeSalesforce) -> None:
    connector = build_connector("salesforce", _config(fake, security_token="WRONG"))
    result = connector.check()
    assert not result.ok and "invalid_grant: authentication failure" in result.reason
    with pytest.raises(TerminalConnectorError, match="invalid_grant"):
        connector.discover()
    bad_client = build_connector("salesforce", _config(fake, client_id="nope"))
    with pytest.raises(TerminalConnectorError, match="invalid_client_id"):
        list(bad_client.read("Account"))


def test_server_errors_then_recovery_lose_nothing(fake: FakeSalesforce, connector: Connector) -> None:
    _accounts(fake, 7)
    connector.check()
    fake.fail_next(2, status=500)
    batches = list(connector.read("Account"))
    assert _names(batches) == [f"Acme {i}" for i in range(7)]
    fake.fail_next(1, status=503, retry_after=0)
    fake.fail_next(1, status=429, retry_after=0)
    assert len(_names(list(connector.read("Account")))) == 7


def test_persistent_rate_limiting_is_transient(fake: FakeSalesforce, connector: Connector) -> None:
    connector.check()
    before = len(fake.requests)
    fake.fail_next(10, status=429)
    with pytest.raises(TransientConnectorError, match="REQUEST_LIMIT_EXCEEDED"):
        list(connector.read("Account"))
    assert len(fake.requests) - before == 4


def test_unreachable_server_is_transient(fake: FakeSalesforce) -> None:
    connector = build_connector("salesforce", _config(fake, login_url="http://127.0.0.1:9", max_attempts=2))
    with pytest.raises(TransientConnectorError, match="failed 2 times"):
        connector.discover()
    assert not connector.check().ok


def test_unknown_object_and_api_version_are_terminal(fake: FakeSalesforce) -> None:
    connector = build_connector("salesforce", _config(fake, objects=["Account", "Invoice__c"]))
    with pytest.raises(TerminalConnectorError, match="'Invoice__c' does not exist"):
        list(connector.read("Invoice__c"))
    result = connector.check()
    assert not result.ok and "Invoice__c" in result.reason
    old = build_connector("salesforce", _config(fake, api_version="v20.0"))
    with pytest.raises(TerminalConnectorError, match=r"API v20\.0"):
        old.discover()


def test_api_version_is_used_in_every_data_call(fake: FakeSalesforce) -> None:
    connector = build_connector("salesforce", _config(fake, api_version="v58.0"))
    connector.discover()
    data_calls = [t for _, t in fake.requests if t.startswith("/services/data/")]
    assert data_calls and all(t.startswith("/services/data/v58.0/") for t in data_calls)


def test_invalid_config_is_terminal() -> None:
    with pytest.raises(TerminalConnectorError, match="password flow needs username and password"):
        build_connector("salesforce", {"client_id": "x", "client_secret": "y"})


def test_cursor_is_json(fake: FakeSalesforce, connector: Connector) -> None:
    records = _accounts(fake, 1)
    (batch,) = list(connector.read("Account"))
    assert batch.cursor is not None
    assert json.loads(batch.cursor) == {"systemmodstamp": records[0]["SystemModstamp"], "ids": [records[0]["Id"]]}
