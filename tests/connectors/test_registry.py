"""The public surface: building connectors from plain config dicts, typed errors, no orchestration imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import connectors
from connectors import (
    CONFIG_MODELS,
    ConnectorError,
    FileSourceConfig,
    TerminalConnectorError,
    TransientConnectorError,
    build_connector,
)


def test_every_type_builds_its_connector(tmp_path: Path) -> None:
    configs = {
        "filesource": {"path": str(tmp_path)},
        "supabase": {"url": "postgresql://postgres@127.0.0.1:5432/postgres", "tables": ["accounts"]},
        "salesforce": {"client_id": "id", "client_secret": "s", "auth_flow": "client_credentials"},
        "mongodb": {"database": "crm", "collections": ["accounts"]},
    }
    assert set(configs) == set(CONFIG_MODELS)
    for kind, config in configs.items():
        connector = build_connector(kind, config)
        assert connector.system == kind
        connector.close()


def test_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(TerminalConnectorError, match="unknown connector type 'hubspot'; known types: filesource"):
        build_connector("hubspot", {})


def test_invalid_config_names_the_field() -> None:
    with pytest.raises(TerminalConnectorError, match="invalid filesource config: path: Field required"):
        build_connector("filesource", {})
    with pytest.raises(TerminalConnectorError, match="invalid mongodb config: colections: Extra inputs"):
        build_connector("mongodb", {"database": "crm", "colections": ["a"]})


def test_error_hierarchy_carries_a_reason() -> None:
    error = TransientConnectorError("Salesforce answered 503")
    assert isinstance(error, ConnectorError) and error.reason == "Salesforce answered 503"
    assert not issubclass(TerminalConnectorError, TransientConnectorError)


def test_public_surface_is_explicit() -> None:
    assert "build_connector" in connectors.__all__ and "Batch" in connectors.__all__
    assert all(hasattr(connectors, name) for name in connectors.__all__)
    assert FileSourceConfig(path=Path("/data")).path == Path("/data")


def test_connectors_never_import_dagster_or_the_database_layer() -> None:
    code = (
        "import sys, connectors.registry as r\n"
        "for kind in r.CONFIG_MODELS: r.config_model(kind)\n"
        "import connectors.filesource, connectors.supabase, connectors.salesforce, connectors.mongodb\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'dagster', 'autonomos_pipeline', 'autonomos_api'}]\n"
        "print(bad)\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
