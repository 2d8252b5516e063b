#!/usr/bin/env bash
# make run: the whole stack locally on PostgreSQL and Redis: web (admin, /healthz), a Celery
# worker, Celery beat, and the bundled API simulator when no region has real credentials.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/breezeway_local}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export DEBUG=${DEBUG:-true}
export SECRET_KEY=${SECRET_KEY:-local-run-not-secret}
export DJANGO_SETTINGS_MODULE=breezeway.settings
WEB_PORT=${WEB_PORT:-8000}
SIM_PORT=${SIM_PORT:-8765}
mkdir -p var/run
PIDS=()
SUBSCRIBE=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null; }
trap cleanup EXIT INT TERM

# The database must exist (on PostgreSQL, created here if it does not).
$PY - <<'PYEOF'
import os, psycopg
from psycopg import sql
url = os.environ["DATABASE_URL"]
if url.startswith("postgres"):
    head, _, name = url.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
PYEOF
$PY manage.py migrate --no-input -v 1 | grep -v "^  Applying\|INFO" || true

if ! env | grep -q '^BREEZEWAY_.*_CLIENT_ID='; then
    echo "No BREEZEWAY_<CODE>_CLIENT_ID set: serving the API simulator on port $SIM_PORT"
    $PY -m simulator serve --port "$SIM_PORT" --seed 1 --scale "${SIM_SCALE:-0.02}" --companies 2 \
        > var/run/simulator.log 2>&1 &
    PIDS+=($!)
    SIM_URL="http://127.0.0.1:$SIM_PORT"
    for _ in $(seq 50); do
        $PY -m simulator companies --url "$SIM_URL" > var/run/companies.json 2>/dev/null && break
        sleep 0.2
    done
    export BREEZEWAY_API_URL="$SIM_URL/public/inventory/v1"
    export BREEZEWAY_AUTH_URL="$SIM_URL/public/auth/v1"
    while read -r CODE COMPANY CLIENT_ID CLIENT_SECRET NAME; do
        VAR=$(echo "$CODE" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9\n' '_')
        export "BREEZEWAY_${VAR}_CLIENT_ID=$CLIENT_ID" "BREEZEWAY_${VAR}_CLIENT_SECRET=$CLIENT_SECRET"
        # The simulator posts webhooks to the local receiver (subscribed once web answers).
        export "BREEZEWAY_${VAR}_WEBHOOK_SECRET=local-webhooks-$CODE"
        SUBSCRIBE+=("$CODE $COMPANY")
        $PY manage.py add_region "$CODE" --name "$NAME" --company-id "$COMPANY" >/dev/null 2>&1 \
            || $PY manage.py add_region "$CODE" --name "$NAME" --company-id "$COMPANY" --update >/dev/null
    done < <($PY -c '
import json
for c in json.load(open("var/run/companies.json")):
    print(c["code"], c["company_id"], c["client_id"], c["client_secret"], c["name"])')
fi

# A local admin login, created once (DEBUG runs only).
$PY manage.py shell -v 0 -c '
from django.conf import settings
from django.contrib.auth import get_user_model
User = get_user_model()
if settings.DEBUG and not User.objects.filter(is_superuser=True).exists():
    User.objects.create_superuser("admin", "admin@localhost", "admin")
    print("created the admin login admin / admin (local runs only)")'

$PY manage.py runserver "127.0.0.1:$WEB_PORT" --noreload > var/run/web.log 2>&1 &
PIDS+=($!)
for ENTRY in "${SUBSCRIBE[@]}"; do
    read -r CODE COMPANY <<< "$ENTRY"
    for _ in $(seq 50); do
        $PY -c "import socket; socket.create_connection(('127.0.0.1', $WEB_PORT), 1)" 2>/dev/null && break
        sleep 0.2
    done
    HOOKS="http://127.0.0.1:$WEB_PORT/webhooks/breezeway/$CODE"
    $PY -m simulator webhooks --url "$SIM_URL" --company-id "$COMPANY" --secret "local-webhooks-$CODE" \
        --tasks-url "$HOOKS/tasks/" --property-status-url "$HOOKS/property-status/" >/dev/null \
        || echo "could not subscribe the simulator's webhooks for $CODE (see var/run/simulator.log)"
done
$PY -m celery -A breezeway worker --loglevel=INFO > var/run/worker.log 2>&1 &
PIDS+=($!)
$PY -m celery -A breezeway beat --loglevel=INFO > var/run/beat.log 2>&1 &
PIDS+=($!)
# A first sync now rather than at the top of the hour.
$PY manage.py shell -v 0 -c 'from etl.tasks import sync_all; print("queued sync_all for", sync_all.delay().id)'

TICK_HINT=""
if [ -n "${SIM_URL:-}" ]; then
    TICK_HINT="  webhooks  $PY -m simulator tick --url $SIM_URL  (an hour of changes, pushed here)"
fi
cat <<EOF2

Running (Ctrl-C stops everything):
  admin     http://127.0.0.1:$WEB_PORT/admin/
  health    http://127.0.0.1:$WEB_PORT/healthz
  logs      var/run/web.log, worker.log, beat.log${SIM_URL:+, simulator.log (API at $SIM_URL)}
$TICK_HINT
EOF2
wait
