"""Celery tasks: thin entry points over etl.pipeline (one entity, one region, all regions) and
etl.webhooks (one stored event)."""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from breezeway.logcontext import log_context
from etl.credentials import syncable_regions
from etl.entities import RECONCILE_JOBS
from etl.locking import sweep_lost_runs
from etl.models import SyncRun, WebhookEvent
from etl.pipeline import SyncOptions, ordered, run_region_sync
from etl.runs import (
    DATABASE_ERRORS,
    DatabaseLost,
    describe_database_error,
    record_unrecorded,
)

log = logging.getLogger(__name__)


def summary(runs: list[SyncRun]) -> list[dict[str, Any]]:
    return [
        {"region": r.region_id, "entity": r.entity, "status": r.status, "written": r.rows_written}
        for r in runs
    ]


def run_and_retry(
    task: Any,
    region: str,
    entities: list[str],
    full_sweep: bool | None,
    retry_args: Callable[[list[str]], tuple],
    unrecorded: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    lost: DatabaseLost | None = None
    try:
        # Runs the previous attempt could not record during an outage: recorded before any
        # lock is taken, or the next run of the pair would call them "lost".
        record_unrecorded(unrecorded)
        runs = run_region_sync(region, entities, SyncOptions(full_sweep=full_sweep))
    except SoftTimeLimitExceeded:
        log.error("sync of %s %s stopped at its soft time limit", region, entities or "all")
        raise
    except DatabaseLost as exc:
        # The database went away: like the network, worth another try; what was committed
        # stays committed, and what was not reached is tried again with what failed.
        lost, runs = exc, exc.runs
    except DATABASE_ERRORS as exc:  # still down before the sync began
        log.error("sync of %s %s: %s", region, entities, describe_database_error(exc))
        lost = DatabaseLost(describe_database_error(exc), [], entities, dict(unrecorded or {}))
        runs = []
    # A run that failed for a transient reason (the API, the network, the database) is tried
    # again later (SYNC_TASK_RETRY_DELAYS); bad data never is: it is in RejectedRecord.
    failed = [r.entity for r in runs if (r.details or {}).get("retryable")]
    failed += lost.pending if lost else []
    retryable = ordered(failed) if failed else []
    delays = settings.SYNC_TASK_RETRY_DELAYS
    if retryable and task.request.retries < len(delays):
        delay = delays[task.request.retries]
        log.warning("sync of %s %s failed transiently; retrying in %ss", region, retryable, delay)
        # Only what failed runs again; what succeeded stays done.
        unrecorded = {str(k): v for k, v in lost.unrecorded.items()} if lost else {}
        raise task.retry(
            args=retry_args(retryable), kwargs={"unrecorded": unrecorded}, countdown=delay
        )
    if lost is not None:
        raise lost
    return summary(runs)


@shared_task(bind=True, name="etl.sync_entity")
def sync_entity(
    self: Any,
    region: str,
    entity: str,
    full_sweep: bool | None = None,
    unrecorded: dict[str, str] | None = None,
) -> list:
    """Sync one entity of one region (skipped if another run of the pair holds its lock)."""
    with log_context(region=region, entity=entity):
        return run_and_retry(
            self,
            region,
            ordered([entity]),
            full_sweep,
            lambda failed: (region, entity, full_sweep),
            unrecorded,
        )


@shared_task(bind=True, name="etl.sync_region")
def sync_region(
    self: Any,
    region: str,
    entities: list[str] | None = None,
    full_sweep: bool | None = None,
    unrecorded: dict[str, str] | None = None,
) -> list:
    """Sync a region's entities in dependency order (all of them by default). `unrecorded`:
    runs an earlier attempt could not record during a database outage (set by its retry)."""
    with log_context(region=region):
        return run_and_retry(
            self,
            region,
            ordered(entities),
            full_sweep,
            lambda failed: (region, failed, full_sweep),
            unrecorded,
        )


@shared_task(name="etl.sync_all")
def sync_all(entities: list[str] | None = None, full_sweep: bool | None = None) -> list[str]:
    """Fan out one sync_region per syncable region, so regions run in parallel on workers."""
    ordered(entities)  # a bad entity name fails here, once, not in every region's task
    codes = [region.code for region in syncable_regions()]
    for code in codes:
        sync_region.delay(code, entities, full_sweep)
    log.info("sync_all queued %d region(s): %s", len(codes), ", ".join(codes) or "none")
    return codes


@shared_task(name="etl.reconcile_deletions")
def reconcile_deletions() -> list[str]:
    """Ask the API for every record no list shows any more (tasks), in every syncable region
    (404: deleted; 200: kept and refreshed)."""
    codes = [region.code for region in syncable_regions()]
    for code in codes:
        for job in RECONCILE_JOBS:
            sync_entity.delay(code, job)
    return codes


@shared_task(bind=True, name="etl.sweep_lost_runs")
def sweep_lost_runs_task(self: Any) -> int:
    """Mark failed the runs left `running` by a worker that died."""
    return sweep_lost_runs()


@shared_task(bind=True, name="etl.process_webhook_event")
def process_webhook_event(self: Any, event_id: int) -> str:
    """Apply one stored webhook event; a transient failure is retried WEBHOOK_RETRY_DELAYS
    later, and the event ends `failed` with the reason when they run out."""
    from etl.webhooks.process import Transient, finish, process_event

    try:
        return process_event(event_id)
    except (Transient, *DATABASE_ERRORS) as exc:
        reason = str(exc) if isinstance(exc, Transient) else describe_database_error(exc)
    delays = settings.WEBHOOK_RETRY_DELAYS
    retries = self.request.retries
    events = WebhookEvent.objects.filter(pk=event_id, status=WebhookEvent.Status.PENDING)
    if retries >= len(delays):
        event = WebhookEvent.objects.select_related("region").get(pk=event_id)
        event.attempts = retries  # finish() counts this attempt
        return finish(
            event, WebhookEvent.Status.FAILED, f"gave up after {retries + 1} attempt(s): {reason}"
        )
    delay = delays[retries]
    events.update(
        error=reason[:2000],
        attempts=retries + 1,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    if self.request.is_eager:
        # In-process (no broker) a retry would run at once, in the caller: the event waits
        # for the requeue sweep or the admin's "Process again" instead.
        return WebhookEvent.Status.PENDING
    log.info("webhook event %s: %s; retrying in %ss", event_id, reason, delay)
    raise self.retry(countdown=delay)


# A pending event not tried this long after it was due (or received) lost its message.
REQUEUE_AFTER = timedelta(minutes=5)


@shared_task(name="etl.requeue_webhook_events")
def requeue_webhook_events(limit: int = 10_000) -> int:
    """Queue again the pending events whose message was lost (a broker restart, a worker
    killed before acknowledging, a broker down at receipt); returns how many."""
    stalled = timezone.now() - REQUEUE_AFTER
    ids = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING, received_at__lt=stalled)
        .exclude(next_attempt_at__gte=stalled)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in ids:
        process_webhook_event.delay(event_id)
    if ids:
        log.warning("requeued %d stalled webhook event(s)", len(ids))
    return len(ids)
