"""Writing a dataset: COPY and INSERT ... SELECT on PostgreSQL, row by row elsewhere."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from legacy_fixture.dataset import Dataset, Row
from legacy_fixture.plan import LAST_RUN_AT
from legacy_fixture.slots import ChildPlan
from legacy_fixture.tables import (
    ALL_TABLES,
    DIVERGENT_COLUMNS,
    LEGACY_COLUMNS,
    PARENT_COLUMN,
    PARENT_TABLES,
    STAGING_TYPES,
    ordered,
)


class Writer:
    """Writes every table of a dataset on one connection, inside the caller's transaction."""

    def __init__(self, connection: BaseDatabaseWrapper, data: Dataset) -> None:
        self.connection = connection
        self.data = data
        self.quote = connection.ops.quote_name

    def write(self, replace: bool) -> None:
        raise NotImplementedError


def writer_for(connection: BaseDatabaseWrapper, data: Dataset) -> Writer:
    """The fast writer on PostgreSQL, the portable one elsewhere (SQLite: the demo)."""
    if connection.vendor == "postgresql":
        return PostgresWriter(connection, data)
    return SimpleWriter(connection, data)


class SimpleWriter(Writer):
    """Row by row through executemany: for SQLite and the small demo scales."""

    BATCH = 5000

    def write(self, replace: bool) -> None:
        with self.connection.cursor() as cursor:
            if replace:
                for table in ALL_TABLES:
                    cursor.execute(f"DELETE FROM {self.quote(table)}")
            for table in PARENT_TABLES:
                self._insert(cursor, table, self.data.parents[table])
            for table, child in self.data.children.items():
                self._insert(cursor, table, child.rows())
            self._insert(cursor, "task_comments", self.data.comments)

    def _insert_sql(self, table: str) -> str:
        columns = LEGACY_COLUMNS[table]
        names = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        return f"INSERT INTO {self.quote(table)} ({names}) VALUES ({marks})"

    def _insert(self, cursor: Any, table: str, rows: Iterable[Row]) -> None:
        sql = self._insert_sql(table)
        batch = []
        for row in rows:
            batch.append(tuple(self._adapt(v) for v in ordered(table, row)))
            if len(batch) >= self.BATCH:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)

    def _adapt(self, value: Any) -> Any:
        ops = self.connection.ops
        if isinstance(value, datetime):
            return ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return ops.adapt_datefield_value(value)
        if isinstance(value, dtime):
            return ops.adapt_timefield_value(value)
        if isinstance(value, Decimal):
            return str(value)
        return value


class PostgresWriter(Writer):
    """Parents by COPY; each child table by one INSERT ... SELECT over its runs and slots."""

    def write(self, replace: bool) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")
            cursor.execute("SET LOCAL work_mem TO '64MB'")
            # Deferred checks left pending would forbid the ALTER TABLEs below.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            if replace:
                names = ", ".join(self.quote(t) for t in ALL_TABLES)
                cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            for table in PARENT_TABLES:
                self._copy_rows(cursor, table, self.data.parents[table])
            cursor.execute("SET LOCAL maintenance_work_mem TO '256MB'")
            for child in self.data.children.values():
                # Checking each row's foreign keys (deferred: at commit) and growing the parent
                # index row by row costs far more than the insert: set them aside and rebuild.
                kept = self._drop_secondary(cursor, child.table)
                self._insert_child(cursor, child)
                for statement in kept:
                    cursor.execute(statement)
            self._copy_rows(cursor, "task_comments", self.data.comments)
            self._move_sequences(cursor)

    def _move_sequences(self, cursor: Any) -> None:
        """Ids were written explicitly: the sequences go past them for later inserts."""
        for table in ALL_TABLES:
            if table != "regions":  # keyed by region_code, no sequence
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {self.quote(table)}",
                    [table],
                )

    def _drop_secondary(self, cursor: Any, table: str) -> list[str]:
        """Drop the table's foreign keys and plain indexes; returns how to restore them."""
        quoted = self.quote(table)
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [quoted],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique "
            "ORDER BY c.relname",
            [quoted],
        )
        indexes = cursor.fetchall()
        restore = []
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {self.quote(name)}")
            restore.append(f"ALTER TABLE {quoted} ADD CONSTRAINT {self.quote(name)} {definition}")
        for name, definition in indexes:
            cursor.execute(f"DROP INDEX {self.quote(name)}")
            restore.insert(0, definition)
        return restore

    def _copy_rows(self, cursor: Any, table: str, rows: Iterable[Row]) -> None:
        """COPY a table's rows (dicts), in the columns' order of LEGACY_COLUMNS."""
        values = (ordered(table, row) for row in rows)
        self._copy(cursor, table, LEGACY_COLUMNS[table], values)

    def _copy(self, cursor: Any, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        names = ", ".join(self.quote(c) for c in columns)
        with cursor.cursor.copy(f"COPY {self.quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _stage(self, cursor: Any, child: ChildPlan, staging: str) -> None:
        """A temporary table of the child's slots: one row a slot, its old and new values."""
        values = child.value_columns
        divergent = DIVERGENT_COLUMNS[child.table]
        typed = [f"{self.quote(c)} {STAGING_TYPES.get(c, 'text')}" for c in values]
        typed += [f"new_{c} {STAGING_TYPES.get(c, 'text')}" for c in divergent]
        cursor.execute(
            f"CREATE TEMP TABLE {staging} (g integer PRIMARY KEY, width integer, "
            "wprefix bigint, parent_pk bigint, region_code text, div_run integer, "
            "null_run integer, inverted boolean, jitter integer, " + ", ".join(typed) + ") "
            "ON COMMIT DROP"
        )
        rows = []
        prefix = 0  # rows of the slots before this one in a run: the id's offset in the run
        for g, s in enumerate(child.slots, start=1):
            new = s.new_values or s.values
            rows.append((
                g, s.width, prefix, s.parent_pk, s.region_code, s.div_run or 2**31 - 1,
                s.null_run, s.inverted, s.jitter, *(s.values[c] for c in values),
                *(new[c] for c in divergent),
            ))  # fmt: skip
            prefix += s.width
        columns = ["g", "width", "wprefix", "parent_pk", "region_code", "div_run", "null_run",
                   "inverted", "jitter", *values, *(f"new_{c}" for c in divergent)]  # fmt: skip
        self._copy(cursor, staging, columns, rows)
        cursor.execute(f"ANALYZE {staging}")

    def _select_expressions(self, child: ChildPlan, k: str) -> dict[str, str]:
        """Per column of the child table, the expression over a run `ru`, a slot `s` and its
        k-th row that gives its value."""
        divergent = DIVERGENT_COLUMNS[child.table]
        exprs = {
            "id": f"ru.off + s.wprefix + {k}",
            PARENT_COLUMN[child.table]: "s.parent_pk",
            "region_code": "s.region_code",
        }
        for c in child.value_columns:
            value = f"s.{self.quote(c)}"
            if c in divergent:  # the new value from the group's divergent run on
                value = f"CASE WHEN ru.r >= s.div_run THEN s.new_{c} ELSE {value} END"
            exprs[c] = value
        # The run's hour, the slot's jitter; NULL for the first row of the slot's null run; the
        # last run 90 minutes early for an inverted slot.
        exprs["last_sync_time"] = (
            f"CASE WHEN ru.r = s.null_run AND {k} = 1 THEN NULL ELSE "
            "%(last)s::timestamptz + make_interval(hours => ru.r - %(runs)s, secs => s.jitter) "
            "- CASE WHEN s.inverted AND ru.r = %(runs)s THEN interval '90 minutes' "
            "ELSE interval '0' END END"
        )
        return exprs

    def _insert_child(self, cursor: Any, child: ChildPlan) -> None:
        table = child.table
        staging = f"_legacy_gen_{table}"
        self._stage(cursor, child, staging)
        wide = any(s.width > 1 for s in child.slots)
        exprs = self._select_expressions(child, "k.k" if wide else "1")
        target = LEGACY_COLUMNS[table]
        runs = child.run_table()
        # Run r writes the slots present in it (a prefix of them), each `width` rows.
        cursor.execute(
            f"INSERT INTO {self.quote(table)} ({', '.join(self.quote(c) for c in target)}) "
            f"SELECT {', '.join(exprs[c] for c in target)} "
            "FROM unnest(%(run)s::integer[], %(present)s::integer[], %(off)s::bigint[]) "
            "AS ru(r, present, off) "
            f"JOIN {staging} s ON s.g <= ru.present "
            + ("CROSS JOIN LATERAL generate_series(1, s.width) AS k(k) " if wide else ""),
            {
                "run": [r[0] for r in runs],
                "present": [r[1] for r in runs],
                "off": [r[2] for r in runs],
                "last": LAST_RUN_AT,
                "runs": child.runs,
            },
        )
        if cursor.rowcount != child.total:
            raise RuntimeError(f"{table}: wrote {cursor.rowcount} rows, planned {child.total}")
        cursor.execute(f"DROP TABLE {staging}")
