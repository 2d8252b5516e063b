"""Grouping a table's rows by natural key, shared by the remediation and the duplicate scan.

A natural key may include a derived column (breezeway.natural_keys) that legacy rows do not
fill yet: rows are grouped by the raw source columns, the Python rule is applied to each
distinct tuple of source values, and the result is joined back, so SQL and the sync's loader
can never disagree about a key.
"""

import json
from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from dedup.spec import RemediationError, TableSpec


class PostgresGrouping:
    """Set-based grouping on PostgreSQL, into temporary tables named after the table."""

    def __init__(self, connection: BaseDatabaseWrapper, spec: TableSpec):
        self.connection = connection
        self.spec = spec
        q = connection.ops.quote_name
        self.q = q
        self.t = q(spec.table)
        self.pk = q(spec.pk_column)
        self.ts = q(spec.sync_time_column) if spec.sync_time_column else None
        # Temporary tables are per table so several operations can share one transaction.
        self.tmp = f"_dedup_{spec.table}"[:50]

    # -- SQL fragments ------------------------------------------------------------------------
    def content_hash(self, alias: str) -> str:
        cols = ", ".join(f"{alias}.{self.q(c)}" for c in self.spec.content_columns)
        return f"hash_record_extended(ROW({cols}), 0)"

    def source_exprs(self, alias: str) -> list[str]:
        """Raw-group columns for the derived key: the id-like source, then each fallback
        source only where the id-like one is blank (see DerivedKey's contract). A first
        character in printable ASCII proves non-blank; anything else keeps the fallbacks, so
        grouping is never coarser than the rule."""
        derived = self.spec.derived
        if derived is None:
            return []
        primary = f"{alias}.{self.q(derived.sources[0])}"
        exprs = [primary]
        for source in derived.sources[1:]:
            exprs.append(
                f"CASE WHEN ascii({primary}::text) BETWEEN 33 AND 126 THEN NULL "
                f"ELSE {alias}.{self.q(source)} END"
            )
        return exprs

    def name(self, suffix: str) -> str:
        return self.q(f"{self.tmp}_{suffix}")

    def execute(self, cursor: Any, sql: str, params: Sequence[Any] = ()) -> None:
        cursor.execute(sql, params)

    def scalar(self, cursor: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]

    def group_rows(self, cur: Any, fingerprint: bool = True) -> None:
        """The one pass over the big table: per raw group, copies, max id, max sync time and
        the range of content fingerprints (equal ends: every copy identical)."""
        fixed = [self.q(c) for c in self.spec.fixed_key_columns]
        sources = self.source_exprs("t")
        inner = [
            *(f"t.{c}" for c in fixed),
            *(f"{e} AS s{i}" for i, e in enumerate(sources)),
            f"t.{self.pk} AS row_id",
            f"t.{self.ts} AS row_ts" if self.ts else "NULL::timestamptz AS row_ts",
            f"{self.content_hash('t')} AS h" if fingerprint else "NULL::bigint AS h",
        ]
        group_by = [*fixed, *(f"s{i}" for i in range(len(sources)))]
        self.execute(
            cur,
            f"CREATE TEMP TABLE {self.name('groups')} AS "
            f"SELECT row_number() OVER () AS gid, agg.* FROM ("
            f"SELECT {', '.join(group_by)}, count(*) AS copies, max(row_id) AS max_id, "
            f"max(row_ts) AS max_ts, min(h) AS hmin, max(h) AS hmax "
            f"FROM (SELECT {', '.join(inner)} FROM {self.t} t) s "
            f"GROUP BY {', '.join(group_by)}) agg",
        )
        self.execute(cur, f"ANALYZE {self.name('groups')}")

    def source_hash(self, alias: str) -> str:
        n = len(self.spec.derived.sources) if self.spec.derived else 0
        cols = ", ".join(f"{alias}.s{i}" for i in range(n))
        return f"hash_record_extended(ROW({cols}), 0)"

    def derive_keys(self, cur: Any) -> None:
        """Apply the Python rule to each distinct tuple of raw source values, join it back."""
        groups = self.name("groups")
        if self.spec.derived is None:
            self.execute(
                cur,
                f"CREATE TEMP TABLE {self.name('raw')} AS "
                f"SELECT g.*, ''::text AS key FROM {groups} g",
            )
            return
        n = len(self.spec.derived.sources)
        cols = ", ".join(f"g.s{i}" for i in range(n))
        cur.execute(f"SELECT DISTINCT {self.source_hash('g')}, {cols} FROM {groups} g")
        keys: dict[int, tuple[tuple, str]] = {}
        for row in cur.fetchall():
            sh, values = row[0], tuple(row[1:])
            if sh in keys and keys[sh][0] != values:
                raise RemediationError(
                    f"{self.spec.table}: two different key sources share a 64-bit hash; "
                    "cannot derive keys safely"
                )
            keys[sh] = (values, self.spec.derive_key(values))
        self.execute(cur, f"CREATE TEMP TABLE {self.name('map')} (sh bigint PRIMARY KEY, key text)")
        with cur.cursor.copy(f"COPY {self.name('map')} (sh, key) FROM STDIN") as copy:
            for sh, (_, key) in keys.items():
                copy.write_row((sh, key))
        self.execute(cur, f"ANALYZE {self.name('map')}")
        self.execute(
            cur,
            f"CREATE TEMP TABLE {self.name('raw')} AS SELECT g.*, m.key FROM {groups} g "
            f"JOIN {self.name('map')} m ON m.sh = {self.source_hash('g')}",
        )

    def raw_group_match(self, table_alias: str, group_alias: str) -> str:
        """Join condition: a row of the big table belongs to a raw group."""
        conds = [
            f"{table_alias}.{self.q(c)} = {group_alias}.{self.q(c)}"
            for c in self.spec.fixed_key_columns
        ]
        for i, expr in enumerate(self.source_exprs(table_alias)):
            conds.append(f"{expr} IS NOT DISTINCT FROM {group_alias}.s{i}")
        return " AND ".join(conds)

    def drop_temporary_tables(self, cur: Any, *suffixes: str) -> None:
        for suffix in ("groups", "map", "raw", *suffixes):
            self.execute(cur, f"DROP TABLE IF EXISTS {self.name(suffix)}")


class SimpleGrouping:
    """Grouping in Python over every row (SQLite: the demo's small databases)."""

    def __init__(self, connection: BaseDatabaseWrapper, spec: TableSpec):
        self.connection = connection
        self.spec = spec
        self.q = connection.ops.quote_name

    def key_source_columns(self) -> list[str]:
        """The columns a key needs (columns added by later migrations may not exist yet)."""
        spec = self.spec
        sources = spec.derived.sources if spec.derived else ()
        wanted = {spec.pk_column, *spec.fixed_key_columns, *sources}
        return [c for c in spec.columns if c in wanted]

    def read_rows(self, cur: Any, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        cols = list(columns or self.spec.columns)
        cur.execute(f"SELECT {', '.join(self.q(c) for c in cols)} FROM {self.q(self.spec.table)}")
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def content(self, row: dict[str, Any]) -> tuple:
        """The compared columns; JSON in canonical form, so formatting alone never differs
        (as with PostgreSQL's jsonb)."""
        return tuple(
            json.dumps(json.loads(row[c]), sort_keys=True)
            if c in self.spec.json_columns and isinstance(row[c], str)
            else row[c]
            for c in self.spec.content_columns
        )

    def key_of(self, row: dict[str, Any], cache: dict) -> tuple:
        fixed = tuple(row[c] for c in self.spec.fixed_key_columns)
        if self.spec.derived is None:
            return (*fixed, "")
        sources = tuple(row[c] for c in self.spec.derived.sources)
        if sources not in cache:
            cache[sources] = self.spec.derive_key(sources)
        return (*fixed, cache[sources])

    def group(self, rows: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
        groups: dict[tuple, list[dict[str, Any]]] = {}
        cache: dict = {}
        for row in rows:
            groups.setdefault(self.key_of(row, cache), []).append(row)
        return groups

    def recency(self, row: dict[str, Any]) -> tuple:
        ts = row.get(self.spec.sync_time_column) if self.spec.sync_time_column else None
        return (ts is not None, str(ts) if ts is not None else "", row[self.spec.pk_column])
