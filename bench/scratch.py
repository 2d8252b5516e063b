"""Scratch PostgreSQL databases for the benchmarks, on the server of TEST_DATABASE_URL."""

import os

import psycopg
from psycopg import sql

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
