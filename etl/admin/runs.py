"""Admin of the sync's bookkeeping: runs (status, counts, details) and rejected records.

ApiToken is deliberately not registered: its rows hold live API tokens.
"""

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from breezeway.admin.base import (
    EMPTY,
    ReadOnlyAdmin,
    RegionColumn,
    admin_link,
    changelist_link,
    pretty_json,
)
from breezeway.admin.filters import values_filter
from etl.entities import JOBS
from etl.models import RejectedRecord, SyncRun

STATUS_COLOURS = {
    SyncRun.Status.SUCCESS: "#2e7d32",  # green
    SyncRun.Status.PARTIAL: "#e67e00",  # orange
    SyncRun.Status.FAILED: "#ba2121",  # red
    SyncRun.Status.SKIPPED: "#757575",  # grey
    SyncRun.Status.RUNNING: "#1565c0",  # blue
}
ROW_COUNTS = ("fetched", "inserted", "updated", "unchanged", "deleted")


def human_duration(delta: timedelta | None) -> str:
    if delta is None:
        return EMPTY
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class EntityFilter(admin.SimpleListFilter):
    """The sync's entities, from the pipeline (no DISTINCT over the runs table)."""

    title = "entity"
    parameter_name = "entity"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [(name, name) for name in JOBS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(entity=self.value()) if self.value() else queryset


@admin.register(SyncRun)
class SyncRunAdmin(RegionColumn, ReadOnlyAdmin):
    list_display = (
        "id",
        "started_at",
        "region_code",
        "entity",
        "status_badge",
        "duration",
        *ROW_COUNTS,
        "rejected_link",
        "api_calls",
        "retries",
        "child_policy",
    )
    list_display_links = ("id", "started_at")
    list_filter = ("region", EntityFilter, "status", ("started_at", DateFieldListFilter))
    fields = (
        "region",
        "entity",
        "status_badge",
        "started_at",
        "finished_at",
        "duration",
        "child_policy",
        *ROW_COUNTS,
        "rejected_link",
        "api_calls",
        "retries",
        "throttled",
        "error",
        "details_pretty",
    )
    readonly_fields = ("status_badge", "duration", "rejected_link", "details_pretty")

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: SyncRun) -> str:
        colour = STATUS_COLOURS.get(obj.status, "#757575")
        return format_html(
            '<span class="sync-status sync-status-{}" style="color: #fff; background: {};'
            ' padding: 1px 6px; border-radius: 3px">{}</span>',
            obj.status,
            colour,
            obj.get_status_display(),
        )

    @admin.display(description="duration")
    def duration(self, obj: SyncRun) -> str:
        if obj.finished_at is None:
            return EMPTY
        return human_duration(obj.finished_at - obj.started_at)

    @admin.display(description="rejected", ordering="rejected")
    def rejected_link(self, obj: SyncRun) -> str:
        if not obj.rejected:
            return "0"
        return changelist_link(RejectedRecord, obj.rejected, run__id__exact=obj.pk)

    @admin.display(description="details")
    def details_pretty(self, obj: SyncRun) -> str:
        return pretty_json(obj.details)


@admin.register(RejectedRecord)
class RejectedRecordAdmin(RegionColumn, ReadOnlyAdmin):
    """One row per bad record (region, entity, id, payload), however many runs saw it."""

    list_display = (
        "id",
        "last_seen_at",
        "times_seen",
        "region_code",
        "entity",
        "record_id",
        "short_reason",
        "run_link",
    )
    list_display_links = ("id", "last_seen_at")
    list_select_related = ("run",)
    list_filter = (
        "region",
        values_filter("entity", "entity"),
        ("last_seen_at", DateFieldListFilter),
    )
    search_fields = ("record_id__exact", "reason")
    search_help_text = "Record id (exact) or reason (contains)."
    raw_id_fields = ("run",)
    fields = (
        "run",
        "region",
        "entity",
        "record_id",
        "reason",
        "times_seen",
        "first_seen_at",
        "last_seen_at",
        "payload_pretty",
    )
    readonly_fields = ("payload_pretty",)

    @admin.display(description="reason")
    def short_reason(self, obj: RejectedRecord) -> str:
        return obj.reason if len(obj.reason) <= 100 else obj.reason[:99] + "…"

    @admin.display(description="last run", ordering="run")
    def run_link(self, obj: RejectedRecord) -> str:
        return admin_link(obj.run)

    @admin.display(description="payload")
    def payload_pretty(self, obj: RejectedRecord) -> str:
        return pretty_json(obj.payload)
