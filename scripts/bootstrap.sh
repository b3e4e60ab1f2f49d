#!/usr/bin/env bash
# Create .venv (if missing or stale) and install the project with pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
stamp=.venv/.installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"

# The project is installed editable, so its own modules are not byte-compiled by pip; a
# shell with PYTHONDONTWRITEBYTECODE would compile them on every command. Compiling them
# here (up-to-date files are skipped) keeps every start as fast as a regular install's.
compile_sources() {
  .venv/bin/python -m compileall -q src >/dev/null
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  compile_sources
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "bootstrap: installing pinned dependencies into .venv" >&2
if ! { .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
       && .venv/bin/python -m pip install --quiet --disable-pip-version-check \
            -c constraints.txt -e ".[dev,dagster]"; } >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
echo "$want" > "$stamp"
compile_sources
