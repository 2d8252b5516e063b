#!/usr/bin/env bash
# make demo: remediate a duplicate-ridden legacy database, then sync it from the bundled API
# simulator twice; on SQLite, no services.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SCALE=${DEMO_SCALE:-0.002}

mkdir -p var
rm -f var/demo.sqlite3
export DATABASE_URL="sqlite:///$PWD/var/demo.sqlite3"
export SECRET_KEY="demo-only-not-secret"
export DEBUG=false
export DATABASE_SCHEMA=public
export DJANGO_SETTINGS_MODULE=breezeway.settings

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/7  Build a legacy database shaped like the incident (scale $SCALE of 38.3 M rows)"
$PY manage.py make_legacy_db --scale "$SCALE"

step "2/7  The duplicate report before remediation (python manage.py dedup_report)"
$PY manage.py dedup_report

step "3/7  Remediate: python manage.py migrate"
$PY manage.py migrate

step "4/7  The report again: no duplicates, the constraints in place"
$PY manage.py dedup_report

step "5/7  Natural-key constraints, and the differing copies kept in the archive"
$PY manage.py dedup_report --constraints
$PY manage.py dedup_restore --list | tail -n 4
step "6/7  Start the Breezeway API simulator and register its company as a region"
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SIM_URL="http://127.0.0.1:$PORT"
$PY -m simulator serve --port "$PORT" --seed 1 --scale "${DEMO_SIM_SCALE:-0.01}" --companies 1 \
    > var/demo-simulator.log 2>&1 &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    $PY -m simulator companies --url "$SIM_URL" > var/demo-companies.json 2>/dev/null && break
    sleep 0.2
done
# One line: code, company id, client id, client secret, name (the secret goes to the
# environment only, as it would in production).
read -r CODE COMPANY CLIENT_ID CLIENT_SECRET NAME < <($PY -c '
import json, sys
c = json.load(open("var/demo-companies.json"))[0]
print(c["code"], c["company_id"], c["client_id"], c["client_secret"], c["name"])')
export BREEZEWAY_API_URL="$SIM_URL/public/inventory/v1"
export BREEZEWAY_AUTH_URL="$SIM_URL/public/auth/v1"
VAR=$(echo "$CODE" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9\n' '_')
export "BREEZEWAY_${VAR}_CLIENT_ID=$CLIENT_ID" "BREEZEWAY_${VAR}_CLIENT_SECRET=$CLIENT_SECRET"
echo "simulator at $SIM_URL"
$PY manage.py add_region "$CODE" --name "$NAME" --company-id "$COMPANY"

step "7/7  Sync twice (python manage.py sync): the second run writes 0 rows"
$PY manage.py sync --region "$CODE"
echo
$PY manage.py sync --region "$CODE"

printf '\nDone. The database is %s; see README.md for running it on PostgreSQL.\n' "var/demo.sqlite3"
