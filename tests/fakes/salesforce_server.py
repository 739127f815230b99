"""A local HTTP server speaking the Salesforce REST API: OAuth2 token, describe, SOQL query and query-more.

`FakeSalesforce` runs a `ThreadingHTTPServer` on 127.0.0.1 (random free port) in a daemon thread and holds an
in-memory org of Accounts, Opportunities and Contacts with realistic describe metadata. It answers exactly the
way Salesforce does for the calls the connector makes, including its error payloads, and offers test hooks:
`expire_tokens()` (next data call gets 401 INVALID_SESSION_ID) and `fail_next(n, status)` (inject 429/500/503).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "3MVG9fakeConsumerKey.autonomos"
CLIENT_SECRET = "FAKE0123456789SECRET"
USERNAME = "integration@autonomos-test.example.com"
PASSWORD = "correct-horse"
SECURITY_TOKEN = "TOKEN42"
ORG_ID = "00D5g000000AbCdEAF"
USER_ID = "0055g00000XyZabAAB"
SUPPORTED_VERSIONS = [f"v{n}.0" for n in range(50, 63)]
KEY_PREFIXES = {"Account": "001", "Opportunity": "006", "Contact": "003"}

_SOQL = re.compile(
    r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<wfield>\w+)\s*(?P<op>>=|<=|=|>|<)\s*(?P<value>\S+))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SOQL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$")


def _field(name: str, type_: str, label: str, **extra: Any) -> dict[str, Any]:
    soap = {
        "id": "tns:ID",
        "reference": "tns:ID",
        "boolean": "xsd:boolean",
        "int": "xsd:int",
        "double": "xsd:double",
        "currency": "xsd:double",
        "percent": "xsd:double",
        "date": "xsd:date",
        "datetime": "xsd:dateTime",
        "address": "urn:address",
    }.get(type_, "xsd:string")
    base = {
        "name": name,
        "label": label,
        "type": type_,
        "soapType": soap,
        "length": 255 if type_ in {"string", "picklist", "url", "phone", "email"} else 0,
        "precision": 18 if type_ in {"currency", "double", "percent"} else 0,
        "scale": 2 if type_ in {"currency", "percent"} else 0,
        "digits": 9 if type_ == "int" else 0,
        "nillable": type_ not in {"id", "boolean"} and name not in {"Name", "LastName", "StageName", "CloseDate"},
        "custom": name.endswith("__c"),
        "calculated": False,
        "createable": type_ != "id" and name not in {"CreatedDate", "LastModifiedDate", "SystemModstamp"},
        "updateable": type_ != "id" and name not in {"CreatedDate", "LastModifiedDate", "SystemModstamp"},
        "filterable": True,
        "sortable": type_ not in {"textarea", "address"},
        "unique": False,
        "externalId": False,
        "idLookup": type_ == "id",
        "referenceTo": [],
        "relationshipName": None,
        "picklistValues": [],
        "defaultValue": None,
        "compoundFieldName": None,
    }
    base.update(extra)
    return base


def _system_fields() -> list[dict[str, Any]]:
    return [
        _field("IsDeleted", "boolean", "Deleted"),
        _field("CreatedDate", "datetime", "Created Date"),
        _field("CreatedById", "reference", "Created By ID", referenceTo=["User"], relationshipName="CreatedBy"),
        _field("LastModifiedDate", "datetime", "Last Modified Date"),
        _field("SystemModstamp", "datetime", "System Modstamp"),
        _field("OwnerId", "reference", "Owner ID", referenceTo=["User"], relationshipName="Owner"),
    ]


def _address(prefix: str, label: str) -> list[dict[str, Any]]:
    compound = f"{prefix}Address"
    parts = [("Street", "textarea"), ("City", "string"), ("State", "string"), ("PostalCode", "string")]
    parts += [("Country", "string")]
    return [
        *(_field(f"{prefix}{p}", t, f"{label} {p}", compoundFieldName=compound) for p, t in parts),
        _field(compound, "address", f"{label} Address"),
    ]


def _picklist(*values: str) -> list[dict[str, Any]]:
    return [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in values]


DESCRIBE_FIELDS: dict[str, list[dict[str, Any]]] = {
    "Account": [
        _field("Id", "id", "Account ID", length=18),
        _field("Name", "string", "Account Name"),
        _field("Type", "picklist", "Account Type", picklistValues=_picklist("Prospect", "Customer - Direct")),
        *_address("Billing", "Billing"),
        _field("Phone", "phone", "Account Phone"),
        _field("Website", "url", "Website"),
        _field("Industry", "picklist", "Industry", picklistValues=_picklist("Technology", "Manufacturing")),
        _field("AnnualRevenue", "currency", "Annual Revenue"),
        _field("NumberOfEmployees", "int", "Employees"),
        _field("Description", "textarea", "Account Description", length=32000),
        *_system_fields(),
        _field("Region__c", "picklist", "Region", picklistValues=_picklist("EMEA", "AMER", "APAC")),
    ],
    "Opportunity": [
        _field("Id", "id", "Opportunity ID", length=18),
        _field("AccountId", "reference", "Account ID", referenceTo=["Account"], relationshipName="Account"),
        _field("Name", "string", "Name"),
        _field("Amount", "currency", "Amount"),
        _field("StageName", "picklist", "Stage", picklistValues=_picklist("Prospecting", "Closed Won")),
        _field("Probability", "percent", "Probability (%)"),
        _field("CloseDate", "date", "Close Date"),
        _field("IsClosed", "boolean", "Closed"),
        _field("IsWon", "boolean", "Won"),
        _field("LeadSource", "picklist", "Lead Source", picklistValues=_picklist("Web", "Partner")),
        _field("Type", "picklist", "Opportunity Type", picklistValues=_picklist("New Business", "Renewal")),
        _field("CurrencyIsoCode", "picklist", "Opportunity Currency", picklistValues=_picklist("USD", "EUR")),
        *_system_fields(),
    ],
    "Contact": [
        _field("Id", "id", "Contact ID", length=18),
        _field("AccountId", "reference", "Account ID", referenceTo=["Account"], relationshipName="Account"),
        _field("FirstName", "string", "First Name"),
        _field("LastName", "string", "Last Name"),
        _field("Email", "email", "Email"),
        _field("Phone", "phone", "Business Phone"),
        _field("MobilePhone", "phone", "Mobile Phone"),
        _field("Title", "string", "Title"),
        _field("Department", "string", "Department"),
        *_address("Mailing", "Mailing"),
        _field("LeadSource", "picklist", "Lead Source", picklistValues=_picklist("Web", "Partner")),
        *_system_fields(),
    ],
}


def sf_datetime(moment: datetime) -> str:
    """Salesforce's JSON datetime spelling: 2024-01-15T10:30:00.000+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _parse_literal(value: str) -> datetime | None:
    if not _SOQL_DATETIME.match(value):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _parse_sf(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


class SoqlError(Exception):
    """A query Salesforce would reject, with its errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Failure:
    """An injected response for one upcoming request."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeSalesforce:
    """An in-memory Salesforce org served over HTTP; use as a context manager or call start()/stop()."""

    page_size: int = 2000
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in DESCRIBE_FIELDS})
    requests: list[tuple[str, str]] = field(default_factory=list)
    token_grants: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._failures: deque[Failure] = deque()
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the fake (login and instance at once), e.g. http://127.0.0.1:54321."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeSalesforce:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSalesforce:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test hooks -------------------------------------------------------------------------------------
    def add(self, sobject: str, modstamp: datetime, **values: Any) -> dict[str, Any]:
        """Create a record with every describe field (unset ones null) and the given SystemModstamp."""
        record_id = f"{KEY_PREFIXES[sobject]}5g{next(self._ids):010d}AAA"
        record: dict[str, Any] = {f["name"]: None for f in DESCRIBE_FIELDS[sobject] if f["type"] != "address"}
        stamp = sf_datetime(modstamp)
        record.update(Id=record_id, IsDeleted=False, CreatedDate=stamp, LastModifiedDate=stamp)
        record.update(SystemModstamp=stamp, OwnerId=USER_ID, CreatedById=USER_ID, **values)
        with self._lock:
            self.records[sobject].append(record)
        return record

    def update(self, sobject: str, record_id: str, modstamp: datetime, **values: Any) -> None:
        """Change a record the way a user edit does: values, LastModifiedDate and SystemModstamp."""
        stamp = sf_datetime(modstamp)
        with self._lock:
            record = next(r for r in self.records[sobject] if r["Id"] == record_id)
            record.update(values, LastModifiedDate=stamp, SystemModstamp=stamp)

    def delete(self, sobject: str, record_id: str, modstamp: datetime) -> None:
        """Move a record to the recycle bin: only queryAll still returns it, with IsDeleted true."""
        self.update(sobject, record_id, modstamp, IsDeleted=True)

    def expire_tokens(self) -> None:
        """Invalidate every issued access token, as a session timeout does."""
        with self._lock:
            self._tokens.clear()

    def fail_next(self, count: int, status: int = 503, retry_after: int | None = None) -> None:
        """Answer the next count requests with status (and Salesforce's error body for it)."""
        bodies = {
            429: [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
            500: [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}],
            503: [{"message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
        }
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = bodies.get(status, [{"message": "error", "errorCode": "UNKNOWN_EXCEPTION"}])
        with self._lock:
            self._failures.extend(Failure(status, body, headers) for _ in range(count))

    # ---- protocol ---------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict[str, str]]:
        """Route one request; returns (status, JSON body, extra headers)."""
        parts = urlsplit(target)
        with self._lock:
            self.requests.append((method, target))
            if self._failures:
                failure = self._failures.popleft()
                return failure.status, failure.body, failure.headers
        if parts.path == "/services/oauth2/token" and method == "POST":
            return self._token(parse_qs(body.decode()))
        match = re.fullmatch(r"/services/data/(v\d+\.\d)(/.*)?", parts.path)
        if not match:
            return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], {}
        if headers.get("authorization", "").removeprefix("Bearer ") not in self._tokens:
            return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], {}
        version, rest = match.group(1), match.group(2) or "/"
        if version not in SUPPORTED_VERSIONS:
            return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], {}
        return self._data(version, rest, parse_qs(parts.query))

    def _token(self, form: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        value = {k: v[0] for k, v in form.items()}
        grant = value.get("grant_type", "")
        self.token_grants.append(grant)
        if grant not in {"password", "client_credentials"}:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}, {}
        if value.get("client_id") != CLIENT_ID:
            return 400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}, {}
        if value.get("client_secret") != CLIENT_SECRET:
            return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}, {}
        if grant == "password" and (
            value.get("username") != USERNAME or value.get("password") != PASSWORD + SECURITY_TOKEN
        ):
            return 400, {"error": "invalid_grant", "error_description": "authentication failure"}, {}
        token = f"{ORG_ID}!AQ{secrets.token_urlsafe(48)}"
        with self._lock:
            self._tokens.add(token)
        issued = str(int(time.time() * 1000))
        signature = base64.b64encode(secrets.token_bytes(32)).decode()
        return (
            200,
            {
                "access_token": token,
                "instance_url": self.url,
                "id": f"{self.url}/id/{ORG_ID}/{USER_ID}",
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": signature,
            },
            {},
        )

    def _data(self, version: str, rest: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        if rest in {"/sobjects", "/sobjects/"}:
            return 200, self._describe_global(), {}
        if m := re.fullmatch(r"/sobjects/(\w+)/describe/?", rest):
            if m.group(1) not in DESCRIBE_FIELDS:
                return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], {}
            return 200, self._describe(m.group(1), version), {}
        if m := re.fullmatch(r"/(query|queryAll)/?", rest):
            try:
                return 200, self._query(version, m.group(1), query.get("q", [""])[0]), {}
            except SoqlError as exc:
                return 400, [{"message": exc.message, "errorCode": exc.code}], {}
        if m := re.fullmatch(r"/(query|queryAll)/(01g\w+)-(\d+)", rest):
            with self._lock:
                remaining = self._cursors.get(m.group(2))
            if remaining is None:
                return 400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}], {}
            return 200, self._page(version, m.group(1), m.group(2), remaining, int(m.group(3))), {}
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], {}

    def _describe_global(self) -> dict[str, Any]:
        sobjects = [
            {"name": n, "label": n, "keyPrefix": KEY_PREFIXES[n], "queryable": True, "custom": False}
            for n in DESCRIBE_FIELDS
        ]
        return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}

    def _describe(self, sobject: str, version: str) -> dict[str, Any]:
        return {
            "name": sobject,
            "label": sobject,
            "keyPrefix": KEY_PREFIXES[sobject],
            "queryable": True,
            "custom": False,
            "fields": DESCRIBE_FIELDS[sobject],
            "urls": {"describe": f"/services/data/{version}/sobjects/{sobject}/describe"},
        }

    def _query(self, version: str, kind: str, soql: str) -> dict[str, Any]:
        match = _SOQL.match(soql.strip())
        if not match:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token in query: {soql[:80]}")
        sobject = match.group("object")
        if sobject not in DESCRIBE_FIELDS:
            raise SoqlError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        known = {f["name"].lower(): f["name"] for f in DESCRIBE_FIELDS[sobject] if f["type"] != "address"}
        names = [n.strip() for n in match.group("fields").split(",")]
        for name in [*names, match.group("wfield") or "Id"]:
            if name.lower() not in known:
                raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        with self._lock:
            rows = [dict(r) for r in self.records[sobject] if kind == "queryAll" or not r["IsDeleted"]]
        rows = self._where(rows, match, known)
        rows = self._order(rows, match.group("order"), known)
        if match.group("limit"):
            rows = rows[: int(match.group("limit"))]
        selected = [
            {
                "attributes": {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{r['Id']}"},
                **{known[n.lower()]: r[known[n.lower()]] for n in names},
            }
            for r in rows
        ]
        locator = f"01g5g{secrets.token_hex(6).upper()}"
        with self._lock:
            self._cursors[locator] = selected
        return self._page(version, kind, locator, selected, 0)

    def _where(self, rows: list[dict[str, Any]], match: re.Match[str], known: dict[str, str]) -> list[dict[str, Any]]:
        if not match.group("wfield"):
            return rows
        name = known[match.group("wfield").lower()]
        literal = _parse_literal(match.group("value"))
        if literal is None:
            raise SoqlError("MALFORMED_QUERY", f"value of filter criterion for field '{name}' must be of type dateTime")
        ops = {
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            "=": lambda a, b: a == b,
        }
        op = ops[match.group("op")]
        return [r for r in rows if r[name] is not None and op(_parse_sf(r[name]), literal)]

    def _order(self, rows: list[dict[str, Any]], order: str | None, known: dict[str, str]) -> list[dict[str, Any]]:
        for term in reversed([t.strip() for t in (order or "").split(",") if t.strip()]):
            name, *direction = term.split()
            field_name = known.get(name.lower())
            if field_name is None:
                raise SoqlError("INVALID_FIELD", f"No such column '{name}'.")
            descending = bool(direction) and direction[0].upper() == "DESC"
            rows.sort(key=lambda r, f=field_name: (r[f] is None, r[f] or ""), reverse=descending)
        return rows

    def _page(self, version: str, kind: str, locator: str, rows: list[dict[str, Any]], offset: int) -> dict[str, Any]:
        page = rows[offset : offset + self.page_size]
        done = offset + self.page_size >= len(rows)
        body: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": page}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/{version}/{kind}/{locator}-{offset + self.page_size}"
        return body


def _handler_for(fake: FakeSalesforce) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        wbufsize = -1

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = fake.handle(method, self.path, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
