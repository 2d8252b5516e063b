"""Webhook health per region: when events last arrived, how long an event takes to become a row,
and whether a region's webhooks went quiet while its syncs kept finding changes."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, OuterRef, Subquery, Sum
from django.utils import timezone

from breezeway.admin.display import datetime_text
from breezeway.models import Region
from etl.credentials import webhook_secret
from etl.entities import PUSHED, RECONCILE_JOBS, EntitySpec
from etl.models import SyncRun, WebhookEvent
from etl.webhooks.events import HANDSHAKE

# The lag figures cover the events received this long ago at most, and this many at most
# (the newest): a day of a busy region, read in one indexed scan.
LAG_WINDOW = timedelta(hours=24)
LAG_SAMPLE = 10_000
# Runs that wrote rows: a partial run's rows are as real as a successful one's.
WRITING_RUNS = (SyncRun.Status.SUCCESS, SyncRun.Status.PARTIAL)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile of sorted `values`, linearly interpolated; None when empty."""
    if not values:
        return None
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


@dataclass(frozen=True)
class Lag:
    """Seconds from receipt to the row stored, over the processed events of LAG_WINDOW."""

    events: int
    p50: float | None
    p95: float | None
    max: float | None


@dataclass(frozen=True)
class Quiet:
    """A kind of event that stopped arriving while the syncs of its entity wrote rows."""

    kind: str
    last_received_at: datetime | None
    rows_written: int  # by those syncs within the quiet window
    window: timedelta

    @property
    def summary(self) -> str:
        """What happened, in the words the region page and the alert share."""
        since = datetime_text(self.last_received_at) if self.last_received_at else None
        return (
            f"no {self.kind} event {f'since {since}' if since else 'ever'}, while the syncs of "
            f"the last {self.window.total_seconds() / 3600:g} h wrote {self.rows_written} row(s)"
        )


@dataclass
class WebhookHealth:
    region_code: str
    secret_configured: bool
    last_received: dict[str, datetime | None] = field(default_factory=dict)  # per kind
    quiet: list[Quiet] = field(default_factory=list)

    @property
    def last_received_at(self) -> datetime | None:
        return max((at for at in self.last_received.values() if at), default=None)


def quiet_window() -> timedelta:
    return timedelta(hours=settings.WEBHOOK_QUIET_HOURS)


def sync_jobs(spec: EntitySpec) -> list[str]:
    """The jobs whose runs change an entity's rows: its sync, and the reconcile of its deletes."""
    return [spec.name, *(job for job, entity in RECONCILE_JOBS.items() if entity is spec)]


def last_received(
    regions: Iterable[Region] | None = None,
) -> dict[str, dict[str, datetime | None]]:
    """Per region code (every region's when None) and kind, when the latest event was received
    (None: never); one query, an index scan per region and kind."""
    latest = {
        kind: Subquery(
            WebhookEvent.objects.filter(region=OuterRef("pk"), kind=kind)
            .order_by("-received_at")
            .values("received_at")[:1]
        )
        for kind in WebhookEvent.Kind.values
    }
    chosen = Region.objects.all()
    if regions is not None:
        chosen = chosen.filter(code__in=[region.code for region in regions])
    rows = chosen.annotate(**latest).values("code", *latest)
    return {row.pop("code"): row for row in rows}


def rows_written_since(regions: Iterable[Region], since: datetime) -> dict[tuple[str, str], int]:
    """Per (region code, pushed kind), the rows its entity's runs started since then wrote."""
    jobs = {job: kind for kind, spec in PUSHED.items() for job in sync_jobs(spec)}
    written: dict[tuple[str, str], int] = {}
    runs = (
        SyncRun.objects.filter(
            region__in=[region.code for region in regions],
            entity__in=jobs,
            status__in=WRITING_RUNS,
            started_at__gte=since,
        )
        .values("region_id", "entity")
        .annotate(rows=Sum(F("inserted") + F("updated") + F("deleted")))
        .order_by()
    )
    for row in runs:
        key = (row["region_id"], jobs[row["entity"]])
        written[key] = written.get(key, 0) + (row["rows"] or 0)
    return written


def webhook_health(
    regions: Iterable[Region], now: datetime | None = None
) -> dict[str, WebhookHealth]:
    """The health of each region's webhooks (three queries, whatever the number of regions).

    A pushed kind is quiet in a region that is active and has a webhook secret when no event
    of it arrived for WEBHOOK_QUIET_HOURS while the syncs started in that time wrote rows of
    its entity: Breezeway changed things and told us nothing.
    """
    regions = list(regions)
    now = now or timezone.now()
    window = quiet_window()
    since = now - window
    received = last_received(regions)
    written = rows_written_since(regions, since)
    health = {}
    for region in regions:
        report = WebhookHealth(
            region.code,
            secret_configured=bool(webhook_secret(region.code)),
            last_received=received.get(region.code, {}),
        )
        if report.secret_configured and region.is_active:
            for kind in PUSHED:
                at = report.last_received.get(kind)
                rows = written.get((region.code, kind), 0)
                if (at is None or at < since) and rows > 0:
                    report.quiet.append(Quiet(kind, at, rows, window))
        health[region.code] = report
    return health


def lag(region: Region, now: datetime | None = None) -> Lag:
    """The event-to-row lag of the region's events processed in the last LAG_WINDOW."""
    now = now or timezone.now()
    moments = (
        WebhookEvent.objects.filter(
            region=region,
            received_at__gte=now - LAG_WINDOW,
            status=WebhookEvent.Status.PROCESSED,
            processed_at__isnull=False,
        )
        .exclude(event_type=HANDSHAKE)  # recorded at receipt: no lag to speak of
        .order_by("-received_at")
        .values_list("received_at", "processed_at")[:LAG_SAMPLE]
    )
    seconds = sorted((done - received).total_seconds() for received, done in moments)
    return Lag(
        len(seconds),
        percentile(seconds, 0.5),
        percentile(seconds, 0.95),
        seconds[-1] if seconds else None,
    )
