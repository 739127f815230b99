"""FileSource: formats, encodings, dialects, incremental reads by content, and malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import Batch, TerminalConnectorError, build_connector
from connectors.base import Connector
from schemas.source_schema import FieldType


def _connector(directory: Path) -> Connector:
    return build_connector("filesource", {"path": str(directory)})


def _read_all(connector: Connector, stream: str, cursor: str | None = None, **kw: int) -> list[Batch]:
    return list(connector.read(stream, cursor, **kw))


def _rows(batches: list[Batch]) -> list[dict[str, object]]:
    return [row for batch in batches for row in batch.table.to_pylist()]


ACCOUNTS = (
    "id,name,employees,revenue,founded,zip\n1,Acme,120,1500000.50,2001-04-01,02134\n2,Globex,,,1999-12-31,10001\n"
)


def test_discover_infers_types_samples_and_primary_key(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (schema,) = _connector(tmp_path).discover()
    assert schema.stream == "accounts"
    assert schema.primary_key == ["id"]
    types = {f.name: f.type for f in schema.fields}
    assert types == {
        "id": FieldType.INTEGER,
        "name": FieldType.STRING,
        "employees": FieldType.INTEGER,
        "revenue": FieldType.NUMBER,
        "founded": FieldType.DATE,
        "zip": FieldType.STRING,
    }
    employees = schema.field("employees")
    assert employees is not None and employees.nullable and employees.sample_values == ["120"]
    name = schema.field("name")
    assert name is not None and not name.nullable and name.sample_values == ["Acme", "Globex"]


def test_csv_values_stay_raw_text(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (batch,) = _read_all(_connector(tmp_path), "accounts")
    assert batch.table.schema.types == [pa.string()] * 6
    assert batch.table.to_pylist()[0]["zip"] == "02134"
    assert batch.table.to_pylist()[1]["revenue"] == ""
    assert batch.source == "accounts.csv" and batch.errors == []


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_detects_delimiters(tmp_path: Path, delimiter: str) -> None:
    text = f"id{delimiter}name{delimiter}city\n1{delimiter}Acme, Inc.{delimiter}Berlin\n2{delimiter}B{delimiter}Rome\n"
    (tmp_path / "accounts.csv").write_text(text)
    rows = _rows(_read_all(_connector(tmp_path), "accounts"))
    assert rows == [
        {"id": "1", "name": "Acme, Inc.", "city": "Berlin"},
        {"id": "2", "name": "B", "city": "Rome"},
    ]


def test_quoted_fields_with_embedded_newlines(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text('id,note\r\n1,"first line\r\nsecond, line"\r\n2,"say ""hi"""\r\n')
    assert _rows(_read_all(_connector(tmp_path), "notes")) == [
        {"id": "1", "note": "first line\r\nsecond, line"},
        {"id": "2", "note": 'say "hi"'},
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "latin-1", "cp1252"])
def test_detects_encodings(tmp_path: Path, encoding: str) -> None:
    text = "id;name;city\n1;Müller GmbH;Zürich\n2;Café Français;Besançon\n3;Ærø Øl;Søborg\n"
    (tmp_path / "accounts.csv").write_bytes(text.encode(encoding))
    connector = _connector(tmp_path)
    rows = _rows(_read_all(connector, "accounts"))
    assert [r["name"] for r in rows] == ["Müller GmbH", "Café Français", "Ærø Øl"]
    assert [f.name for f in connector.discover()[0].fields] == ["id", "name", "city"]


def test_malformed_lines_become_record_errors_and_good_rows_come_through(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(
        'id,name,city\n1,Acme,Berlin\n2,Broken\n3,"Multi\nline",Paris\n4,Too,Many,Fields\n5,Fine,Rome\n'
    )
    batches = _read_all(_connector(tmp_path), "accounts")
    assert [r["id"] for r in _rows(batches)] == ["1", "3", "5"]
    errors = [e for b in batches for e in b.errors]
    assert [(e.line, e.raw, e.source) for e in errors] == [
        (3, "2,Broken\n", "accounts.csv"),
        (6, "4,Too,Many,Fields\n", "accounts.csv"),
    ]
    assert errors[0].reason == "expected 3 fields, found 2"
    assert errors[1].stream == "accounts"


def test_undecodable_bytes_in_a_utf8_file_are_reported_by_line(tmp_path: Path) -> None:
    content = "id,name\n1,Zoë\n2,Łódź\n".encode() + b"3,bad \xff\xfe byte\n" + "4,Ørsted\n5,Ñandú\n".encode()
    (tmp_path / "accounts.csv").write_bytes(content)
    batches = _read_all(_connector(tmp_path), "accounts")
    assert [r["name"] for r in _rows(batches)] == ["Zoë", "Łódź", "Ørsted", "Ñandú"]
    (error,) = [e for b in batches for e in b.errors]
    assert error.line == 4 and error.raw == "3,bad \\xff\\xfe byte\n" and "utf-8" in error.reason


def test_empty_file_is_a_stream_without_fields(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_bytes(b"")
    connector = _connector(tmp_path)
    (schema,) = connector.discover()
    assert schema.stream == "accounts" and schema.fields == []
    (batch,) = _read_all(connector, "accounts")
    assert batch.table.num_rows == 0 and batch.errors == []
    assert _read_all(connector, "accounts", batch.cursor) == []


def test_header_only_csv_has_fields_and_no_rows(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("id,name\n")
    connector = _connector(tmp_path)
    assert connector.discover()[0].field_names == ["id", "name"]
    (batch,) = _read_all(connector, "accounts")
    assert batch.table.num_rows == 0 and batch.table.column_names == ["id", "name"]


def test_ten_megabyte_field(tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    (tmp_path / "docs.csv").write_text(f'id,body\n1,"{big}"\n2,small\n')
    rows = _rows(_read_all(_connector(tmp_path), "docs"))
    assert [len(r["body"]) for r in rows] == [len(big), 5]  # type: ignore[arg-type]


def test_batches_of_batch_size_rows(tmp_path: Path) -> None:
    lines = "".join(f"{i},name {i}\n" for i in range(25_000))
    (tmp_path / "accounts.csv").write_text("id,name\n" + lines)
    batches = _read_all(_connector(tmp_path), "accounts", batch_size=10_000)
    assert [b.table.num_rows for b in batches] == [10_000, 10_000, 5_000]
    assert _rows(batches)[-1] == {"id": "24999", "name": "name 24999"}


def test_unchanged_file_is_not_reread_and_changed_file_is(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    (tmp_path / "contacts.csv").write_text("id,email\n1,a@b.c\n")
    connector = _connector(tmp_path)
    cursor = _read_all(connector, "accounts")[-1].cursor
    assert _read_all(connector, "accounts", cursor) == []
    path.write_text(ACCOUNTS + "3,Initech,5,,2010-01-01,94105\n")
    rows = _rows(_read_all(connector, "accounts", cursor))
    assert [r["id"] for r in rows] == ["1", "2", "3"]


def test_discover_and_read_share_one_scan_of_each_file_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.filesource import connector as module

    scanned: list[str] = []
    real = module.scan_file

    def counting(path: Path) -> object:
        scanned.append(path.name)
        return real(path)

    monkeypatch.setattr(module, "scan_file", counting)
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    connector = _connector(tmp_path)
    connector.discover()
    cursor = _read_all(connector, "accounts")[-1].cursor
    assert scanned == ["accounts.csv"], "the read reuses the discovery's hash of the unchanged file"
    path.write_text(ACCOUNTS + "3,Initech,5,,2010-01-01,94105\n")
    assert [r["id"] for r in _rows(_read_all(connector, "accounts", cursor))] == ["1", "2", "3"]
    assert scanned == ["accounts.csv", "accounts.csv"], "a changed file is scanned again"


def test_resume_from_a_mid_file_cursor_yields_each_row_once(tmp_path: Path) -> None:
    lines = "".join(f"{i},n{i}\n" if i != 7 else "7\n" for i in range(30))
    (tmp_path / "accounts.csv").write_text("id,name\n" + lines)
    connector = _connector(tmp_path)
    first = next(iter(connector.read("accounts", batch_size=10)))
    rest = _read_all(connector, "accounts", first.cursor, batch_size=10)
    ids = [r["id"] for r in _rows([first, *rest])]
    assert ids == [str(i) for i in range(30) if i != 7]
    assert [e.line for b in [first, *rest] for e in b.errors] == [9]


def test_files_sharing_a_stem_form_one_stream(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("id,name\n1,A\n")
    (tmp_path / "accounts.jsonl").write_text('{"id": "2", "name": "B"}\n')
    batches = _read_all(_connector(tmp_path), "accounts")
    assert [(b.source, b.table.to_pylist()) for b in batches] == [
        ("accounts.csv", [{"id": "1", "name": "A"}]),
        ("accounts.jsonl", [{"id": "2", "name": "B"}]),
    ]


def test_jsonl_flattens_and_reports_broken_lines(tmp_path: Path) -> None:
    (tmp_path / "accounts.jsonl").write_text(
        '{"id": 1, "hq": {"address": {"city": "Berlin"}}, "tags": ["a", "b"]}\n'
        "{broken\n"
        "\n"
        '["not", "an", "object"]\n'
        '{"id": 2, "hq": {"address": {"city": "Paris"}}}\n'
    )
    connector = _connector(tmp_path)
    batches = _read_all(connector, "accounts")
    assert _rows(batches) == [
        {"id": 1, "hq.address.city": "Berlin", "tags": '["a","b"]'},
        {"id": 2, "hq.address.city": "Paris", "tags": None},
    ]
    assert [(e.line, e.raw) for b in batches for e in b.errors] == [
        (2, "{broken\n"),
        (4, '["not", "an", "object"]\n'),
    ]
    types = {f.name: f.type for f in connector.discover()[0].fields}
    assert types == {"id": FieldType.INTEGER, "hq.address.city": FieldType.STRING, "tags": FieldType.ARRAY}


def test_json_array_keeps_records_before_a_break(tmp_path: Path) -> None:
    (tmp_path / "deals.json").write_text('[\n  {"id": "o1", "amount": 10.5},\n  {"id": "o2", "amount": 3}\n')
    (tmp_path / "broken.json").write_text('[\n  {"id": "o1"},\n  {"id": oops}\n]\n')
    connector = _connector(tmp_path)
    assert _rows(_read_all(connector, "deals")) == [{"id": "o1", "amount": 10.5}, {"id": "o2", "amount": 3.0}]
    batches = _read_all(connector, "broken")
    assert _rows(batches) == [{"id": "o1"}]
    (error,) = [e for b in batches for e in b.errors]
    assert error.line == 3 and error.raw.startswith('{"id": oops}')


def test_parquet_keeps_native_types(tmp_path: Path) -> None:
    table = pa.table({"id": ["a", "b", "c"], "amount": [1.5, None, 3.0], "won": [True, False, None]})
    pq.write_table(table, tmp_path / "deals.parquet")
    connector = _connector(tmp_path)
    batches = _read_all(connector, "deals", batch_size=2)
    assert [b.table.num_rows for b in batches] == [2, 1]
    assert pa.concat_tables([b.table for b in batches]).equals(table)
    types = {f.name: f.type for f in connector.discover()[0].fields}
    assert types == {"id": FieldType.STRING, "amount": FieldType.NUMBER, "won": FieldType.BOOLEAN}


def test_unknown_stream_and_missing_directory_are_terminal(tmp_path: Path) -> None:
    connector = _connector(tmp_path)
    with pytest.raises(TerminalConnectorError, match="no stream 'nope'"):
        list(connector.read("nope"))
    missing = _connector(tmp_path / "missing")
    result = missing.check()
    assert not result.ok and "does not exist" in result.reason
    with pytest.raises(TerminalConnectorError):
        missing.discover()


def test_cursor_is_json(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (batch,) = _read_all(_connector(tmp_path), "accounts")
    assert batch.cursor is not None and list(json.loads(batch.cursor)["files"]) == ["accounts.csv"]


def test_a_bad_row_deep_in_a_large_file_loses_and_repeats_nothing(tmp_path: Path) -> None:
    lines = [f"{i},customer number {i},Berlin\n" for i in range(250_000)]
    lines[240_000] = "240000,missing a field\n"
    (tmp_path / "accounts.csv").write_text("id,name,city\n" + "".join(lines))
    batches = _read_all(_connector(tmp_path), "accounts", batch_size=50_000)
    ids = [int(i) for b in batches for i in b.table.column("id").to_pylist()]
    assert ids == [i for i in range(250_000) if i != 240_000]
    assert [(e.line, e.raw) for b in batches for e in b.errors] == [(240_002, "240000,missing a field\n")]


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_legacy_encodings_stream_in_batches(tmp_path: Path, encoding: str) -> None:
    text = "id,city\n" + "".join(f"{i},Zürich\n" for i in range(30_000))
    (tmp_path / "accounts.csv").write_bytes(text.encode(encoding))
    batches = _read_all(_connector(tmp_path), "accounts", batch_size=10_000)
    assert [b.table.num_rows for b in batches] == [10_000, 10_000, 10_000]
    assert {r["city"] for r in _rows(batches)} == {"Zürich"}
