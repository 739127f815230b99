"""Where the Dagster instance lives: DAGSTER_HOME, or an embedded SQLite instance under the data directory."""

from __future__ import annotations

import os
from pathlib import Path

from autonomos_pipeline.dcl.settings import get_settings

EMBEDDED_INSTANCE_YAML = """\
# Embedded AutonomOS instance (written by `autonomos`): SQLite storage in this folder and at most one active
# run per tenant. For production use the repository's dagster.yaml (PostgreSQL storage).
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
telemetry:
  enabled: false
"""


def ensure_dagster_home() -> Path:
    """Return DAGSTER_HOME, creating the embedded instance (and setting the variable) when it is unset."""
    current = os.environ.get("DAGSTER_HOME")
    if current:
        return Path(current)
    home = (get_settings().data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(EMBEDDED_INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
