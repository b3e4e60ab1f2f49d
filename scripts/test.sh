#!/usr/bin/env bash
# The whole test suite: virtualenv, pinned install, PostgreSQL, ruff, mypy --strict, pytest
# with line coverage of src/ (fails under 85%). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
WDH_TEST_DATABASE_URL="$(bash scripts/ensure_postgres.sh)"
export WDH_TEST_DATABASE_URL
echo "== ruff" && .venv/bin/ruff check src tests benchmarks && .venv/bin/ruff format --check src tests benchmarks
echo "== mypy" && .venv/bin/mypy --strict src/
echo "== pytest"
rm -f .coverage .coverage.*
.venv/bin/python -m pytest -p no:cacheprovider --cov=work_data_hub --cov-report=term "$@"
