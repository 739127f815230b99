#!/usr/bin/env bash
# Set up (first run only) and run every quality gate: ruff, ruff format, mypy, Dagster definitions, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
export PATH="$PWD/.venv/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Dagster tooling below uses a throwaway instance, never the user's.
DAGSTER_HOME=$(mktemp -d)
export DAGSTER_HOME
trap 'rm -rf "$DAGSTER_HOME"' EXIT

echo "== ruff check";            ruff check .
echo "== ruff format --check";   ruff format --check .
echo "== mypy";                  mypy schemas connectors autonomos_pipeline autonomos_api
echo "== dagster definitions validate"
dagster definitions validate -m autonomos_pipeline.definitions
echo "== pytest"
pytest -n "${PYTEST_WORKERS:-2}" --timeout 600 "$@"
