"""A database outage for tests: every session of the test database ends, as in a restart."""

import time

import psycopg
import psycopg.sql
from django.db import connection


def restart_database(down: float = 0.0) -> int:
    """What a restart of PostgreSQL does to the test database: every session ends, and for
    `down` seconds no new one is accepted. Returns how many sessions were ended. (On a
    connection to another database: the server is shared, only the test database goes.)"""
    db = connection.settings_dict
    name = psycopg.sql.Identifier(db["NAME"])
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True
    ) as admin:
        try:
            if down:
                admin.execute(
                    psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name)
                )
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [db["NAME"]],
            ).fetchone()[0]
            time.sleep(down)
        finally:
            if down:
                admin.execute(
                    psycopg.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name)
                )
        return ended
