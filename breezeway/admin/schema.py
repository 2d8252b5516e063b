"""Which tables an admin page needs that this database lacks, and which migration creates each."""

from collections.abc import Iterable, Iterator
from functools import cache

from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AlterModelTable, CreateModel, SeparateDatabaseAndState
from django.db.migrations.operations.base import Operation


def absent_tables(tables: Iterable[str], using: str = "default") -> set[str]:
    """The tables among `tables` that do not exist (in the schemas of the search_path)."""
    wanted = sorted(set(tables))
    if not wanted:
        return set()
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One catalog lookup for all of them, whatever the number of tables in the schema.
            cursor.execute(
                "SELECT name FROM unnest(%s::text[]) AS name"
                " WHERE to_regclass(quote_ident(name)) IS NULL",
                [wanted],
            )
            return {row[0] for row in cursor.fetchall()}
        return set(wanted) - set(connection.introspection.table_names(cursor))


def _database_operations(operations: Iterable[Operation]) -> Iterator[Operation]:
    for operation in operations:
        if isinstance(operation, SeparateDatabaseAndState):
            yield from _database_operations(operation.database_operations)
        else:
            yield operation


@cache
def table_creators() -> dict[str, str]:
    """Every table the project's migrations create (or rename to), with the migration's name
    ("etl.0001_initial"), read from the migration files: no list to keep up to date."""
    loader = MigrationLoader(None, ignore_no_migrations=True)  # the files only, no database
    creators: dict[str, str] = {}
    for app_label, name in sorted(loader.graph.nodes):
        migration = loader.graph.nodes[(app_label, name)]
        for operation in _database_operations(migration.operations):
            if isinstance(operation, CreateModel):
                table = operation.options.get("db_table") or f"{app_label}_{operation.name_lower}"
            elif isinstance(operation, AlterModelTable) and operation.table:
                table = operation.table
            else:
                continue
            # A table created again later (dropped, then re-created) keeps its first creator:
            # the graph is read in name order, and migration names start with their number.
            creators.setdefault(table, f"{app_label}.{name}")
    return creators


def missing_table_notice(table: str) -> str:
    """What to tell staff about a table this database lacks."""
    creator = table_creators().get(table)
    if creator is None:
        return f"The table {table} does not exist in this database. Run python manage.py migrate."
    return (
        f"The table {table} does not exist in this database yet: migration {creator} creates "
        f"it. Run python manage.py migrate (a legacy database is remediated on the way)."
    )
