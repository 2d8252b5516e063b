"""Admin of regions: credential status (never the values), sync freshness, webhook health,
and "Sync now"."""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django_celery_beat.models import PeriodicTask

from breezeway.admin.base import EMPTY, AdminBase, changelist_link, changelist_url
from breezeway.admin.display import datetime_text
from breezeway.models import Region
from etl.credentials import region_readiness, webhook_secret_variable
from etl.entities import ENTITY_NAMES
from etl.models import SyncRun, WebhookEvent
from etl.tasks import sync_region
from etl.webhooks.health import Lag, WebhookHealth, lag, webhook_health

log = logging.getLogger(__name__)

# The beat tasks that sync, and how to read the region and entities from an entry's arguments
# (each task's signature in etl/tasks.py).
SYNC_TASK_ARGUMENTS = {
    "etl.sync_all": ("entities", "full_sweep"),
    "etl.sync_region": ("region", "entities", "full_sweep"),
    "etl.sync_entity": ("region", "entity", "full_sweep"),
}
# An entity no enabled beat entry syncs is expected as often as this.
DEFAULT_SYNC_INTERVAL = timedelta(hours=1)
# An entity whose last successful sync is older than this many of its intervals is flagged:
# one missed run can happen (a retry is pending), two in a row need a look.
STALE_AFTER_INTERVALS = 2

RED = "#ba2121"
GREEN = "#2e7d32"


def schedule_interval(task: PeriodicTask) -> timedelta | None:
    """The time between two runs of a beat entry (interval or crontab schedule), if readable."""
    try:
        if task.interval is not None:
            return timedelta(**{task.interval.period: task.interval.every})
        if task.crontab is not None:
            # Two consecutive runs of the crontab, a minute past the first so it is not
            # counted twice.
            schedule = task.crontab.schedule
            now = timezone.now()
            first = schedule.remaining_estimate(now)
            second = schedule.remaining_estimate(now + first + timedelta(minutes=1))
            gap = timedelta(minutes=round((second - first).total_seconds() / 60))
            if gap > timedelta(0):
                return gap
    except (ValueError, TypeError, ArithmeticError):
        log.warning("cannot read the schedule of %r", task.name)
    return None


def scheduled_sync(task: PeriodicTask) -> tuple[str | None, tuple[str, ...]] | None:
    """The region (None: every region) and entities a sync beat entry covers, else None."""
    names = SYNC_TASK_ARGUMENTS.get(task.task)
    if names is None:
        return None
    try:
        given = {**dict(zip(names, json.loads(task.args or "[]"), strict=False))}
        given.update(json.loads(task.kwargs or "{}"))
    except (ValueError, TypeError):
        log.warning("cannot read the arguments of %r", task.name)
        return None
    entities = [given["entity"]] if given.get("entity") else given.get("entities")
    return given.get("region"), tuple(entities or ENTITY_NAMES)


def sync_schedule() -> list[tuple[str | None, tuple[str, ...], timedelta]]:
    """(region or None, entities, interval) of every enabled beat entry that syncs."""
    tasks = PeriodicTask.objects.filter(enabled=True, task__in=SYNC_TASK_ARGUMENTS)
    schedule = []
    for task in tasks.select_related("interval", "crontab"):
        covered, interval = scheduled_sync(task), schedule_interval(task)
        if covered is not None and interval is not None:
            schedule.append((*covered, interval))
    return schedule


def entity_intervals(
    region_code: str, schedule: list[tuple[str | None, tuple[str, ...], timedelta]]
) -> dict[str, timedelta]:
    """Per entity, how often the beat schedule syncs it in this region (its shortest interval)."""
    intervals: dict[str, timedelta] = {}
    for region, entities, interval in schedule:
        if region in (None, region_code):
            for entity in entities:
                intervals[entity] = min(interval, intervals.get(entity, interval))
    return {entity: intervals.get(entity, DEFAULT_SYNC_INTERVAL) for entity in ENTITY_NAMES}


def success_field(entity: str) -> str:
    return f"last_success_{entity}"


@admin.register(Region)
class RegionAdmin(AdminBase):
    # Freshness first: on a narrow window the list scrolls sideways, and the flag must show.
    list_display = (
        "code",
        "name",
        "is_active",
        "sync_age",
        "webhooks",
        "last_success",
        "credentials",
        "company_id",
    )
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    fields = (
        "code",
        "name",
        "company_id",
        "is_active",
        "credentials",
        "last_success",
        "sync_age",
        "runs",
        "webhook_health",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "credentials",
        "last_success",
        "sync_age",
        "runs",
        "webhooks",
        "webhook_health",
        "created_at",
        "updated_at",
    )
    actions = ("sync_now",)
    # Before the sync's migrations (a legacy database not remediated yet) there are no runs
    # and maybe no beat schedule: the regions are listed without their sync figures.
    optional_models = (SyncRun, PeriodicTask, WebhookEvent)
    WEBHOOK_FIELDS = ("webhooks", "webhook_health")
    SYNC_FIELDS = ("last_success", "sync_age", "runs", *WEBHOOK_FIELDS)

    def has_sync_runs(self, request: HttpRequest) -> bool:
        return self.table_exists(request, SyncRun)

    def hidden_fields(self, request: HttpRequest) -> set[str]:
        """The fields whose tables are not migrated yet."""
        if not self.has_sync_runs(request):
            return set(self.SYNC_FIELDS)
        if not self.table_exists(request, WebhookEvent):
            return set(self.WEBHOOK_FIELDS)
        return set()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if not self.has_sync_runs(request):
            return queryset
        # Per entity, not per region: a region whose tasks fail must not look fresh because
        # its tags synced. Each subquery reads the (region, entity, -started_at) index.
        latest = {
            success_field(entity): Subquery(
                SyncRun.objects.filter(
                    region=OuterRef("pk"), entity=entity, status=SyncRun.Status.SUCCESS
                )
                .order_by("-started_at", "-id")
                .values("finished_at")[:1]
            )
            for entity in ENTITY_NAMES
        }
        return queryset.annotate(**latest)

    def attach_figures(self, request: HttpRequest, regions: list[Region]) -> None:
        """Give each region how often each entity should sync and its webhook health (a few
        queries for all of them)."""
        if self.table_exists(request, PeriodicTask):
            schedule = sync_schedule()
        else:
            schedule = []
        webhooks = self.table_exists(request, WebhookEvent)
        health = webhook_health(regions) if webhooks else {}
        for region in regions:
            region.sync_intervals = entity_intervals(region.code, schedule)
            if webhooks:
                region.webhook_health = health[region.code]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        if self.has_sync_runs(request):
            self.attach_figures(request, changelist.result_list)
        return changelist

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        region = super().get_object(request, object_id, from_field)
        if region is not None and self.has_sync_runs(request):
            self.attach_figures(request, [region])
            if self.table_exists(request, WebhookEvent):
                region.webhook_lag = lag(region)
        return region

    def get_list_display(self, request: HttpRequest) -> list:
        hidden = self.hidden_fields(request)
        return [name for name in super().get_list_display(request) if name not in hidden]

    def get_fields(self, request: HttpRequest, obj: Region | None = None) -> list:
        if obj is None:  # nothing to report about a region being added
            return ["code", "name", "company_id", "is_active"]
        hidden = self.hidden_fields(request)
        return [name for name in super().get_fields(request, obj) if name not in hidden]

    def get_readonly_fields(self, request: HttpRequest, obj: Region | None = None) -> list:
        # The code is the primary key and every mirrored row's region: fixed once created.
        fields = super().get_readonly_fields(request, obj)
        return ["code", *fields] if obj is not None else fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"is_active": True, **super().get_changeform_initial_data(request)}

    def has_delete_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        # Deleting a region would gather all its mirrored rows (millions) for the confirmation
        # page, and most of them protect it anyway.
        return False

    def save_model(self, request: HttpRequest, obj: Region, form: object, change: bool) -> None:
        if change:
            obj.updated_at = timezone.now()  # the column's default only covers inserts
        super().save_model(request, obj, form, change)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not self.has_sync_runs(request):
            actions.pop("sync_now", None)  # a sync records runs: it cannot run yet
        return actions

    @admin.display(description="credentials")
    def credentials(self, obj: Region) -> str:
        if not obj.code:
            return EMPTY
        (readiness,) = region_readiness([obj])
        if readiness.ready:
            return format_html('<span style="color: {}">configured</span>', GREEN)
        return format_html(
            '<span style="color: {}">missing: set {}</span>', RED, " and ".join(readiness.missing)
        )

    def freshness(self, obj: Region) -> list[tuple[str, datetime | None, bool]]:
        """Per entity: its last successful sync (None: never) and whether that is stale."""
        intervals = getattr(obj, "sync_intervals", None) or {}
        now = timezone.now()
        rows = []
        for entity in ENTITY_NAMES:
            at = getattr(obj, success_field(entity), None)
            due = STALE_AFTER_INTERVALS * intervals.get(entity, DEFAULT_SYNC_INTERVAL)
            # Inactive regions are not synced by beat: nothing of theirs is overdue.
            stale = obj.is_active and (at is None or at < now - due)
            rows.append((entity, at, stale))
        return rows

    @staticmethod
    def oldest(rows: list[tuple[str, datetime | None, bool]]) -> tuple[str, datetime | None, bool]:
        # Never synced counts as the oldest of all.
        return min(rows, key=lambda row: (row[1] is not None, row[1] or timezone.now()))

    @admin.display(description="last successful sync")
    def last_success(self, obj: Region) -> str:
        if not obj.pk:
            return EMPTY
        rows = self.freshness(obj)
        oldest = self.oldest(rows)[0]
        lines = []
        for entity, at, stale in rows:
            if at is None:
                when = "never"
            else:
                # How long ago reads at a glance; the moment itself is in the link's title.
                url = changelist_url(
                    SyncRun,
                    region__code__exact=obj.pk,
                    entity=entity,
                    status__exact=SyncRun.Status.SUCCESS,
                )
                when = format_html(
                    '<a href="{}" title="{}">{} ago</a>',
                    url,
                    datetime_text(at),
                    timesince(at, depth=1),
                )
            lines.append(
                format_html(
                    '<span class="sync-entity{}{}" style="white-space: nowrap{}">{}: {}{}</span>',
                    " sync-oldest" if entity == oldest else "",
                    " sync-entity-stale" if stale else "",
                    format_html("; color: {}", RED) if stale else "",
                    entity,
                    when,
                    mark_safe(" <strong>(oldest)</strong>") if entity == oldest else "",
                )
            )
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description="age")
    def sync_age(self, obj: Region) -> str:
        """The age of the region's oldest entity; red when any entity is overdue."""
        if not obj.pk:
            return EMPTY
        rows = self.freshness(obj)
        entity, at, _ = self.oldest(rows)
        stale = [name for name, _, is_stale in rows if is_stale]
        if all(at is None for _, at, _ in rows):
            age = "never synced"
        elif at is None:
            age = f"{entity}: never"
        else:
            age = f"{timesince(at, depth=1)} ({entity})"
        if not stale:
            return age
        return format_html(
            '<span class="sync-stale" style="color: {}; font-weight: bold" title="{}">{}</span>',
            RED,
            f"no successful sync for {STALE_AFTER_INTERVALS} intervals of its beat schedule",
            age if age == "never synced" else f"{age}, stale: {', '.join(stale)}",
        )

    @admin.display(description="webhooks")
    def webhooks(self, obj: Region) -> str:
        """When the last event arrived; red when a pushed kind went quiet."""
        health: WebhookHealth | None = getattr(obj, "webhook_health", None)
        if health is None:
            return EMPTY
        if not health.secret_configured:
            return mark_safe('<span style="color: #757575">not configured</span>')
        at = health.last_received_at
        last = f"{timesince(at, depth=1)} ago" if at else "none yet"
        link = changelist_link(WebhookEvent, last, region__code__exact=obj.pk)
        if not health.quiet:
            return link
        return format_html(
            '{} <span class="webhooks-quiet" style="color: {}; font-weight: bold" title="{}">'
            "quiet: {}</span>",
            link,
            RED,
            "no event while the syncs found changes",
            ", ".join(quiet.kind for quiet in health.quiet),
        )

    @admin.display(description="webhook health")
    def webhook_health(self, obj: Region) -> str:
        """The secret's state, the last event per kind, the lag, and why a region is quiet."""
        health: WebhookHealth | None = getattr(obj, "webhook_health", None)
        if health is None:
            return EMPTY
        variable = webhook_secret_variable(obj.code)
        if not health.secret_configured:
            return format_html(
                '<span style="color: #757575">not configured: set {} (every event is refused'
                " until then)</span>",
                variable,
            )
        lines = [format_html("secret: configured ({})", variable)]
        for kind, at in sorted(health.last_received.items()):
            when = f"{timesince(at, depth=1)} ago ({datetime_text(at)})" if at else "never"
            events = changelist_link(
                WebhookEvent, when, region__code__exact=obj.pk, kind__exact=kind
            )
            lines.append(format_html("last {} event: {}", kind, events))
        figures: Lag | None = getattr(obj, "webhook_lag", None)
        if figures is not None and figures.events:
            lines.append(
                format_html(
                    "event to row, last 24 h: p50 {} s, p95 {} s, max {} s ({} events)",
                    f"{figures.p50:.2f}",
                    f"{figures.p95:.2f}",
                    f"{figures.max:.2f}",
                    figures.events,
                )
            )
        for quiet in health.quiet:
            lines.append(
                format_html(
                    '<strong class="webhooks-quiet" style="color: {}">quiet: {}. Check the webhook'
                    " subscription in Breezeway and the receiver's log.</strong>",
                    RED,
                    quiet.summary,
                )
            )
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description="sync runs")
    def runs(self, obj: Region) -> str:
        if not obj.pk:
            return EMPTY
        return changelist_link(SyncRun, "sync runs of this region", region__code__exact=obj.pk)

    @admin.action(description="Sync now", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued, no_credentials, failed = [], [], []
        for readiness in region_readiness(queryset):
            region = readiness.region
            if not readiness.ready:
                no_credentials.append(f"{region.code} (set {' and '.join(readiness.missing)})")
                continue
            try:
                sync_region.delay(region.code)
            except Exception as exc:  # the broker is down, or (no broker) the sync itself raised
                log.exception("Sync now of %s failed", region.code)
                failed.append(f"{region.code} ({type(exc).__name__})")  # no text: may hold URLs
                continue
            queued.append(region.code)
        if queued:
            how = (
                "ran in-process (no broker configured)"
                if settings.CELERY_TASK_ALWAYS_EAGER
                else "queued"
            )
            self.message_user(
                request, f"Sync {how} for {', '.join(queued)}; see Sync runs.", messages.SUCCESS
            )
        if no_credentials:
            self.message_user(
                request,
                f"Not queued, no credentials: {'; '.join(no_credentials)}.",
                messages.WARNING,
            )
        if failed:
            self.message_user(
                request, f"Could not queue the sync of {', '.join(failed)}.", messages.ERROR
            )
