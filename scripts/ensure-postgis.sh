#!/usr/bin/env bash
# Make sure a PostgreSQL server with PostGIS answers at GRIDSVC_TEST_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/postgres) for the test suite:
# install Debian's postgresql-15-postgis-3 if missing, start the cluster if it
# is down, and let the local `postgres` role in over TCP without a password
# (trust for 127.0.0.1 only) when this script had to create the cluster itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/apt.sh
source scripts/apt.sh

apt_install_missing postgresql-15 postgresql-15-postgis-3

if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    _as_root pg_createcluster 15 main
    hba=/etc/postgresql/15/main/pg_hba.conf
    _as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
fi
pg_lsclusters -h | while read -r version cluster _port status _rest; do
    if [ "$status" != "online" ]; then
        _as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
    fi
done

url="${GRIDSVC_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
for _ in $(seq 1 30); do
    if .venv/bin/python - "$url" <<'PY' 2>/dev/null
import sys, psycopg
with psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2) as conn:
    conn.execute("SELECT 1")
PY
    then
        exit 0
    fi
    sleep 1
done
echo "PostgreSQL does not answer at $url" >&2
exit 1
