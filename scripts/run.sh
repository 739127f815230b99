#!/usr/bin/env bash
# Set up (first run only) and run AutonomOS on the embedded defaults: Dagster UI + daemon and the API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/autonomos up "$@"
