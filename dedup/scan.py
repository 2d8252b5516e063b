"""Per-table duplicate statistics measured live: rows, distinct natural keys, sizes, constraint.

Before remediation the distinct keys are counted by grouping every row by its key's own
columns (the remediation's grouping, without the content), derived keys computed by the same
rule the sync and the remediation use. Once a table's natural-key constraint exists and its
index is valid, the database guarantees distinct keys = rows, and the scan only counts rows.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from breezeway.keys import NaturalKeyError, models_with_natural_keys, natural_key_constraint
from dedup.figures import DuplicateFigures
from dedup.grouping import PostgresGrouping, SimpleGrouping
from dedup.spec import TableSpec


@dataclass
class TableStats(DuplicateFigures):
    """One table's duplicate figures at one moment."""

    table: str
    constraint: str
    rows: int
    distinct_keys: int
    constraint_present: bool
    constraint_valid: bool
    table_bytes: int | None
    measured_at: datetime
    method: str  # "constraint": enforced by a valid unique index; "scan": counted by grouping

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["measured_at"] = self.measured_at.isoformat()
        data.update(
            duplicates=self.duplicates,
            duplicate_pct=round(self.duplicate_pct, 4),
            factor=round(self.factor, 2),
            unique_bytes_estimate=self.unique_bytes_estimate,
            wasted_bytes=self.wasted_bytes,
            healthy=self.healthy,
        )
        return data


class TableMissing(LookupError):
    """The model's table is not in the database (migrations not applied)."""


def is_child_model(model: type[models.Model]) -> bool:
    """A child table hangs off a parent record (a row with a natural key of its own, not a
    grouping such as a region) and dies with it."""
    return any(
        f.many_to_one
        and f.remote_field.on_delete is models.CASCADE
        and has_natural_key(f.related_model)
        for f in model._meta.concrete_fields
    )


def has_natural_key(model: type[models.Model]) -> bool:
    try:
        natural_key_constraint(model)
    except NaturalKeyError:
        return False
    return True


def constraint_state(connection: BaseDatabaseWrapper, table: str, name: str) -> tuple[bool, bool]:
    """(present, valid) of a unique constraint or unique index by name."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                "WHERE c.relname = %s AND i.indrelid = %s::regclass AND i.indisunique",
                [name, table],
            )
            row = cur.fetchone()
        return (row is not None, bool(row and row[0]))
    with connection.cursor() as cur:
        present = name in connection.introspection.get_constraints(cur, table)
    return present, present


def table_bytes(connection: BaseDatabaseWrapper, table: str) -> int | None:
    """Heap, TOAST and indexes; None where the database cannot tell (SQLite without dbstat)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_total_relation_size(%s::regclass)", [table])
            return int(cur.fetchone()[0])
        try:
            cur.execute(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = %s OR name IN "
                "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s)",
                [table, table],
            )
        except DatabaseError:  # dbstat is a compile-time option of SQLite
            return None
        return int(cur.fetchone()[0])


def count_rows_and_keys(connection: BaseDatabaseWrapper, spec: TableSpec) -> tuple[int, int]:
    """Rows and distinct natural keys, by grouping every row (nothing is changed)."""
    if connection.vendor == "postgresql":
        # Only the key's own columns are fingerprinted: the report counts keys, not contents.
        grouping = PostgresGrouping(connection, spec, keys_only=True)
        fixed = ", ".join(grouping.q(c) for c in spec.fixed_key_columns)
        with transaction.atomic(using=connection.alias), connection.cursor() as cur:
            grouping.set_work_mem(cur)
            grouping.group_rows(cur)
            grouping.derive_keys(cur)
            cur.execute(
                f"SELECT coalesce(sum(copies), 0), count(DISTINCT ({fixed}{', ' if fixed else ''}"
                f"key)) FROM {grouping.keyed_combos()}"
            )
            rows, distinct = cur.fetchone()
            grouping.drop_temporary_tables(cur)
        return int(rows), int(distinct)
    grouping = SimpleGrouping(connection, spec)
    with connection.cursor() as cur:
        rows = grouping.read_rows(cur, columns=grouping.key_source_columns())
    return len(rows), len(grouping.group(rows))


def require_table(connection: BaseDatabaseWrapper, table: str) -> None:
    """Raise TableMissing unless the table exists (migrations applied)."""
    with connection.cursor() as cur:
        if table not in connection.introspection.table_names(cur):
            raise TableMissing(f"table {table} does not exist: run `manage.py migrate` first")


def scan_model(model: type[models.Model], using: str = "default") -> TableStats:
    """Measure one model's table now."""
    connection = connections[using]
    table = model._meta.db_table
    require_table(connection, table)
    constraint = natural_key_constraint(model)
    present, valid = constraint_state(connection, table, constraint.name)
    if present and valid:
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            rows = distinct = int(cur.fetchone()[0])
        method = "constraint"
    else:
        spec = TableSpec.for_model(model, constraint, constraint.derived)
        rows, distinct = count_rows_and_keys(connection, spec)
        method = "scan"
    return TableStats(
        table=table,
        constraint=constraint.name,
        rows=rows,
        distinct_keys=distinct,
        constraint_present=present,
        constraint_valid=valid,
        table_bytes=table_bytes(connection, table),
        measured_at=timezone.now(),
        method=method,
    )


def existing_only(connection: BaseDatabaseWrapper, candidates: list) -> list:
    """The models whose tables exist; tables added by later migrations may not exist yet on a
    legacy database. If none exists, the database has not been migrated at all: say so."""
    with connection.cursor() as cur:
        tables = set(connection.introspection.table_names(cur))
    found = [m for m in candidates if m._meta.db_table in tables]
    if candidates and not found:
        require_table(connection, candidates[0]._meta.db_table)
    return found


def report_models(include_parents: bool = False) -> list[type[models.Model]]:
    """The models a duplicate report covers: child tables, and parents on request."""
    found = models_with_natural_keys()
    if include_parents:
        return found
    return [m for m in found if is_child_model(m)]
