"""The remediation engine: remove duplicate rows by natural key, keep the most recent copy,
archive the copies that differ from it, and prove nothing else was lost.

The survivor of a natural key is the copy with the latest `last_sync_time` (NULL counts as
oldest), then the highest `id`. A removed copy is either identical to the survivor in every
column but the id, the sync time and the derived key column, or one copy per distinct content
is archived in `dedup_archived_rows` first.

PostgreSQL gets the fast path: one hash-aggregate pass per table fingerprints every row and
groups the rows by (key, fingerprint) (dedup.grouping); each key's survivor is chosen from
those groups; the survivors are set aside, the table is truncated and they are re-inserted
(when duplicates are the large majority), or the losers are deleted in place (when they are
few). Before returning, the result is verified against the
fingerprints taken before any change; a mismatch raises RemediationError, and since the
caller runs inside the migration's transaction, everything rolls back. SQLite (the demo) gets
a simple path in Python with the same rules and the same verification.
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

from breezeway.locks import REMEDIATION_LOCK
from dedup.grouping import PROBE_ID, PostgresGrouping, SimpleGrouping
from dedup.models import ArchivedRow
from dedup.spec import RemediationError, TableSpec

logger = logging.getLogger(__name__)

ARCHIVE_TABLE = ArchivedRow._meta.db_table
# Up to this many combos whose latest copy is not their highest id are looked up one by one.
ODD_COMBOS_LOOKED_UP_ONE_BY_ONE = 200
# Duplicates at or above this share of the rows: truncate and re-insert the survivors; below
# it, delete the losers in place. Measured with `bench/remediation.py --crossover 200000`:
# with a stored key, deleting wins up to about 3/4 duplicates; when a derived key column must
# be filled, deleting rewrites every survivor anyway and truncating wins from about 10 %.
TRUNCATE_THRESHOLD = 0.75
TRUNCATE_THRESHOLD_DERIVED_KEY = 0.1


@dataclass
class TableResult:
    """What one table's remediation did, for logs, reports and tests."""

    table: str
    strategy: str
    rows_before: int
    distinct_keys: int
    rows_after: int
    archived: int
    divergent_groups: int
    seconds: float

    @property
    def removed(self) -> int:
        return self.rows_before - self.rows_after


def remediate_table(
    connection: BaseDatabaseWrapper,
    spec: TableSpec,
    *,
    strategy: str = "auto",
    run_id: uuid.UUID | None = None,
) -> TableResult:
    """Remove the duplicates of one table in the caller's transaction; returns what it did.

    strategy: "auto", "truncate" or "delete" (PostgreSQL; SQLite always deletes in place).
    The result's strategy is "none" when there was nothing to remove and no key to fill.
    """
    if strategy not in ("auto", "truncate", "delete"):
        raise RemediationError(f"unknown strategy {strategy!r}: use auto, truncate or delete")
    if not connection.in_atomic_block:
        raise RemediationError("remediate_table must run inside a transaction (atomic block)")
    run_id = run_id or uuid.uuid4()
    started = time.monotonic()
    if connection.vendor == "postgresql":
        result = _PostgresRemediation(connection, spec, run_id).run(strategy)
    elif connection.vendor == "sqlite":
        result = _SimpleRemediation(connection, spec, run_id).run()
    else:
        raise RemediationError(
            f"remediation supports PostgreSQL and SQLite, not {connection.vendor}"
        )
    result.seconds = time.monotonic() - started
    logger.info(
        "%s: %d rows before, %d after (%d distinct keys), %d removed, %d archived "
        "from %d divergent groups, strategy %s, %.2f s",
        result.table,
        result.rows_before,
        result.rows_after,
        result.distinct_keys,
        result.removed,
        result.archived,
        result.divergent_groups,
        result.strategy,
        result.seconds,
        extra={"remediation": result},
    )
    return result


def verification_failure(spec: TableSpec, **figures: int) -> RemediationError:
    """The error raised when the result does not match the fingerprints taken before."""
    detail = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in figures.items())
    return RemediationError(
        f"remediation of {spec.table} failed verification ({detail}); "
        "the transaction is rolled back and no table was changed"
    )


class _PostgresRemediation(PostgresGrouping):
    """The set-based path: a handful of statements, one pass over the big table."""

    def __init__(self, connection: BaseDatabaseWrapper, spec: TableSpec, run_id: uuid.UUID):
        super().__init__(connection, spec)
        self.run_id = run_id

    def step(self, label: str) -> None:
        """Log how long the previous step took (DEBUG), to see where the time goes."""
        now = time.monotonic()
        if logger.isEnabledFor(logging.DEBUG) and hasattr(self, "_step_started"):
            logger.debug(
                "%s: %s %.3f s", self.spec.table, self._step_label, now - self._step_started
            )
        self._step_label, self._step_started = label, now

    def run(self, strategy: str) -> TableResult:
        spec = self.spec
        with self.connection.cursor() as cur:
            self.step("lock")
            self.lock(cur)
            self.set_work_mem(cur)
            # Compiling the expressions costs more than it saves on these statements.
            self.execute(cur, "SET LOCAL jit = off")
            self.check_fixed_keys_not_null(cur)
            self.step("group")
            self.group_rows(cur)
            self.step("probe")
            self.probe(cur, self.probed_columns())
            self.step("derive keys")
            self.derive_keys(cur)
            self.step("survivors")
            self.choose_survivors(cur)
            rows_before, distinct, divergent = self.figures(cur)
            self.step("archive")
            archived = self.archive_divergent_rows(cur)
            chosen = self.choose_strategy(cur, strategy, rows_before, distinct)
            self.step(chosen)
            if chosen == "truncate":
                self.truncate_and_reinsert(cur)
            elif chosen == "delete":
                self.delete_losers(cur)
            self.step("verify")
            rows_after = self.verify(cur, distinct)
            self.step("analyze")
            self.drop_temporary_tables(cur, "keyed", "final", "keep")
            if chosen == "delete":
                # The planner's statistics still describe the table before the purge; after a
                # truncate the table is small and new, and autovacuum will analyze it soon.
                self.execute(cur, f"ANALYZE {self.t}")
            self.step("done")
        return TableResult(
            table=spec.table,
            strategy=chosen,
            rows_before=rows_before,
            distinct_keys=distinct,
            rows_after=rows_after,
            archived=archived,
            divergent_groups=divergent,
            seconds=0.0,
        )

    def lock(self, cur: Any) -> None:
        """Block every sync (advisory lock) and every other session (table lock), failing
        after DEDUP_LOCK_TIMEOUT instead of queueing behind a long transaction."""
        timeout_ms = max(1, round(settings.DEDUP_LOCK_TIMEOUT * 1000))
        self.execute(cur, f"SET LOCAL lock_timeout = {timeout_ms}")
        try:
            self.execute(cur, "SELECT pg_advisory_xact_lock(%s)", [REMEDIATION_LOCK])
            self.execute(cur, f"LOCK TABLE {self.t} IN ACCESS EXCLUSIVE MODE")
        except DatabaseError as exc:
            raise RemediationError(
                f"could not lock {self.spec.table} within {settings.DEDUP_LOCK_TIMEOUT:g} s "
                "(a sync or another long transaction holds it); nothing was changed. "
                "Retry when it has finished, or raise DEDUP_LOCK_TIMEOUT."
            ) from exc

    def check_fixed_keys_not_null(self, cur: Any) -> None:
        for column in self.spec.fixed_key_columns:
            declared_not_null = self.scalar(
                cur,
                "SELECT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attname = %s",
                [self.spec.table, column],
            )
            if declared_not_null:
                continue
            nulls = self.scalar(
                cur,
                f"SELECT count(*) FROM (SELECT 1 FROM {self.t} WHERE {self.q(column)} IS NULL "
                "LIMIT 1) s",
            )
            if nulls:
                raise RemediationError(
                    f"{self.spec.table}.{column} is part of the natural key but holds NULLs; "
                    "give the key a derived, non-null column first."
                )

    def probed_columns(self) -> list[str] | None:
        """What the probe keeps. With few combos, whole rows: the probed copies are nearly all
        the survivors, so they are set aside once, and the truncate re-inserts them from there.
        With many (a table with few duplicates) only what choosing survivors needs, so no
        copy of the table is made when its losers are deleted in place."""
        if self.few_combos:
            return None
        sources = self.spec.derived.sources if self.spec.derived else ()
        return [c for c in (self.spec.sync_time_column, *sources) if c]

    def choose_survivors(self, cur: Any) -> None:
        """The latest copy of each combo, then per natural key the survivor: the latest of its
        combos' latest copies. A combo's latest copy is its probed copy (highest id with a sync
        time, without one if none has) unless a lower id has the later sync time (rare, but
        possible): those combos are looked up separately."""
        keyed = self.name("keyed")
        fixed = [self.q(c) for c in self.spec.fixed_key_columns]
        by_key = ", ".join([*(f"c.{c}" for c in fixed), "m.key"])
        if self.ts:
            latest = (
                f"CASE WHEN c.max_ts IS NULL THEN c.max_id WHEN p.{self.ts} = c.max_ts "
                f"THEN c.max_timed_id END"
            )
        else:
            latest = "c.max_id"
        self.execute(
            cur,
            f"CREATE TEMP TABLE {keyed} AS SELECT c.*, m.key, {latest} AS latest_id, "
            f"dense_rank() OVER (ORDER BY {by_key}) AS fid FROM {self.keyed_combos()} "
            f"{self.probe_join()}",
        )
        if self.ts and self.find_latest_out_of_order(cur, fixed) and self.few_combos:
            # The probe must hold every combo's latest copy: add those it missed.
            self.execute(
                cur,
                f"INSERT INTO {self.name('probe')} SELECT t.* FROM {keyed} c "
                f"{self.row_by_id('c.latest_id')} WHERE c.latest_id <> {PROBE_ID}",
            )
        # One sort instead of an ordered aggregate per key (a tuplesort each).
        self.execute(
            cur,
            f"CREATE TEMP TABLE {self.name('final')} AS SELECT DISTINCT ON (fid) fid, "
            f"{''.join(f'{c}, ' for c in fixed)}key, (sum(copies) OVER w)::bigint AS copies, "
            f"count(*) OVER w AS combos, latest_id AS keep_id, h AS keep_hash FROM {keyed} "
            f"WINDOW w AS (PARTITION BY fid) "
            f"ORDER BY fid, max_ts DESC NULLS LAST, latest_id DESC",
        )
        self.execute(cur, f"CREATE UNIQUE INDEX ON {self.name('final')} (keep_id)")

    def find_latest_out_of_order(self, cur: Any, fixed: list[str]) -> int:
        """Combos whose highest timed id is not their latest copy; returns how many. A few are
        looked up one by one through the parent's index; many (a table whose ids do not
        follow its sync times) in one hash join over the table, so the cost never grows with
        their number."""
        keyed, pk = self.name("keyed"), self.pk
        odd = self.scalar(cur, f"SELECT count(*) FROM {keyed} WHERE latest_id IS NULL")
        if not odd:
            return 0
        match = "".join(f"t.{c} = k.{c} AND " for c in fixed)
        match += f"t.{self.ts} = k.max_ts AND {self.fingerprint('t')} = k.h"
        if odd <= ODD_COMBOS_LOOKED_UP_ONE_BY_ONE:
            self.execute(
                cur,
                f"UPDATE {keyed} k SET latest_id = (SELECT max(t.{pk}) FROM {self.t} t "
                f"WHERE {match}) WHERE k.latest_id IS NULL",
            )
            return odd
        self.execute(
            cur,
            f"UPDATE {keyed} u SET latest_id = x.latest_id FROM (SELECT k.cid, "
            f"max(t.{pk}) AS latest_id FROM {keyed} k JOIN {self.t} t ON {match} "
            f"WHERE k.latest_id IS NULL GROUP BY k.cid) x WHERE x.cid = u.cid",
        )
        return odd

    def figures(self, cur: Any) -> tuple[int, int, int]:
        cur.execute(
            f"SELECT coalesce(sum(copies), 0), count(*), count(*) FILTER (WHERE combos > 1) "
            f"FROM {self.name('final')}"
        )
        rows_before, distinct, divergent = cur.fetchone()
        return int(rows_before), int(distinct), int(divergent)

    def natural_key_json(self, alias: str) -> str:
        parts = []
        for column in self.spec.key_columns:
            if self.spec.derived and column == self.spec.derived.column:
                parts.append(f"'{column}', {alias}.key")
            else:
                parts.append(f"'{column}', {alias}.{self.q(column)}")
        return f"jsonb_build_object({', '.join(parts)})"

    def losing_combos(self) -> str:
        """FROM/WHERE of the combos whose content differs from their key's survivor, as
        `keyed k` joined to `final f`."""
        return (
            f"FROM {self.name('keyed')} k JOIN {self.name('final')} f ON f.fid = k.fid "
            f"WHERE f.combos > 1 AND k.h <> f.keep_hash"
        )

    def archive_divergent_rows(self, cur: Any) -> int:
        """Archive the latest copy of every content that differs from the survivor. The
        losers are found first, so only their rows are looked up."""
        cur.execute(
            f"WITH c AS MATERIALIZED (SELECT {self.natural_key_json('f')} AS natural_key, "
            f"f.keep_id, k.copies, k.latest_id {self.losing_combos()}) "
            f"INSERT INTO {self.q(ARCHIVE_TABLE)} (run_id, table_name, natural_key, row_data, "
            f"kept_row_id, copies, archived_at) "
            f"SELECT %s, %s, c.natural_key, to_jsonb(t), c.keep_id, c.copies, now() "
            f"FROM c {self.row_by_id('c.latest_id')}",
            [self.run_id, self.spec.table],
        )
        return cur.rowcount

    def referenced_by_others(self, cur: Any) -> bool:
        return bool(
            self.scalar(
                cur,
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                "AND confrelid = %s::regclass AND conrelid <> confrelid",
                [self.spec.table],
            )
        )

    def choose_strategy(self, cur: Any, strategy: str, rows_before: int, distinct: int) -> str:
        if self.referenced_by_others(cur):
            if strategy == "truncate":
                raise RemediationError(
                    f"{self.spec.table} is referenced by foreign keys and cannot be truncated"
                )
            return "delete"
        duplicates = rows_before - distinct
        if not duplicates and self.spec.derived is None:
            return "none"  # nothing to remove, no key to fill
        if strategy != "auto":
            return strategy
        threshold = TRUNCATE_THRESHOLD_DERIVED_KEY if self.spec.derived else TRUNCATE_THRESHOLD
        if rows_before and duplicates / rows_before >= threshold:
            return "truncate"
        return "delete"

    def truncate_and_reinsert(self, cur: Any) -> None:
        """Set the survivors aside, TRUNCATE (keeps the id sequence, indexes and constraint
        names, and leaves no dead rows), re-insert them with their ids and derived keys.

        The table's foreign keys are dropped around the re-insert and re-created with their
        own names and definitions (ON DELETE rules, deferrability), which validates them in
        one join instead of one trigger call per row: several times faster, and it leaves no
        pending trigger events behind (Django's foreign keys are deferred, and pending events
        would make the constraint's ALTER TABLE fail)."""
        final = self.name("final")
        if self.few_combos:
            aside = self.name("probe")  # whole rows of every combo's latest copy
        else:
            aside = self.name("keep")
            self.execute(
                cur,
                f"CREATE TEMP TABLE {aside} AS SELECT t.* FROM {final} f "
                f"{self.row_by_id('f.keep_id')}",
            )
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [self.spec.table],
        )
        foreign_keys = cur.fetchall()
        if foreign_keys:
            drops = ", ".join(f"DROP CONSTRAINT {self.q(name)}" for name, _ in foreign_keys)
            self.execute(cur, f"ALTER TABLE {self.t} {drops}")
        self.execute(cur, f"TRUNCATE {self.t}")
        derived = self.spec.derived.column if self.spec.derived else None
        select = ", ".join("f.key" if c == derived else f"t.{self.q(c)}" for c in self.spec.columns)
        columns = ", ".join(self.q(c) for c in self.spec.columns)
        self.execute(
            cur,
            f"INSERT INTO {self.t} ({columns}) SELECT {select} "
            f"FROM {final} f JOIN {aside} t ON t.{self.pk} = f.keep_id",
        )
        if foreign_keys:
            adds = ", ".join(
                f"ADD CONSTRAINT {self.q(name)} {definition}" for name, definition in foreign_keys
            )
            self.execute(cur, f"ALTER TABLE {self.t} {adds}")

    def delete_losers(self, cur: Any) -> None:
        final = self.name("final")
        self.execute(
            cur,
            f"DELETE FROM {self.t} t WHERE NOT EXISTS "
            f"(SELECT 1 FROM {final} f WHERE f.keep_id = t.{self.pk})",
        )
        if self.spec.derived:
            column = self.q(self.spec.derived.column)
            self.execute(
                cur,
                f"UPDATE {self.t} t SET {column} = f.key FROM {final} f "
                f"WHERE t.{self.pk} = f.keep_id AND t.{column} IS DISTINCT FROM f.key",
            )

    def verify(self, cur: Any, distinct: int) -> int:
        """Compare the table (and the archive) with the fingerprints taken before."""
        final = self.name("final")
        rows_after = self.scalar(cur, f"SELECT count(*) FROM {self.t}")
        derived = self.q(self.spec.derived.column) if self.spec.derived else None
        key_expr = f"t.{derived}" if derived else "''::text"
        fixed = [self.q(c) for c in self.spec.fixed_key_columns]
        join = " AND ".join(
            [*(f"a.{c} = f.{c}" for c in fixed), "a.key = f.key", "a.h = f.keep_hash"]
        )
        changed = self.scalar(
            cur,
            f"SELECT count(*) FROM {final} f LEFT JOIN (SELECT "
            f"{', '.join(f't.{c}' for c in fixed)}{', ' if fixed else ''}{key_expr} AS key, "
            f"{self.fingerprint('t')} AS h FROM {self.t} t) a ON {join} WHERE a.h IS NULL",
        )
        missing = self.scalar(
            cur,
            f"SELECT count(*) {self.losing_combos()} AND NOT EXISTS ("
            f"SELECT 1 FROM {self.q(ARCHIVE_TABLE)} ar, "
            f"LATERAL jsonb_populate_record(NULL::{self.t}, ar.row_data) r "
            f"WHERE ar.run_id = %s AND ar.table_name = %s AND ar.kept_row_id = f.keep_id "
            f"AND {self.fingerprint('r')} = k.h)",
            [self.run_id, self.spec.table],
        )
        wrong_keys = self.wrong_derived_keys(cur)
        if rows_after != distinct or changed or missing or wrong_keys:
            raise verification_failure(
                self.spec,
                rows_after=rows_after,
                distinct_keys_before=distinct,
                kept_rows_not_found_unchanged=changed,
                divergent_contents_missing_from_archive=missing,
                derived_keys_not_matching_their_rule=wrong_keys,
            )
        return rows_after

    def wrong_derived_keys(self, cur: Any) -> int:
        """Recompute every kept row's derived key from its own sources with the rule (whose
        result for the same raw values derive_keys has already computed)."""
        if self.spec.derived is None:
            return 0
        sources = ", ".join(self.q(c) for c in self.spec.derived.sources)
        cur.execute(f"SELECT {self.q(self.spec.derived.column)}, {sources} FROM {self.t}")
        wrong = 0
        while rows := cur.fetchmany(10_000):
            wrong += sum(1 for key, *values in rows if self.derived_key_of(values) != key)
        return wrong


class _SimpleRemediation(SimpleGrouping):
    """The portable path (SQLite, the demo): same rules and checks, done in Python."""

    def __init__(self, connection: BaseDatabaseWrapper, spec: TableSpec, run_id: uuid.UUID):
        super().__init__(connection, spec)
        self.run_id = run_id

    def run(self) -> TableResult:
        spec, q = self.spec, self.q
        pk = spec.pk_column
        with self.connection.cursor() as cur:
            rows = self.read_rows(cur)
            groups = self.group(rows)
            keep: dict[tuple, dict[str, Any]] = {}
            losers: list[int] = []
            archive: list[tuple] = []
            divergent = 0
            for key, copies in groups.items():
                survivor = max(copies, key=self.recency)
                keep[key] = survivor
                kept_content = self.content(survivor)
                distinct: dict[tuple, list[dict[str, Any]]] = {}
                for row in copies:
                    if row is not survivor:
                        losers.append(row[pk])
                    content = self.content(row)
                    if content != kept_content:
                        distinct.setdefault(content, []).append(row)
                if distinct:
                    divergent += 1
                for same in distinct.values():
                    latest = max(same, key=self.recency)
                    archive.append((key, latest, survivor[pk], len(same)))
            now = _now()
            for key, row, kept_id, copies in archive:
                cur.execute(
                    f"INSERT INTO {q(ARCHIVE_TABLE)} (run_id, table_name, natural_key, row_data, "
                    "kept_row_id, copies, archived_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        self.run_id.hex,
                        spec.table,
                        json.dumps(
                            dict(zip(spec.key_columns, self.key_values(key), strict=True)),
                            default=str,
                        ),
                        json.dumps(self.row_json(row), default=str),
                        kept_id,
                        copies,
                        now,
                    ],
                )
            for start in range(0, len(losers), 500):
                chunk = losers[start : start + 500]
                cur.execute(
                    f"DELETE FROM {q(spec.table)} WHERE {q(pk)} "
                    f"IN ({', '.join(['%s'] * len(chunk))})",
                    chunk,
                )
            if spec.derived:
                column = q(spec.derived.column)
                cur.executemany(
                    f"UPDATE {q(spec.table)} SET {column} = %s WHERE {q(pk)} = %s",
                    [(key[-1], row[pk]) for key, row in keep.items()],
                )
            rows_after = self.verify(cur, keep, archive)
        return TableResult(
            table=spec.table,
            strategy="delete",
            rows_before=len(rows),
            distinct_keys=len(groups),
            rows_after=rows_after,
            archived=len(archive),
            divergent_groups=divergent,
            seconds=0.0,
        )

    def key_values(self, key: tuple) -> list[Any]:
        """The natural key in constraint column order."""
        by_name = dict(zip(self.spec.fixed_key_columns, key[:-1], strict=True))
        if self.spec.derived:
            by_name[self.spec.derived.column] = key[-1]
        return [by_name[c] for c in self.spec.key_columns]

    def row_json(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            c: json.loads(v) if c in self.spec.json_columns and isinstance(v, str) else v
            for c, v in row.items()
        }

    def verify(self, cur: Any, keep: dict, archive: list) -> int:
        after = self.group(self.read_rows(cur))
        changed = sum(
            1
            for key, survivor in keep.items()
            if len(after.get(key, [])) != 1 or self.content(after[key][0]) != self.content(survivor)
        )
        cur.execute(
            f"SELECT row_data FROM {self.q(ARCHIVE_TABLE)} WHERE run_id = %s AND table_name = %s",
            [self.run_id.hex, self.spec.table],
        )
        stored = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in cur.fetchall()]
        stored_ids = {r.get(self.spec.pk_column) for r in stored}
        missing = sum(1 for _, row, _, _ in archive if row[self.spec.pk_column] not in stored_ids)
        rows_after = sum(len(v) for v in after.values())
        if rows_after != len(keep) or changed or missing:
            raise verification_failure(
                self.spec,
                rows_after=rows_after,
                distinct_keys_before=len(keep),
                kept_rows_not_found_unchanged=changed,
                divergent_contents_missing_from_archive=missing,
            )
        return rows_after


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
