#!/usr/bin/env bash
# Set up (first run only) and run AutonomOS on the embedded defaults: Dagster UI + daemon, the API and a demo tenant.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/autonomos up --demo "$@"
