#!/usr/bin/env bash
# Production start of one process: serve.sh web | worker | beat (the Procfile's commands).
# The environment holds the settings (see README "Deploying"); migrations are an operator step.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-breezeway.settings}
# Celery prints its start-up banner rather than logging it: left out when the logs are JSON.
CELERY=("$PYTHON" -m celery -A breezeway)
if [ "${LOG_FORMAT:-}" = json ]; then CELERY+=(--quiet); fi

case "${1:-}" in
web)
    # Deploy warnings go to the log; errors (a malformed setting) stop the start.
    "$PYTHON" manage.py check --deploy
    # The hashed, compressed files WhiteNoise serves (a file that changed gets a new name, so
    # browsers may cache them for good). Not --clear: STATIC_ROOT may be a shared directory.
    "$PYTHON" manage.py collectstatic --noinput -v 0
    # gthread workers: threads share a process' memory, and an admin request mostly waits on
    # PostgreSQL. A request still running after WEB_TIMEOUT seconds gets its worker restarted.
    # No control socket: nothing uses it, and two servers of one user would share its path.
    # A worker is replaced after WEB_MAX_REQUESTS requests (a leak cannot grow for ever);
    # not much sooner: a new one costs a second of CPU, and webhooks come hundreds a second.
    exec "$PYTHON" -m gunicorn breezeway.wsgi \
        --bind "${BIND:-0.0.0.0:${PORT:-8000}}" \
        --workers "${WEB_CONCURRENCY:-2}" \
        --threads "${WEB_THREADS:-4}" \
        --timeout "${WEB_TIMEOUT:-120}" \
        --graceful-timeout 30 \
        --keep-alive 5 \
        --max-requests "${WEB_MAX_REQUESTS:-20000}" \
        --max-requests-jitter "$(( ${WEB_MAX_REQUESTS:-20000} / 10 ))" \
        --access-logfile - --error-logfile - \
        --no-control-socket
    ;;
worker)
    # One process per CPU unless WORKER_CONCURRENCY says otherwise (each sync in a process also
    # runs SYNC_CONCURRENCY request threads).
    exec "${CELERY[@]}" worker --loglevel "${LOG_LEVEL:-INFO}" \
        ${WORKER_CONCURRENCY:+--concurrency "$WORKER_CONCURRENCY"}
    ;;
beat)
    # Exactly one beat per deployment: two would send every scheduled task twice.
    exec "${CELERY[@]}" beat --loglevel "${LOG_LEVEL:-INFO}"
    ;;
*)
    echo "usage: $0 web|worker|beat" >&2
    exit 64
    ;;
esac
