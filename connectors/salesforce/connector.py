"""Salesforce connector: sObjects as streams, described for their schema and read by SOQL on SystemModstamp."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from connectors.base import DEFAULT_BATCH_SIZE, Batch, CheckResult, Connector
from connectors.exceptions import ConnectorError, TerminalConnectorError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.cursor import ModstampCursor
from connectors.salesforce.types import SKIPPED_TYPES, arrow_array, field_type
from connectors.values import FieldProfiler, json_safe
from schemas.source_schema import SourceSchema

__all__ = ["SalesforceConnector"]

logger = logging.getLogger(__name__)

CURSOR_FIELD = "SystemModstamp"
_SAMPLE_RECORDS = 100


class SalesforceConnector(Connector):
    """Reads the configured sObjects over the REST API (see the package docstring for the rules)."""

    system = "salesforce"

    def __init__(self, config: SalesforceConfig, client: SalesforceClient | None = None) -> None:
        self.config = config
        self._client = client or SalesforceClient(config)

    def close(self) -> None:
        self._client.close()

    @property
    def _data_path(self) -> str:
        return f"/services/data/{self.config.api_version}"

    def _fields(self, sobject: str) -> list[dict[str, Any]]:
        try:
            described = self._client.get(f"{self._data_path}/sobjects/{sobject}/describe")
        except TerminalConnectorError as exc:
            if "NOT_FOUND" in exc.reason:
                raise TerminalConnectorError(
                    f"Salesforce object {sobject!r} does not exist or is not accessible to this user in "
                    f"API {self.config.api_version}"
                ) from exc
            raise
        return [f for f in described["fields"] if f["type"] not in SKIPPED_TYPES]

    def _query(self, soql: str, include_deleted: bool) -> Iterator[dict[str, Any]]:
        """All records of a SOQL query, following nextRecordsUrl, without their `attributes`."""
        endpoint = "queryAll" if include_deleted else "query"
        page = self._client.get(f"{self._data_path}/{endpoint}", params={"q": soql})
        while True:
            for record in page["records"]:
                record.pop("attributes", None)
                yield record
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self._client.get(page["nextRecordsUrl"])

    def check(self) -> CheckResult:
        try:
            self._client.authenticate()
            listing = self._client.get(f"{self._data_path}/sobjects")
        except ConnectorError as exc:
            return CheckResult(False, exc.reason)
        available = {s["name"] for s in listing["sobjects"]}
        missing = [o for o in self.config.objects if o not in available]
        if missing:
            return CheckResult(False, f"objects not available to this user: {', '.join(missing)}")
        objects = ", ".join(self.config.objects)
        return CheckResult(True, f"authenticated to {self._client.instance_url}; objects {objects} available")

    def _schema(self, sobject: str) -> SourceSchema:
        fields = self._fields(sobject)
        names = [f["name"] for f in fields]
        order = f" ORDER BY {CURSOR_FIELD} DESC" if CURSOR_FIELD in names else ""
        soql = f"SELECT {', '.join(names)} FROM {sobject}{order} LIMIT {_SAMPLE_RECORDS}"
        profiler = FieldProfiler({f["name"]: field_type(f["type"]) for f in fields})
        profiler.add_columns(names)
        for record in self._query(soql, include_deleted=False):
            profiler.add({k: json_safe(v) for k, v in record.items()})
        nillable = {f["name"]: bool(f.get("nillable", True)) for f in fields}
        return SourceSchema(
            stream=sobject,
            fields=[f.model_copy(update={"nullable": nillable[f.name]}) for f in profiler.fields()],
            primary_key=["Id"],
            cursor_field=CURSOR_FIELD if CURSOR_FIELD in names else None,
        )

    def discover(self) -> list[SourceSchema]:
        return [self._schema(sobject) for sobject in self.config.objects]

    def read(self, stream: str, cursor: str | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        fields = self._fields(stream)
        names = [f["name"] for f in fields]
        incremental = CURSOR_FIELD in names
        position = ModstampCursor.load(cursor) if incremental else None
        soql = f"SELECT {', '.join(names)} FROM {stream}"
        if position is not None:
            soql += f" WHERE {CURSOR_FIELD} >= {position.soql_literal()}"
        if incremental:
            soql += f" ORDER BY {CURSOR_FIELD} ASC, Id ASC"
        rows: list[dict[str, Any]] = []
        deleted: list[str] = []
        for record in self._query(soql, include_deleted="IsDeleted" in names):
            if incremental:
                stamp, record_id = record[CURSOR_FIELD], record["Id"]
                if position is None:
                    position = ModstampCursor(stamp, (record_id,))
                elif position.already_read(stamp, record_id):
                    continue
                else:
                    position = position.advance(stamp, record_id)
            if record.get("IsDeleted"):
                deleted.append(record["Id"])
            else:
                rows.append(record)
            if len(rows) + len(deleted) >= batch_size:
                yield self._batch(stream, fields, rows, deleted, position)
                rows, deleted = [], []
        if rows or deleted:
            yield self._batch(stream, fields, rows, deleted, position)

    def _batch(
        self,
        stream: str,
        fields: list[dict[str, Any]],
        rows: list[dict[str, Any]],
        deleted: list[str],
        position: ModstampCursor | None,
    ) -> Batch:
        table = pa.table(
            [arrow_array(f["type"], [row.get(f["name"]) for row in rows]) for f in fields],
            names=[f["name"] for f in fields],
        )
        cursor = position.dump() if position is not None else None
        return Batch(stream, table, cursor, [], deleted_ids=list(deleted))
