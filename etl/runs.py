"""Run records and the advisory locks that keep one sync per (region, entity) at a time."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from breezeway.locks import REMEDIATION_LOCK, sync_lock_key
from etl.entities import ENTITIES
from etl.load import TableCounts
from etl.models import RejectedRecord, SyncRun
from etl.sinks import Outcome

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost: the process running this sync died"
# The deletion reconciler asks for tasks one by one; it shares the tasks sync's lock.
RECONCILE = "task_deletions"
LOCK_ENTITY = {RECONCILE: "tasks"}


@contextmanager
def sync_locks(region_code: str, entity: str) -> Iterator[str | None]:
    """Take this sync's locks without waiting; yield None, or why the sync must not run."""
    if connection.vendor != "postgresql":
        yield None  # SQLite (the demo) runs one process at a time
        return
    key = sync_lock_key(region_code, entity)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock_shared(%s)", [REMEDIATION_LOCK])
        if not cursor.fetchone()[0]:
            yield "the duplicate remediation is running"
            return
        try:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                yield f"another sync of {entity} for region {region_code} is running"
                return
            try:
                yield None
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        finally:
            cursor.execute("SELECT pg_advisory_unlock_shared(%s)", [REMEDIATION_LOCK])


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
        with sync_locks(region_code, LOCK_ENTITY.get(entity, entity)) as refusal:
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
    RejectedRecord.objects.bulk_create(
        RejectedRecord(
            run=run,
            region=run.region,
            entity=r.entity,
            record_id=r.record_id,
            reason=r.reason,
            payload=r.payload,
        )
        for r in outcome.rejected
    )
    error = ""
    if outcome.errors:
        error = f"{len(outcome.errors)} request(s) failed after retries; first: {outcome.errors[0]}"
    return finish_run(run, status=run_status(outcome), error=error)


def finish_run(run: SyncRun, status: str, error: str = "") -> SyncRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    run.save()
    return run


# --- a region ---------------------------------------------------------------------------------
