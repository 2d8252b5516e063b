"""Admin of regions: credential status (never the values), sync freshness, and "Sync now"."""

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import DateTimeField, OuterRef, QuerySet, Subquery, Value
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django_celery_beat.models import PeriodicTask

from breezeway.admin.base import EMPTY, admin_link, changelist_link
from breezeway.models import Region
from etl.credentials import credential_variables
from etl.models import SyncRun
from etl.tasks import sync_region

log = logging.getLogger(__name__)

# The beat entry whose interval says how fresh a region's data should be; when it is missing
# or its schedule cannot be read, DEFAULT_SYNC_INTERVAL stands in.
HOURLY_SYNC_TASK = "Hourly sync: reservations and tasks"
DEFAULT_SYNC_INTERVAL = timedelta(hours=1)
# A region whose last successful sync is older than this many intervals is flagged: one missed
# run can happen (a retry is pending), two in a row need a look.
STALE_AFTER_INTERVALS = 2

RED = "#ba2121"
GREEN = "#2e7d32"


def sync_interval() -> timedelta:
    """The interval of the hourly beat entry (interval or crontab schedule), else the default."""
    tasks = PeriodicTask.objects.select_related("interval", "crontab")
    task = tasks.filter(name=HOURLY_SYNC_TASK).first()
    try:
        if task is not None and task.interval is not None:
            return timedelta(**{task.interval.period: task.interval.every})
        if task is not None and task.crontab is not None:
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
        log.warning("cannot read the schedule of %r; assuming hourly", HOURLY_SYNC_TASK)
    return DEFAULT_SYNC_INTERVAL


def missing_credentials(region_code: str) -> list[str]:
    """The names of the region's credential variables that are unset (names, never values)."""
    return [
        name for name in credential_variables(region_code) if not os.environ.get(name, "").strip()
    ]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "company_id",
        "is_active",
        "credentials",
        "last_success",
        "sync_age",
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
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "credentials",
        "last_success",
        "sync_age",
        "runs",
        "created_at",
        "updated_at",
    )
    actions = ("sync_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        latest = SyncRun.objects.filter(
            region=OuterRef("pk"), status=SyncRun.Status.SUCCESS
        ).order_by("-started_at", "-id")
        stale_before = timezone.now() - STALE_AFTER_INTERVALS * sync_interval()
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_success_id=Subquery(latest.values("id")[:1]),
                last_success_at=Subquery(latest.values("finished_at")[:1]),
                last_success_entity=Subquery(latest.values("entity")[:1]),
                stale_before=Value(stale_before, output_field=DateTimeField()),
            )
        )

    def get_fields(self, request: HttpRequest, obj: Region | None = None) -> tuple:
        if obj is None:  # nothing to report about a region being added
            return ("code", "name", "company_id", "is_active")
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Region | None = None) -> tuple:
        # The code is the primary key and every mirrored row's region: fixed once created.
        if obj is not None:
            return ("code", *self.readonly_fields)
        return self.readonly_fields

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

    @admin.display(description="credentials")
    def credentials(self, obj: Region) -> str:
        if not obj.code:
            return EMPTY
        missing = missing_credentials(obj.code)
        if not missing:
            return format_html('<span style="color: {}">configured</span>', GREEN)
        return format_html(
            '<span style="color: {}">missing: set {}</span>', RED, " and ".join(missing)
        )

    @admin.display(description="last successful sync", ordering="last_success_at")
    def last_success(self, obj: Region) -> str:
        at = getattr(obj, "last_success_at", None)
        if at is None:
            return "never"
        run = SyncRun(pk=obj.last_success_id)
        text = f"{timezone.localtime(at):%Y-%m-%d %H:%M} ({obj.last_success_entity})"
        return admin_link(run, text)

    @admin.display(description="age")
    def sync_age(self, obj: Region) -> str:
        at = getattr(obj, "last_success_at", None)
        if not obj.is_active or not hasattr(obj, "stale_before"):
            return timesince(at) if at else EMPTY  # inactive regions are not synced by beat
        if at is not None and at >= obj.stale_before:
            return timesince(at)
        return format_html(
            '<span class="sync-stale" style="color: {}; font-weight: bold" title="{}">{}</span>',
            RED,
            f"no successful sync for {STALE_AFTER_INTERVALS} intervals of the hourly schedule",
            f"{timesince(at)} (stale)" if at else "never synced",
        )

    @admin.display(description="sync runs")
    def runs(self, obj: Region) -> str:
        if not obj.pk:
            return EMPTY
        return changelist_link(SyncRun, "sync runs of this region", region__code__exact=obj.pk)

    @admin.action(description="Sync now", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued, no_credentials, failed = [], [], []
        for region in queryset:
            missing = missing_credentials(region.code)
            if missing:
                no_credentials.append(f"{region.code} (set {' and '.join(missing)})")
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
