"""Run records and the advisory locks that keep one sync per (region, entity) at a time."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from breezeway.locks import REMEDIATION_LOCK, sync_lock_key
from etl.entities import ENTITIES, Rejected
from etl.load import TableCounts, content_hash
from etl.models import RejectedRecord, SyncRun
from etl.sinks import Outcome
from etl.values import kept_payload

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost: the process running this sync died"
# The deletion reconciler asks for tasks one by one; it shares the tasks sync's lock.
RECONCILE = "task_deletions"
LOCK_ENTITY = {RECONCILE: "tasks"}
REASON_KEPT = 2000  # characters of a rejection's reason (it may quote a huge value)


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
