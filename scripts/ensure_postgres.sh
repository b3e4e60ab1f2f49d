#!/usr/bin/env bash
# Make sure a PostgreSQL server is reachable for the tests and print its SQLAlchemy URL.
#
# Order: $WDH_TEST_DATABASE_URL if set and reachable; else the machine's server at
# 127.0.0.1:5432 (started with pg_ctlcluster when it is installed but down); else a private
# cluster made with initdb in a temporary folder (PostgreSQL installed from Debian's packages
# first when no server binaries exist). Progress goes to stderr; only the URL to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DEFAULT_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
PRIVATE_PORT="${WDH_PRIVATE_PG_PORT:-54329}"
say() { echo "ensure_postgres: $*" >&2; }

reachable() {  # $1 = URL; true when a connection succeeds within a few seconds
  "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, sqlalchemy as sa
url = sa.make_url(sys.argv[1]).set(drivername="postgresql+psycopg")
engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
with engine.connect() as conn:
    conn.execute(sa.text("SELECT 1"))
PYEOF
}

ensure_database() {  # $1 = URL; create its database when the server lacks it
  "$PY" - "$1" <<'PYEOF' >&2
import sys, sqlalchemy as sa
url = sa.make_url(sys.argv[1]).set(drivername="postgresql+psycopg")
admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                          {"d": url.database}).first()
    if not exists:
        conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
PYEOF
}

wait_for() {  # $1 = URL
  for _ in $(seq 1 60); do
    reachable "$1" && return 0
    sleep 0.5
  done
  return 1
}

URL="${WDH_TEST_DATABASE_URL:-$DEFAULT_URL}"
if reachable "$URL"; then echo "$URL"; exit 0; fi
if [ -n "${WDH_TEST_DATABASE_URL:-}" ]; then
  say "WDH_TEST_DATABASE_URL is set but not reachable"; exit 1
fi

# 1. The machine's own cluster, installed but stopped.
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] \
   && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  say "starting the local PostgreSQL $version cluster"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  if wait_for "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"; then
    ensure_database "$DEFAULT_URL"
    echo "$DEFAULT_URL"; exit 0
  fi
fi

# 2. A private cluster in a temporary folder.
bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  [ -x "$candidate/initdb" ] && bindir="$candidate" && break
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
  bindir="$(dirname "$(command -v initdb)")"
fi
if [ -z "$bindir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing PostgreSQL from Debian's packages"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
[ -n "$bindir" ] || { say "no PostgreSQL server binaries found"; exit 1; }

PRIVATE_URL="postgresql+psycopg://postgres@127.0.0.1:$PRIVATE_PORT/test"
if reachable "postgresql+psycopg://postgres@127.0.0.1:$PRIVATE_PORT/postgres"; then
  ensure_database "$PRIVATE_URL"; echo "$PRIVATE_URL"; exit 0
fi
datadir="$(mktemp -d /tmp/wdh-pg.XXXXXX)"
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$datadir"
  as_owner=(runuser -u postgres --)
fi
say "creating a private cluster on port $PRIVATE_PORT"
"${as_owner[@]}" "$bindir/initdb" -D "$datadir/data" -A trust -U postgres -E UTF8 >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w \
  -o "-p $PRIVATE_PORT -k $datadir -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
wait_for "postgresql+psycopg://postgres@127.0.0.1:$PRIVATE_PORT/postgres"
ensure_database "$PRIVATE_URL"
echo "$PRIVATE_URL"
