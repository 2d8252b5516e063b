"""Run records: a sync's outcome, its rejected records, and runs a failure left unfinished."""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.db.models import F, QuerySet
from django.utils import timezone

from etl.entities import JOBS, RECONCILE_JOBS
from etl.models import RejectedRecord, SyncRun
from etl.records import Outcome, Rejected, TableCounts, content_hash
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
REASON_KEPT = 2000  # characters of a rejection's reason (it may quote a huge value)


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


def run_status(outcome: Outcome) -> str:
    if not outcome.errors:
        return SyncRun.Status.SUCCESS
    loaded = any(c.written or c.unchanged for c in outcome.counts.values())
    return SyncRun.Status.PARTIAL if loaded else SyncRun.Status.FAILED


def locked_entity(job: str) -> str:
    """The entity whose locks a job takes: its own, or the one whose deletions it reconciles
    (a name no longer known, as old runs may hold, stands for itself)."""
    spec = RECONCILE_JOBS.get(job)
    return spec.name if spec else job


def sharing_lock(job: str) -> list[str]:
    """The jobs that take the same locks as this one (an entity and its reconcile job)."""
    entity = locked_entity(job)
    return [other for other in dict.fromkeys((*JOBS, job)) if locked_entity(other) == entity]


def mark_lost(runs: QuerySet) -> int:
    """Mark `running` runs failed: their worker died (its locks went with its connection)."""
    return runs.filter(status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED, error=WORKER_LOST, finished_at=timezone.now()
    )


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
