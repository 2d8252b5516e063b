"""Run records and the advisory locks that keep one sync per (region, entity) at a time."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
)
from django.db.models import F, QuerySet
from django.utils import timezone

from breezeway.locks import REMEDIATION_LOCK, sync_data_key, sync_lock_key
from etl.entities import ENTITIES, Rejected
from etl.load import TableCounts, content_hash
from etl.models import RejectedRecord, SyncRun
from etl.sinks import Outcome
from etl.values import kept_payload

log = logging.getLogger(__name__)

# Said of a run left `running` whose run lock nobody holds any more: whoever ran it is gone.
WORKER_LOST = (
    "lost: the run ended without recording its outcome (its worker died, or lost its "
    "database connection)"
)
DATABASE_LOST = "database unavailable"
# What PostgreSQL (or the network to it) going away raises; worth another try later.
DATABASE_ERRORS = (OperationalError, InterfaceError)
# The deletion reconciler asks for tasks one by one; it shares the tasks sync's lock.
RECONCILE = "task_deletions"
LOCK_ENTITY = {RECONCILE: "tasks"}
REASON_KEPT = 2000  # characters of a rejection's reason (it may quote a huge value)
LOCK_GAVE_UP = ("55P03", "40P01")  # lock_timeout reached; deadlock detected


class DatabaseLost(Exception):
    """The database failed under a sync: the runs so far, the entities not (fully) run, and
    the runs that could not be recorded failed yet (id -> error), for the retry to record."""

    def __init__(
        self,
        message: str,
        runs: list[SyncRun],
        pending: list[str],
        unrecorded: dict[int, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.runs = runs
        self.pending = pending
        self.unrecorded = unrecorded or {}


def record_unrecorded(unrecorded: dict[Any, str] | None) -> int:
    """Record failed the runs a database outage left `running` (their ids as JSON keys), with
    the outage as their error, before anything could mark them lost; returns how many."""
    done = 0
    for run_id, error in (unrecorded or {}).items():
        done += SyncRun.objects.filter(pk=int(run_id), status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED,
            error=error,
            details={"retryable": True},
            finished_at=timezone.now(),
        )
    return done


def describe_database_error(exc: BaseException) -> str:
    """A database failure in one line, without what a connection string could leak."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    if "password" in first_line.lower():
        first_line = ""
    return f"{DATABASE_LOST}: {type(exc).__name__}" + (
        f" ({first_line[:160]})" if first_line else ""
    )


@contextmanager
def sync_locks(
    region_code: str, entity: str, reads: tuple[str, ...] = (), wait: float = 0.0, data: bool = True
) -> Iterator[str | None]:
    """Take a sync's locks; yield None, or why the sync must not run.

    The locks live on a database connection of their own that nothing else uses or closes (a
    thread closing its own connection, as a request thread may, cannot drop them), and they
    are released by closing it, which works even when the database went away. Taken in order:
    the remediation lock shared and the run key, without waiting; then, unless `data` is
    False, the data keys of `entity` (exclusive) and of what it `reads` (shared) in load order,
    each waiting up to `wait` seconds for another run of the region to finish with them.
    """
    if connection.vendor != "postgresql":
        yield None  # SQLite (the demo) runs one process at a time
        return
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield _take_locks(holder, region_code, entity, reads if data else None, wait)
    finally:
        try:
            holder.close()
        except DatabaseError:
            pass  # a dead connection holds nothing any more


def _take_locks(
    holder: Any, region_code: str, entity: str, reads: tuple[str, ...] | None, wait: float
) -> str | None:
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock_shared(%s)", [REMEDIATION_LOCK])
        if not cursor.fetchone()[0]:
            return "the duplicate remediation is running"
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [sync_lock_key(region_code, entity)])
        if not cursor.fetchone()[0]:
            return f"another sync of {entity} for region {region_code} is running"
        if reads is None:
            return None
        # One fixed order for every run, so two runs never wait for each other in a circle.
        order = list(ENTITIES)
        wanted = sorted(
            {entity: True, **dict.fromkeys(reads, False)}.items(),
            key=lambda item: order.index(item[0]),
        )
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{int(wait * 1000)}ms"])
        for name, exclusive in wanted:
            key = sync_data_key(region_code, name)
            waiting = wait > 0
            function = "pg_advisory_lock" if waiting else "pg_try_advisory_lock"
            function += "" if exclusive else "_shared"
            try:
                cursor.execute(f"SELECT {function}(%s)", [key])
                # pg_advisory_lock returns once it has the lock; the try form says.
                taken = waiting or cursor.fetchone()[0]
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) not in LOCK_GAVE_UP:
                    raise
                taken = False
            if not taken:
                doing = "reading" if exclusive else "writing"
                return f"another run of region {region_code} is {doing} {name} (waited {wait:g} s)"
    return None


def run_status(outcome: Outcome) -> str:
    if not outcome.errors:
        return SyncRun.Status.SUCCESS
    loaded = any(c.written or c.unchanged for c in outcome.counts.values())
    return SyncRun.Status.PARTIAL if loaded else SyncRun.Status.FAILED


def sharing_lock(entity: str) -> list[str]:
    """The entities whose syncs take the same lock as this one's."""
    lock = LOCK_ENTITY.get(entity, entity)
    return [e for e in (*ENTITIES, RECONCILE) if LOCK_ENTITY.get(e, e) == lock]


def mark_lost(runs: QuerySet) -> int:
    """Mark `running` runs failed: their worker died (its locks went with its connection)."""
    return runs.filter(status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED, error=WORKER_LOST, finished_at=timezone.now()
    )


def sweep_lost_runs() -> int:
    """Mark failed every `running` run whose locks nobody holds any more; return how many."""
    marked = 0
    pairs = (
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .values_list("region_id", "entity")
        .distinct()
    )
    for region_code, entity in pairs:
        with sync_locks(region_code, LOCK_ENTITY.get(entity, entity), data=False) as refusal:
            if refusal is None:  # free: whoever was running this pair is gone
                marked += mark_lost(
                    SyncRun.objects.filter(region_id=region_code, entity__in=sharing_lock(entity))
                )
    if marked:
        log.warning("marked %d sync run(s) failed: %s", marked, WORKER_LOST)
    return marked


def record_outcome(run: SyncRun, outcome: Outcome) -> SyncRun:
    totals = TableCounts()
    for counts in outcome.counts.values():
        totals.add(counts)
    run.fetched = outcome.fetched
    run.inserted, run.updated = totals.inserted, totals.updated
    run.unchanged, run.deleted = totals.unchanged, totals.deleted
    run.rejected = len(outcome.rejected)
    run.child_policy = outcome.child_policy
    run.details = {
        **outcome.details,
        "tables": {name: c.as_dict() for name, c in outcome.counts.items()},
    }
    if outcome.errors:
        run.details["errors"] = outcome.errors[:100]
    keep_rejected(run, outcome.rejected)
    error = ""
    if outcome.errors:
        error = f"{len(outcome.errors)} request(s) failed after retries; first: {outcome.errors[0]}"
    return finish_run(run, status=run_status(outcome), error=error)


def keep_rejected(run: SyncRun, rejected: list[Rejected]) -> None:
    """Store the run's rejected records: a payload already kept for the same (region, entity,
    record id) is counted again (times_seen, last_seen_at, run), not stored twice."""
    now = timezone.now()
    wanted: dict[tuple[str, str, str], tuple[str, Any]] = {}
    for r in rejected:
        payload = kept_payload(r.payload)
        record_id = kept_payload(r.record_id)[:64]
        key = (r.entity, record_id, content_hash(payload))
        wanted.setdefault(key, (kept_payload(r.reason)[:REASON_KEPT], payload))  # once a run
    if not wanted:
        return
    stored = {
        (entity, record_id, digest): pk
        for entity, record_id, digest, pk in RejectedRecord.objects.filter(
            region=run.region,
            entity__in={key[0] for key in wanted},
            payload_digest__in={key[2] for key in wanted},
        ).values_list("entity", "record_id", "payload_digest", "pk")
    }
    seen_again: dict[str, list[int]] = {}
    new = []
    for key, (reason, payload) in wanted.items():
        if key in stored:
            seen_again.setdefault(reason, []).append(stored[key])
            continue
        entity, record_id, digest = key
        new.append(
            RejectedRecord(
                run=run,
                region=run.region,
                entity=entity,
                record_id=record_id,
                reason=reason,
                payload=payload,
                payload_digest=digest,
                last_seen_at=now,
            )
        )
    RejectedRecord.objects.bulk_create(new, batch_size=500)
    for reason, pks in seen_again.items():
        for start in range(0, len(pks), 1000):
            RejectedRecord.objects.filter(pk__in=pks[start : start + 1000]).update(
                times_seen=F("times_seen") + 1, last_seen_at=now, run=run, reason=reason
            )


def finish_run(run: SyncRun, status: str, error: str = "") -> SyncRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    return run


# --- a region ---------------------------------------------------------------------------------
