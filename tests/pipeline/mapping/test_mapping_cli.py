"""`autonomos mapping suggest`: reads CSV / JSON / JSONL / Parquet and prints exactly one JSON object."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from autonomos_pipeline.commands.mapping import register
from autonomos_pipeline.dcl.mapping import read_records, schema_from_records

ROOT = Path(__file__).resolve().parents[3]
ROWS = [
    {"id": "003Dn00000AbCdEIA3", "name": {"first": "Ada", "last": "Lovelace"}, "email": "ada@acme.com"},
    {"id": "003Dn00000AbCdEIA4", "name": {"first": "Alan", "last": "Turing"}, "email": "alan@globex.io"},
]


def test_register_adds_mapping_suggest() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["mapping", "suggest", "--entity", "contact", "--input", "x.csv", "--format", "json"])
    assert (args.entity, args.format, args.input) == ("contact", "json", Path("x.csv"))
    with pytest.raises(SystemExit):
        parser.parse_args(["mapping", "suggest", "--entity", "lead", "--input", "x.csv"])


def test_jsonl_is_flattened_to_dot_paths(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    schema = schema_from_records(read_records(path))
    assert schema.field_names == ["id", "name.first", "name.last", "email"]


def test_parquet_and_json_array_read(tmp_path: Path) -> None:
    flat = [{"Email": r["email"], "Last Name": r["name"]["last"]} for r in ROWS]  # type: ignore[index]
    pq.write_table(pa.Table.from_pylist(flat), tmp_path / "c.parquet")
    (tmp_path / "c.json").write_text(json.dumps(flat), encoding="utf-8")
    for name in ("c.parquet", "c.json"):
        schema = schema_from_records(read_records(tmp_path / name))
        assert schema.field_names == ["Email", "Last Name"]
        assert schema.fields[0].sample_values == ["ada@acme.com", "alan@globex.io"]


def test_cli_json_output_is_one_object(tmp_path: Path) -> None:
    path = tmp_path / "people.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    env_cmd = [sys.executable, "-m", "autonomos_pipeline.commands.mapping", "suggest", "--entity", "contact"]
    proc = subprocess.run(
        [*env_cmd, "--input", str(path), "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert proc.stdout.strip().count("\n") == 0
    assert data["entity"] == "contact"
    assert isinstance(data["coverage"], float)
    by_field = {f["source_field"]: f for f in data["fields"]}
    assert set(by_field) == {"id", "name.first", "name.last", "email"}
    for f in data["fields"]:
        assert set(f) == {"source_field", "canonical_field", "confidence", "decision", "alternatives"}
        assert 0.0 <= f["confidence"] <= 1.0 and f["decision"] in ("auto", "review", "unmapped")
    assert by_field["email"]["canonical_field"] == "email"
    assert by_field["name.last"]["canonical_field"] == "last_name"


def test_cli_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "autonomos_pipeline.commands.mapping",
            "suggest",
            "--entity",
            "account",
            "--input",
            str(tmp_path / "nope.csv"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == "" and "no such file" in proc.stderr
