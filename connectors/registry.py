"""Build a connector from its type name and a plain config dict, validating the config first."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.base import Connector
from connectors.exceptions import TerminalConnectorError
from connectors.filesource.config import FileSourceConfig
from connectors.mongodb.config import MongoConfig
from connectors.salesforce.config import SalesforceConfig
from connectors.supabase.config import SupabaseConfig

__all__ = ["CONFIG_MODELS", "build_connector", "config_model"]

CONFIG_MODELS: dict[str, type[BaseModel]] = {
    "filesource": FileSourceConfig,
    "supabase": SupabaseConfig,
    "salesforce": SalesforceConfig,
    "mongodb": MongoConfig,
}
_CONNECTORS = {
    "filesource": "connectors.filesource.connector:FileSourceConnector",
    "supabase": "connectors.supabase.connector:SupabaseConnector",
    "salesforce": "connectors.salesforce.connector:SalesforceConnector",
    "mongodb": "connectors.mongodb.connector:MongoConnector",
}


def config_model(type: str) -> type[BaseModel]:
    """The pydantic config model of a connector type."""
    try:
        return CONFIG_MODELS[type]
    except KeyError:
        known = ", ".join(sorted(CONFIG_MODELS))
        raise TerminalConnectorError(f"unknown connector type {type!r}; known types: {known}") from None


def _describe(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in error.errors())


def build_connector(type: str, config: dict[str, Any]) -> Connector:
    """Validate config for the connector type and return the connector (no I/O happens yet)."""
    model = config_model(type)
    try:
        parsed = model.model_validate(config)
    except ValidationError as exc:
        raise TerminalConnectorError(f"invalid {type} config: {_describe(exc)}") from exc
    module_name, class_name = _CONNECTORS[type].split(":")
    connector_class = getattr(importlib.import_module(module_name), class_name)
    connector: Connector = connector_class(parsed)
    return connector
