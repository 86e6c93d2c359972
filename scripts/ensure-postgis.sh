#!/usr/bin/env bash
# Make sure a PostgreSQL server with PostGIS answers at GRIDSVC_TEST_POSTGRES_URL for the
# test suite: install Debian's postgresql-15-postgis-3 if missing, create and start the
# cluster if needed, and (for the default URL) create the test role `gridsvc_test` through
# the local `postgres` superuser when it cannot log in yet. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/apt.sh
source scripts/apt.sh

DEFAULT_URL="postgresql://gridsvc_test:gridsvc_test@127.0.0.1:5432/postgres"
url="${GRIDSVC_TEST_POSTGRES_URL:-$DEFAULT_URL}"

apt_install_missing postgresql-15 postgresql-15-postgis-3

if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    _as_root pg_createcluster 15 main
fi
pg_lsclusters -h | while read -r version cluster _port status _rest; do
    if [ "$status" != "online" ]; then
        _as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
    fi
done
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
done

can_connect() {
    .venv/bin/python - "$url" <<'PY' 2>/dev/null
import sys, psycopg
with psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3) as conn:
    conn.execute("SELECT 1")
PY
}

if can_connect; then
    exit 0
fi
if [ "$url" = "$DEFAULT_URL" ]; then
    echo "creating PostgreSQL role gridsvc_test for the test suite" >&2
    _as_root runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c \
        "DO \$\$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridsvc_test') THEN
             CREATE ROLE gridsvc_test LOGIN SUPERUSER PASSWORD 'gridsvc_test';
           END IF;
         END \$\$;"
    can_connect && exit 0
fi
echo "PostgreSQL does not accept $url" >&2
exit 1
