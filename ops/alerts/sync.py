"""Sync conditions: entities not synced for too long, failing in a row, rejecting many records."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, Max, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from breezeway.admin.display import datetime_text
from breezeway.models import Region
from etl.credentials import syncable_regions
from etl.entities import ENTITY_NAMES
from etl.models import SyncRun
from ops.alerts.conditions import Condition
from ops.alerts.redact import redacted
from ops.models import Alert

# Runs that say nothing about the pair's health: another run had the lock, or it is not over.
NOT_OUTCOMES = (SyncRun.Status.SKIPPED, SyncRun.Status.RUNNING)
# The end of an error worth quoting in an alert; the run's page has all of it.
ERROR_CHARS = 200


def max_age(entity: str) -> timedelta:
    """How long an entity may go without a successful sync (ALERT_SYNC_MAX_AGE_HOURS)."""
    hours = settings.ALERT_SYNC_MAX_AGE_HOURS
    unknown = set(hours) - {"default", *ENTITY_NAMES}
    if unknown:
        # A misspelt entity would silently fall back to the default: refuse it loudly.
        raise ImproperlyConfigured(
            f"ALERT_SYNC_MAX_AGE_HOURS names no entity {sorted(unknown)}; "
            f"entities: {', '.join(ENTITY_NAMES)}."
        )
    return timedelta(hours=hours.get(entity, hours["default"]))


def hours_text(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:g} h"


def outcomes(regions: Iterable[Region], per_pair: int) -> QuerySet:
    """The latest `per_pair` finished runs of every (region, entity) of these regions."""
    return (
        SyncRun.objects.filter(region__in=list(regions))
        .exclude(status__in=NOT_OUTCOMES)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("region_id"), F("entity")],
                order_by=[F("started_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=per_pair)
        .order_by("region_id", "entity", "rank")
    )


def stale_syncs(now: datetime | None = None) -> list[Condition]:
    """Every entity of a syncable region whose last success is older than its maximum age."""
    now = now or timezone.now()
    regions = syncable_regions()
    last_success = {
        (row["region_id"], row["entity"]): row["at"]
        for row in SyncRun.objects.filter(region__in=regions, status=SyncRun.Status.SUCCESS)
        .values("region_id", "entity")
        .annotate(at=Max(Coalesce("finished_at", "started_at")))
    }
    conditions = []
    for region in regions:
        for entity in ENTITY_NAMES:
            limit = max_age(entity)
            at = last_success.get((region.code, entity))
            # A region registered a moment ago has had no chance to sync yet.
            if (at or region.created_at) >= now - limit:
                continue
            since = f"since {datetime_text(at)}" if at else "ever"
            conditions.append(
                Condition(
                    key=f"sync_stale:{region.code}:{entity}",
                    kind=Alert.Kind.SYNC_STALE,
                    region_code=region.code,
                    entity=entity,
                    message=(
                        f"{entity} of region {region.code}: no successful sync {since} "
                        f"(limit {hours_text(limit)})"
                    ),
                )
            )
    return conditions


def counts_as_failure(status: str) -> bool:
    if status == SyncRun.Status.FAILED:
        return True
    return status == SyncRun.Status.PARTIAL and settings.ALERT_PARTIAL_IS_FAILURE


def failing_syncs() -> list[Condition]:
    """Every (region, entity) whose last ALERT_FAILURES_IN_A_ROW finished runs all failed."""
    k = settings.ALERT_FAILURES_IN_A_ROW
    runs: dict[tuple[str, str], list[SyncRun]] = {}
    for run in outcomes(syncable_regions(), k):
        runs.setdefault((run.region_id, run.entity), []).append(run)
    conditions = []
    for (code, entity), latest in runs.items():
        if len(latest) < k or not all(counts_as_failure(r.status) for r in latest):
            continue
        last = latest[0]
        error = redacted(last.error.strip().splitlines()[0] if last.error.strip() else "")
        error = error if len(error) <= ERROR_CHARS else error[: ERROR_CHARS - 1] + "…"
        conditions.append(
            Condition(
                key=f"sync_failing:{code}:{entity}",
                kind=Alert.Kind.SYNC_FAILING,
                region_code=code,
                entity=entity,
                message=(
                    f"{entity} of region {code}: the last {k} runs failed (latest "
                    f"{last.status} at {datetime_text(last.started_at)}"
                    + (f": {error})" if error else ")")
                ),
            )
        )
    return conditions


def rejecting_syncs() -> list[Condition]:
    """Every (region, entity) whose latest finished run rejected more than the threshold."""
    threshold = settings.ALERT_REJECTED_PER_RUN
    conditions = []
    for run in outcomes(syncable_regions(), 1):
        if run.rejected <= threshold:
            continue
        conditions.append(
            Condition(
                key=f"sync_rejected:{run.region_id}:{run.entity}",
                kind=Alert.Kind.SYNC_REJECTED,
                region_code=run.region_id,
                entity=run.entity,
                message=(
                    f"{run.entity} of region {run.region_id}: {run.rejected} records rejected "
                    f"by the run of {datetime_text(run.started_at)} (threshold {threshold})"
                ),
            )
        )
    return conditions
