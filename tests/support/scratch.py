"""Scratch PostgreSQL databases for tests that need a database in a given state (legacy, adopted).

pytest-django's test database is migrated to the latest state; remediation and adoption tests
need databases at other states, so they get a throw-away database of their own and drive it
the way a user would: `manage.py` in a subprocess with DATABASE_URL pointing at it.
"""

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from legacy_fixture import LEGACY_SCHEMA_SQL

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/breezeway"


def server_url(dbname: str) -> str:
    """TEST_DATABASE_URL with its database name replaced."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)
    head, _, _ = base.rpartition("/")
    return f"{head}/{dbname}"


@dataclass
class ScratchDatabase:
    """A PostgreSQL database created for one test and dropped after it."""

    name: str
    schema: str = "public"
    env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return server_url(self.name)

    def connect(self, autocommit: bool = True) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=autocommit)
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        return conn

    def create_schema(self, schema: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self.schema = schema

    def load_legacy_schema(self) -> None:
        """Create the legacy tables from the contract file, as an old database has them."""
        with self.connect() as conn:
            conn.execute(LEGACY_SCHEMA_SQL.read_text())

    def manage(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        """Run manage.py against this database; returns the completed process (text output)."""
        full_env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "DATABASE_SCHEMA": self.schema,
            "SECRET_KEY": "test-secret-key",
            "DJANGO_SETTINGS_MODULE": "breezeway.settings",
            **self.env,
            **env,
        }
        proc = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc

    def scalar(self, query: str, params: tuple = ()) -> object:
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def create_scratch_database(prefix: str = "bw_scratch") -> ScratchDatabase:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return ScratchDatabase(name=name)


def drop_scratch_database(db: ScratchDatabase) -> None:
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
        )
