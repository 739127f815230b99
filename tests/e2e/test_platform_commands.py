"""The console script end to end: tenants become Dagster partitions, and `autonomos up` serves the UI and the API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance

BIN = Path(sys.executable).parent


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["AUTONOMOS_DATA_DIR"] = str(tmp_path / "data")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tenants_create_registers_a_partition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(tmp_path)
    out = subprocess.run(
        [BIN / "autonomos", "tenants", "create", "Acme Corp"], env=env, capture_output=True, text=True, check=True
    )
    tenant_id = uuid.UUID(out.stdout.strip())
    listed = subprocess.run([BIN / "autonomos", "tenants", "list"], env=env, capture_output=True, text=True, check=True)
    assert f"{tenant_id}\tAcme Corp" in listed.stdout
    home = tmp_path / "data" / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions("tenants") == [str(tenant_id)]


@pytest.mark.slow
def test_up_serves_dagster_ui_and_api(tmp_path: Path) -> None:
    dagster_port, api_port = _free_port(), _free_port()
    proc = subprocess.run(
        [
            BIN / "autonomos",
            "up",
            "--exit-when-ready",
            "--dagster-port",
            str(dagster_port),
            "--api-port",
            str(api_port),
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Dagster UI : http://127.0.0.1:{dagster_port}" in proc.stdout
    assert f"http://127.0.0.1:{api_port}/docs" in proc.stdout


@pytest.mark.slow
def test_connections_add_and_materialize_from_the_command_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    files = tmp_path / "exports"
    files.mkdir()
    (files / "contacts.csv").write_text(
        "Contact ID,First Name,Last Name,Email\nC1,Ada,Lovelace,ada@example.com\nC2,Alan,Turing,alan@example.org\n"
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BIN / "autonomos", *args], env=env, capture_output=True, text=True, timeout=600)

    tenant = cli("tenants", "create", "Contacts Inc").stdout.strip()
    bad = cli("connections", "add", "--tenant", tenant, "--type", "filesource", "--config", "folder=/nope")
    assert bad.returncode == 2 and "path: Field required" in bad.stderr
    added = cli("connections", "add", "--tenant", tenant, "--type", "filesource", "--config", f"path={files}")
    assert added.returncode == 0, added.stderr
    run = cli("materialize", "--tenant", tenant)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "[1/4] raw:" in run.stdout and "materialized_contacts: 2 rows" in run.stdout
    unknown = cli("materialize", "--tenant", str(uuid.uuid4()))
    assert unknown.returncode == 2 and "not a tenant partition" in unknown.stderr


@pytest.mark.slow
def test_mapping_suggest_for_a_tenant_uses_its_approved_mappings(tmp_path: Path) -> None:
    env = _env(tmp_path)
    sample = tmp_path / "accounts.csv"
    sample.write_text("Id,Account Name,Text_Field_7\n1,Acme,Boston\n2,Globex,Berlin\n3,Initech,Austin\n")
    tenant = subprocess.run(
        [BIN / "autonomos", "tenants", "create", "Learner"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    teach = (
        "from autonomos_pipeline.dcl.mappings import mapping_engine\n"
        "from schemas import SourceField\n"
        f"mapping_engine().remember(tenant_id={tenant!r}, entity='account', "
        "field=SourceField(name='Text_Field_7', sample_values=['Boston']), canonical_field='billing_city')\n"
    )
    subprocess.run([BIN / "python", "-c", teach], env=env, check=True, timeout=300)

    def suggest(*extra: str) -> dict[str, str | None]:
        out = subprocess.run(
            [BIN / "autonomos", "mapping", "suggest", "--entity", "account", "--input", str(sample),
             "--format", "json", *extra],
            env=env, capture_output=True, text=True, check=True, timeout=300,
        ).stdout  # fmt: skip
        return {f["source_field"]: f["canonical_field"] for f in json.loads(out)["fields"]}

    assert suggest("--tenant", tenant)["Text_Field_7"] == "billing_city"
    assert suggest()["Text_Field_7"] is None  # without the tenant, nothing it taught is visible
