"""generate_legacy_data: check the database, decide every row, write them, prepare the tables."""

import time

from django.core.management import call_command
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from legacy_fixture.builders import build_dataset
from legacy_fixture.plan import validate_arguments
from legacy_fixture.state import check_database_state
from legacy_fixture.summary import GenerationSummary
from legacy_fixture.tables import ALL_TABLES
from legacy_fixture.writers import writer_for


def generate_legacy_data(
    scale: float, seed: int = 1, regions: int = 3, using: str = "default", replace: bool = False
) -> GenerationSummary:
    """Fill the legacy tables of database `using` with the incident's duplicates at `scale`.

    Migrates breezeway to 0001 first when its tables do not exist. Raises ValueError for bad
    arguments and LegacyDatabaseError (before writing anything) when the database is past the
    legacy state or, without `replace`, already holds rows.
    """
    scale, seed, regions = validate_arguments(scale, seed, regions)
    started = time.monotonic()
    connection = connections[using]
    needs_migration = check_database_state(connection, replace=replace)
    data = build_dataset(scale, seed, regions)
    if needs_migration:
        call_command("migrate", "breezeway", "0001", database=using, verbosity=0)
        check_database_state(connection, replace=replace)
    with transaction.atomic(using=using):
        writer_for(connection, data).write(replace=replace)
    _prepare_tables(connection)
    summary = data.summary(connection.vendor)
    summary.migrated = needs_migration
    summary.seconds = time.monotonic() - started
    return summary


def _prepare_tables(connection: BaseDatabaseWrapper) -> None:
    """Statistics for the planner, and on PostgreSQL the hint bits and visibility map set now,
    so later benchmarks do not pay for them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # VACUUM cannot run in a transaction: inside the caller's, statistics only.
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for table in ALL_TABLES:
                cursor.execute(f"{command} {connection.ops.quote_name(table)}")
        else:
            cursor.execute("ANALYZE")
