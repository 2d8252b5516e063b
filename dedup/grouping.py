"""Grouping a table's rows by natural key, shared by the remediation and the duplicate scan.

A natural key may include a derived column (breezeway.natural_keys) that legacy rows do not
fill yet: rows are grouped by what they say, the Python rule is applied once per group, and
the result is joined back, so SQL and the sync's loader can never disagree about a key.
"""

import json
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

from dedup.spec import TableSpec

logger = logging.getLogger(__name__)

# Per-type hash functions taking a seed: each column is hashed on its own and the hashes are
# XOR-ed (a different seed per column): about twice as fast as building a ROW() for
# hash_record_extended, and the same fingerprint can be computed from any alias (a table row,
# an archived row turned back into a record).
#
# Texts are hashed as bytes (COLLATE "C"): under a nondeterministic collation two spellings
# that compare equal would hash alike, and a copy differing only in case would pass for
# identical. It is also faster: no locale lookup per value.
_HASHERS = {
    "text": 'hashtextextended({col} COLLATE "C", {seed})',
    "varchar": 'hashtextextended({col} COLLATE "C", {seed})',
    "bpchar": 'hashbpcharextended({col} COLLATE "C", {seed})',
    "jsonb": "jsonb_hash_extended({col}, {seed})",
    "int8": "hashint8extended({col}, {seed})",
    "int4": "hashint4extended({col}, {seed})",
    "int2": "hashint2extended({col}, {seed})",
    "bool": "hashint4extended({col}::int, {seed})",
    "numeric": "hash_numeric_extended({col}, {seed})",
    "float8": "hashfloat8extended({col}, {seed})",
    "timestamptz": "timestamp_hash_extended({col} AT TIME ZONE 'UTC', {seed})",
    "timestamp": "timestamp_hash_extended({col}, {seed})",
    "date": "hashint4extended({col} - DATE '2000-01-01', {seed})",
    "time": "time_hash_extended({col}, {seed})",
    "uuid": "uuid_hash_extended({col}, {seed})",
}
_FALLBACK_HASHER = 'hashtextextended({col}::text COLLATE "C", {seed})'


# The copy of a combo that is probed: its highest id among copies with a sync time, else its
# highest id (c: a row of the temporary table `combos`).
PROBE_ID = "coalesce(c.max_timed_id, c.max_id)"

# Tables of more rows than this have their combos estimated from a page sample of about
# SAMPLE_ROWS rows before the pass, to size its hash table (see pass_work_mem_kb).
SAMPLE_ABOVE_ROWS = 500_000
SAMPLE_ROWS = 25_000
# Memory a combo takes in the pass's hash table (entry, key tuple, four aggregate states), and
# the margin over the sample's estimate of combos.
BYTES_PER_COMBO = 160
COMBO_MARGIN = 4

# Combos at most this share of the rows (or 10,000): look rows up one by one by id.
FEW_COMBOS_SHARE = 0.02


class PostgresGrouping:
    """Set-based grouping on PostgreSQL, into temporary tables named after the table.

    One pass over the table groups its rows by the fixed key columns and a 64-bit fingerprint
    of everything else they say (each column hashed on its own, long texts and JSON hashed,
    never compared). Each resulting "combo" is one distinct (key, content) with its number
    of copies, its highest id (overall and among copies with a sync time) and its latest sync
    time: four cheap aggregates per row. The old
    loader's copies are nearly all identical, so there are about as many combos as natural
    keys, and the derived keys are then computed once per combo, in Python.
    """

    def __init__(self, connection: BaseDatabaseWrapper, spec: TableSpec, keys_only: bool = False):
        self.connection = connection
        self.spec = spec
        # keys_only: fingerprint only the derived key's sources (counting keys, not contents).
        self.keys_only = keys_only
        q = connection.ops.quote_name
        self.q = q
        self.t = q(spec.table)
        self.pk = q(spec.pk_column)
        self.ts = q(spec.sync_time_column) if spec.sync_time_column else None
        # Temporary tables are per table so several operations can share one transaction.
        self.tmp = f"_dedup_{spec.table}"[:50]
        self._types: dict[str, str] | None = None
        self.few_combos = True
        self.probed = False
        # Derived key by raw source values (the rule is pure): see derived_key_of.
        self.key_cache: dict[tuple, str] = {}

    def name(self, suffix: str) -> str:
        return self.q(f"{self.tmp}_{suffix}")

    def execute(self, cursor: Any, sql: str, params: Sequence[Any] = ()) -> None:
        cursor.execute(sql, params)

    def scalar(self, cursor: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]

    # -- SQL fragments ------------------------------------------------------------------------
    def column_types(self, cur: Any) -> dict[str, str]:
        """Column -> type name, as the database has them (a scan may run before migrations
        that add columns to the model)."""
        if self._types is None:
            cur.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a "
                "JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                [self.spec.table],
            )
            self._types = dict(cur.fetchall())
        return self._types

    def column_hash(self, alias: str, column: str) -> str:
        """One column's seeded hash; NULL gets a value of its own (-seed)."""
        assert self._types is not None, "column_types() first"
        seed = self.spec.columns.index(column) + 1
        template = _HASHERS.get(self._types[column], _FALLBACK_HASHER)
        hashed = template.format(col=f"{alias}.{self.q(column)}", seed=seed)
        return f"coalesce({hashed}, {-seed})"

    @property
    def fingerprint_columns(self) -> list[str]:
        """What a copy says: every content column the table has, except the fixed key
        columns, which are the same for every copy compared (only copies of one key are).
        With keys_only, just the derived key's sources: a combo is then a distinct key."""
        assert self._types is not None, "column_types() first"
        fixed = set(self.spec.fixed_key_columns)
        if self.keys_only:
            wanted = self.spec.derived.sources if self.spec.derived else ()
        else:
            wanted = self.spec.content_columns
        return [c for c in wanted if c not in fixed and c in self._types]

    def fingerprint(self, alias: str) -> str:
        """The content fingerprint of one row (64 bits): XOR of seeded per-column hashes."""
        columns = self.fingerprint_columns
        if not columns:
            return "0::bigint"
        return "(" + " # ".join(self.column_hash(alias, c) for c in columns) + ")"

    def row_by_id(self, id_expr: str, alias: str = "t", left: bool = False) -> str:
        """A join to the big table's row of a given id. With few combos (the table is mostly
        duplicates) by primary-key index, one lookup each: the planner would rather hash-join
        a few thousand ids against a seq scan of millions. With many, a plain join, which
        the planner turns into one pass over the table."""
        join = "LEFT JOIN" if left else "JOIN"
        if self.few_combos:
            return (
                f"{join} LATERAL (SELECT * FROM {self.t} WHERE {self.pk} = {id_expr} "
                f"OFFSET 0) {alias} ON true"
            )
        return f"{join} {self.t} {alias} ON {alias}.{self.pk} = {id_expr}"

    # -- the pass ------------------------------------------------------------------------------
    def rows_by_combo(self, sample: str = "") -> str:
        """SELECT of the rows grouped by fixed key and fingerprint, four aggregates each."""
        fixed = [self.q(c) for c in self.spec.fixed_key_columns]
        ts = f"t.{self.ts}" if self.ts else "NULL::timestamptz"
        return (
            f"SELECT {''.join(f'{c}, ' for c in fixed)}h, count(*) AS copies, "
            f"max(row_id) AS max_id, max(row_ts) AS max_ts, "
            f"max(row_id) FILTER (WHERE row_ts IS NOT NULL) AS max_timed_id FROM (SELECT "
            f"{''.join(f't.{c}, ' for c in fixed)}{self.fingerprint('t')} AS h, "
            f"t.{self.pk} AS row_id, {ts} AS row_ts FROM {self.t} t {sample}) s "
            f"GROUP BY {''.join(f'{c}, ' for c in fixed)}h"
        )

    def estimate_combos(self, cur: Any) -> float | None:
        """How many combos a page sample of about SAMPLE_ROWS rows predicts (Haas and Stokes'
        Duj1 estimator, as ANALYZE uses); None for tables of SAMPLE_ABOVE_ROWS rows or fewer
        (by the planner's count) and for an empty sample."""
        total = self.scalar(
            cur, "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [self.t]
        )
        if total is None or total <= SAMPLE_ABOVE_ROWS:
            return None
        percent = min(100.0, 100.0 * SAMPLE_ROWS / total)
        cur.execute(
            f"SELECT count(*), count(*) FILTER (WHERE copies = 1), coalesce(sum(copies), 0) "
            f"FROM ({self.rows_by_combo(f'TABLESAMPLE SYSTEM ({percent:.6f}) REPEATABLE (0)')})"
            f" sampled"
        )
        distinct, singletons, sampled = cur.fetchone()
        if not sampled:
            return None
        sampled = int(sampled)
        total = max(total, sampled)
        estimate = sampled * distinct / (sampled - singletons + singletons * sampled / total)
        logger.debug(
            "%s: %d sampled rows, %d combos, %d seen once: about %.0f combos in all",
            self.spec.table,
            sampled,
            distinct,
            singletons,
            estimate,
        )
        return estimate

    def pass_work_mem_kb(self, cur: Any) -> int | None:
        """work_mem for the pass, when a page sample of a big table predicts few combos.

        PostgreSQL sizes a hash aggregate's table for the groups it expects, and it cannot
        estimate how many distinct fingerprints there are, so it expects a tenth of the rows:
        half a million buckets for 5,000 combos, and a cache miss on every row (15 to 20 %
        of the pass). A smaller work_mem caps the initial table; the sample's estimate and a
        margin keep it from spilling to disk. None: keep DEDUP_WORK_MEM (small tables, or
        combos too many to matter)."""
        estimate = self.estimate_combos(cur)
        if estimate is None:
            return None
        kb = int(estimate * COMBO_MARGIN * BYTES_PER_COMBO / 1024)
        return max(1024, kb) if kb < settings.DEDUP_WORK_MEM_KB else None

    def set_work_mem(self, cur: Any, kb: int | None = None) -> None:
        """work_mem for the rest of the transaction: `kb`, or DEDUP_WORK_MEM when None."""
        self.execute(cur, f"SET LOCAL work_mem = '{kb or settings.DEDUP_WORK_MEM_KB}kB'")

    def group_rows(self, cur: Any) -> None:
        """The one pass over the big table, into the temporary table `combos` (work_mem is
        DEDUP_WORK_MEM before and after it: see set_work_mem)."""
        self.column_types(cur)
        work_mem_kb = self.pass_work_mem_kb(cur)
        if work_mem_kb:
            self.set_work_mem(cur, work_mem_kb)
        self.execute(
            cur,
            f"CREATE TEMP TABLE {self.name('combos')} AS "
            f"SELECT row_number() OVER () AS cid, agg.* FROM ({self.rows_by_combo()}) agg",
        )
        if work_mem_kb:
            self.set_work_mem(cur)
        cur.execute(f"SELECT count(*), coalesce(sum(copies), 0) FROM {self.name('combos')}")
        combos, rows = cur.fetchone()
        self.few_combos = combos <= max(10_000, int(rows) * FEW_COMBOS_SHARE)

    def probe(self, cur: Any, columns: Sequence[str] | None = None) -> None:
        """Set one copy of every combo aside, into the temporary table `probe`: the copy at
        PROBE_ID, one lookup per combo. All copies of a combo say the same, so its derived key
        comes from this copy, and it is nearly always the combo's latest copy too.
        `columns`: the table's columns to keep (the primary key always); None keeps them all."""
        if columns is None:
            kept = "t.*"
        else:
            wanted = dict.fromkeys([self.spec.pk_column, *columns])
            kept = ", ".join(f"t.{self.q(c)}" for c in wanted)
        self.execute(
            cur,
            f"CREATE TEMP TABLE {self.name('probe')} AS SELECT {kept} "
            f"FROM {self.name('combos')} c {self.row_by_id(PROBE_ID)}",
        )
        self.probed = True

    def probe_join(self, alias: str = "p") -> str:
        """A join from the combos (alias c) to their probed copy."""
        return f"JOIN {self.name('probe')} {alias} ON {alias}.{self.pk} = {PROBE_ID}"

    def derived_key_of(self, values: Sequence[Any]) -> str:
        """The derived key of one tuple of raw source values, by the rule, once per tuple."""
        values = tuple(values)
        if values not in self.key_cache:
            self.key_cache[values] = self.spec.derive_key(values)
        return self.key_cache[values]

    def derive_keys(self, cur: Any) -> None:
        """The derived key of every combo, computed by the Python rule from the sources of its
        probed copy, into the temporary table `map`."""
        if self.spec.derived is None:
            return
        if not self.probed:
            self.probe(cur, self.spec.derived.sources)
        sources = ", ".join(f"p.{self.q(c)}" for c in self.spec.derived.sources)
        cur.execute(f"SELECT c.cid, {sources} FROM {self.name('combos')} c {self.probe_join()}")
        keyed = []
        while rows := cur.fetchmany(10_000):
            keyed.extend((cid, self.derived_key_of(values)) for cid, *values in rows)
        self.execute(
            cur, f"CREATE TEMP TABLE {self.name('map')} (cid bigint PRIMARY KEY, key text)"
        )
        with cur.cursor.copy(f"COPY {self.name('map')} (cid, key) FROM STDIN") as copy:
            for row in keyed:
                copy.write_row(row)

    def keyed_combos(self) -> str:
        """FROM clause of the combos (alias c) with their natural key's `key` column (m.key)."""
        if self.spec.derived is None:
            return f"{self.name('combos')} c CROSS JOIN (SELECT ''::text AS key) m"
        return f"{self.name('combos')} c JOIN {self.name('map')} m USING (cid)"

    def drop_temporary_tables(self, cur: Any, *suffixes: str) -> None:
        for suffix in ("combos", "probe", "map", *suffixes):
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
