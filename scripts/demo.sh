#!/usr/bin/env bash
# The main job on a fresh machine: install, then run the end-to-end demo on an embedded
# SQLite database with the bundled local EQC server (files land in .wdh/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/wdh-enrich demo "$@"
