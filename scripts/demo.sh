#!/usr/bin/env bash
# make demo: remediate a duplicate-ridden legacy database end to end, on SQLite, no services.
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

step "1/5  Build a legacy database shaped like the incident (scale $SCALE of 38.3 M rows)"
$PY manage.py make_legacy_db --scale "$SCALE"

step "2/5  The duplicate report before remediation (python manage.py dedup_report)"
$PY manage.py dedup_report

step "3/5  Remediate: python manage.py migrate"
$PY manage.py migrate

step "4/5  The report again: no duplicates, the constraints in place"
$PY manage.py dedup_report

step "5/5  Natural-key constraints, and the differing copies kept in the archive"
$PY manage.py dedup_report --constraints
$PY manage.py dedup_restore --list | tail -n 4
printf '\nDone. The database is %s; see README.md for running it on PostgreSQL.\n' "var/demo.sqlite3"
