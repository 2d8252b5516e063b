"""Session checks shared by every test: PostgreSQL must be reachable before anything runs."""

import os

import psycopg
import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    try:
        psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError as exc:
        url = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/breezeway")
        pytest.exit(
            f"PostgreSQL is unreachable at {url} ({exc}).\n"
            "Start it (on this machine: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start), or point TEST_DATABASE_URL at a server "
            "whose user may create databases.",
            returncode=3,
        )
