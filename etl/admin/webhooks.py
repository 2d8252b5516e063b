"""Admin of the received webhook events: what arrived, what became of it, and "Process again"."""

from datetime import timedelta
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from breezeway.admin.base import EMPTY, ReadOnlyAdmin, RegionColumn, pretty_json
from breezeway.admin.filters import values_filter
from etl.admin.runs import human_duration
from etl.models import WebhookEvent
from etl.webhooks.receive import queue

Status = WebhookEvent.Status
STATUS_COLOURS = {
    Status.PENDING: "#1565c0",  # blue
    Status.PROCESSED: "#2e7d32",  # green
    Status.SUPERSEDED: "#757575",  # grey
    Status.NOT_DELETED: "#757575",
    Status.IGNORED: "#e67e00",  # orange: kept, but nothing handles it
    Status.FAILED: "#ba2121",  # red
}
# The stored bytes of a body that JSON could not hold are shown up to this many.
RAW_BODY_SHOWN = 20_000
# Events "Process again" takes on: a processed event would only be superseded by itself.
REPROCESSABLE = (Status.PENDING, Status.FAILED, Status.IGNORED, Status.NOT_DELETED)


@admin.register(WebhookEvent)
class WebhookEventAdmin(RegionColumn, ReadOnlyAdmin):
    """Every delivery, stored before it was acknowledged; read-only but for "Process again"."""

    list_display = (
        "id",
        "received_at",
        "region_code",
        "kind",
        "event_type",
        "object_id",
        "status_badge",
        "attempts",
        "lag",
        "short_error",
    )
    list_display_links = ("id", "received_at")
    list_filter = (
        "region",
        "kind",
        "status",
        values_filter("event_type", "event type"),
        ("received_at", DateFieldListFilter),
    )
    search_fields = ("object_id__exact", "error")
    search_help_text = "Object id (exact) or error (contains)."
    fields = (
        "region",
        "kind",
        "event_type",
        "object_id",
        "status_badge",
        "received_at",
        "event_at",
        "processed_at",
        "lag",
        "attempts",
        "next_attempt_at",
        "error",
        "digest",
        "outcome_pretty",
        "payload_pretty",
        "raw_body_text",
    )
    readonly_fields = ("status_badge", "lag", "outcome_pretty", "payload_pretty", "raw_body_text")
    actions = ("process_again",)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: WebhookEvent) -> str:
        return format_html(
            '<span class="webhook-status webhook-status-{}" style="color: #fff; background: {};'
            ' padding: 1px 6px; border-radius: 3px">{}</span>',
            obj.status,
            STATUS_COLOURS.get(obj.status, "#757575"),
            obj.get_status_display(),
        )

    @admin.display(description="event to row")
    def lag(self, obj: WebhookEvent) -> str:
        seconds = obj.lag_seconds
        return EMPTY if seconds is None else human_duration(timedelta(seconds=seconds))

    @admin.display(description="error")
    def short_error(self, obj: WebhookEvent) -> str:
        return obj.error if len(obj.error) <= 100 else obj.error[:99] + "…"

    @admin.display(description="outcome")
    def outcome_pretty(self, obj: WebhookEvent) -> str:
        return pretty_json(obj.outcome)

    @admin.display(description="payload (as received)")
    def payload_pretty(self, obj: WebhookEvent) -> str:
        return pretty_json(obj.payload)

    @admin.display(description="raw body")
    def raw_body_text(self, obj: WebhookEvent) -> str:
        """The bytes JSON could not hold (NUL, invalid UTF-8, not JSON), escaped; else none."""
        if obj.raw_body is None:
            return "not kept: the payload above holds the body exactly"
        body = bytes(obj.raw_body)
        shown = body[:RAW_BODY_SHOWN].decode("utf-8", errors="backslashreplace")
        shown = shown.replace("\x00", "\\x00")
        more = f"\n… {len(body) - RAW_BODY_SHOWN} more bytes" if len(body) > RAW_BODY_SHOWN else ""
        return format_html('<pre class="webhook-raw-body">{}{}</pre>', shown, more)

    def has_process_permission(self, request: HttpRequest) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Process again", permissions=["process"])
    def process_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Queue the selected events again (pending from now), as if just received."""
        chosen = list(queryset.values_list("pk", "status"))
        ids = [pk for pk, status in chosen if status in REPROCESSABLE]
        skipped = len(chosen) - len(ids)
        # Back to pending first, so the task (which only takes pending events) applies them;
        # attempts are kept: they tell how often it has been tried.
        WebhookEvent.objects.filter(pk__in=ids).update(
            status=Status.PENDING, error="", next_attempt_at=None, processed_at=None
        )
        for pk in ids:
            transaction.on_commit(partial(queue, pk))  # after the update is visible
        if ids:
            self.message_user(
                request,
                f"Queued {len(ids)} event(s) for processing; their status shows the outcome.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"Left {skipped} processed or superseded event(s) alone: applying them again"
                " would change nothing.",
                messages.WARNING,
            )
