"""Scratch PostgreSQL databases for the benchmarks, on the server of TEST_DATABASE_URL, and
manage.py run against them."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/breezeway")


def url_for(dbname: str) -> str:
    head, _, _ = SERVER.rpartition("/")
    return f"{head}/{dbname}"


def admin() -> psycopg.Connection:
    return psycopg.connect(url_for("postgres"), autocommit=True)


def create_database(name: str, template: str | None = None, tablespace: str | None = None) -> None:
    """CREATE DATABASE, as a copy of `template` when given (no one may be connected to it),
    in `tablespace` when given."""
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    if tablespace:
        query += sql.SQL(" TABLESPACE {}").format(sql.Identifier(tablespace))
    with admin() as conn:
        conn.execute(query)


def drop(name: str) -> None:
    with admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def django_env(dbname: str, **extra: str) -> dict[str, str]:
    """The environment of a Django process on database `dbname`: ours, and `extra` on top."""
    return {**os.environ, "DATABASE_URL": url_for(dbname), "SECRET_KEY": "bench", **extra}


def manage(dbname: str, *args: str, quiet: bool = False, **extra_env: str) -> float:
    """Run manage.py against the database; returns the command's wall time in seconds.

    `extra_env` is added to the environment (django_env). With `quiet`, the command's output is
    shown only if it fails. A failure ends the benchmark.
    """
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=django_env(dbname, **extra_env),
        capture_output=quiet,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode:
        if quiet:
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed on {dbname} ({result.returncode})")
    return seconds
