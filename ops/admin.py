"""Admin of alerts: a read-only history, and the open ones at the top of the admin index."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from breezeway.admin.base import ReadOnlyAdmin
from ops.models import Alert

# The index lists the open alerts above the apps (ops/templates/admin/ops/index.html).
admin.site.index_template = "admin/ops/index.html"

RED = "#ba2121"
GREEN = "#2e7d32"


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("open", "open"), ("cleared", "cleared")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("open", "cleared"):
            return queryset.filter(cleared_at__isnull=self.value() == "open")
        return queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("opened_at", "state", "kind", "message", "cleared_at", "notified")
    list_display_links = ("opened_at",)
    list_filter = (StateFilter, "kind", "region_code", "table_name")
    search_fields = ("key", "message")
    ordering = ("-opened_at", "-id")
    sortable_by = ("opened_at", "kind", "cleared_at")
    fields = (
        "key",
        "kind",
        "state",
        "message",
        "region_code",
        "entity",
        "table_name",
        "opened_at",
        "cleared_at",
        "last_checked_at",
        "notified",
    )
    readonly_fields = ("state", "notified")

    @admin.display(description="state")
    def state(self, obj: Alert) -> str:
        if obj.is_open:
            return format_html('<strong style="color: {}">open</strong>', RED)
        return format_html('<span style="color: {}">cleared</span>', GREEN)

    @admin.display(description="notified")
    def notified(self, obj: Alert) -> str:
        """Which notices went out (or had no channel); an unset one is retried each check."""
        told = [
            ("opened by mail", obj.opened_mailed),
            ("opened by webhook", obj.opened_posted),
        ]
        if not obj.is_open:
            told += [
                ("cleared by mail", obj.cleared_mailed),
                ("cleared by webhook", obj.cleared_posted),
            ]
        pending = [name for name, done in told if not done]
        return "pending: " + ", ".join(pending) if pending else "yes"
