#!/usr/bin/env bash
# The main job on a fresh machine: install, then run the end-to-end demo on the embedded
# SQLite database with the bundled local EQC server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/wdh-enrich db upgrade
exec .venv/bin/wdh-enrich db current
