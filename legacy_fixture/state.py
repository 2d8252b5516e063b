"""Which databases the generator may fill: legacy, at breezeway 0001 or empty, and not filled."""

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder

from legacy_fixture.tables import ALL_TABLES, DUPLICATED_TABLES, LEGACY_COLUMNS

HINT = "Use a fresh database, or one at `manage.py migrate breezeway 0001`."


class LegacyDatabaseError(Exception):
    """The database is not in a state the generator may fill (remediated, not empty, ...)."""


def check_database_state(connection: BaseDatabaseWrapper, replace: bool = False) -> bool:
    """True when breezeway 0001 must be applied first; LegacyDatabaseError when refused."""
    breezeway = _breezeway_migrations(connection)
    _check_migrations(breezeway)
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        if not any(t in existing for t in ALL_TABLES):
            if breezeway:
                raise LegacyDatabaseError(
                    "breezeway 0001 is recorded as applied but its tables are missing. " + HINT
                )
            return True
        missing = [t for t in ALL_TABLES if t not in existing]
        if missing:
            raise LegacyDatabaseError(
                f"the legacy schema is incomplete: missing {', '.join(missing)}. {HINT}"
            )
        for table in DUPLICATED_TABLES:
            _check_still_legacy(connection, cursor, table)
        if not replace:
            _check_empty(connection, cursor)
    return False


def _breezeway_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    applied = MigrationRecorder(connection).applied_migrations()
    return sorted(name for app, name in applied if app == "breezeway")


def _check_migrations(breezeway: list[str]) -> None:
    """Any breezeway migration past 0001 means remediated (0003) or on its way to it."""
    later = [name for name in breezeway if name != "0001_initial"]
    if later:
        raise LegacyDatabaseError(
            f"breezeway migrations past 0001 are applied ({', '.join(later)}): the database "
            f"is already remediated, not legacy. {HINT}"
        )


def _check_still_legacy(connection: BaseDatabaseWrapper, cursor: Any, table: str) -> None:
    """A duplicated table with a natural-key constraint or a later column was remediated."""
    constraints = connection.introspection.get_constraints(cursor, table)
    unique = sorted(name for name, c in constraints.items() if c["unique"] and not c["primary_key"])
    if unique:
        raise LegacyDatabaseError(
            f"{table} already has natural-key constraints ({', '.join(unique)}): the "
            f"database is remediated, not legacy. {HINT}"
        )
    columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
    extra = sorted(columns - set(LEGACY_COLUMNS[table]))
    if extra:
        raise LegacyDatabaseError(
            f"{table} has columns the legacy schema does not ({', '.join(extra)}): the "
            f"database is past the legacy state. {HINT}"
        )


def _check_empty(connection: BaseDatabaseWrapper, cursor: Any) -> None:
    quote = connection.ops.quote_name
    filled = []
    for table in ALL_TABLES:
        cursor.execute(f"SELECT 1 FROM {quote(table)} LIMIT 1")
        if cursor.fetchone():
            filled.append(table)
    if filled:
        raise LegacyDatabaseError(
            f"the legacy tables already hold rows ({', '.join(filled)}). Pass --replace "
            "(replace=True from Python) to empty them first, or use a fresh database."
        )
