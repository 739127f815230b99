"""Source connectors behind one small protocol: check(), discover(), read(stream, cursor) in Arrow batches."""

from connectors.base import DEFAULT_BATCH_SIZE, Batch, CheckResult, Connector, RecordError
from connectors.exceptions import ConnectorError, TerminalConnectorError, TransientConnectorError
from connectors.filesource.config import FileSourceConfig
from connectors.mongodb.config import MongoConfig
from connectors.registry import CONFIG_MODELS, build_connector, config_model
from connectors.salesforce.config import SalesforceConfig
from connectors.supabase.config import SupabaseConfig

__all__ = [
    "CONFIG_MODELS",
    "DEFAULT_BATCH_SIZE",
    "Batch",
    "CheckResult",
    "Connector",
    "ConnectorError",
    "FileSourceConfig",
    "MongoConfig",
    "RecordError",
    "SalesforceConfig",
    "SupabaseConfig",
    "TerminalConnectorError",
    "TransientConnectorError",
    "build_connector",
    "config_model",
]
