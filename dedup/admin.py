"""The duplicate statistics dashboard: stored snapshots per table, history, and "scan now"."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dedup.figures import human_bytes, totals
from dedup.models import ArchivedRow, DuplicateSnapshot

HISTORY = 20  # snapshots per table in the history chart


def history_chart(
    points: list[DuplicateSnapshot], width: int = 160, height: int = 36
) -> SafeString:
    """A small SVG of rows (grey) and duplicates (red) over the table's last snapshots."""
    if len(points) < 2:
        return format_html('<span class="quiet">{}</span>', "one snapshot")
    points = sorted(points, key=lambda s: s.measured_at)
    top = max(max(s.rows for s in points), 1)
    step = width / (len(points) - 1)

    def line(values: list[int]) -> str:
        return " ".join(
            f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}"
            for i, v in enumerate(values)
        )

    return format_html(
        '<svg class="dedup-history" width="{}" height="{}" viewBox="0 0 {} {}" role="img">'
        "<title>{}</title>"
        '<polyline fill="none" stroke="#888" stroke-width="1.5" points="{}"/>'
        '<polyline fill="none" stroke="#ba2121" stroke-width="1.5" points="{}"/></svg>',
        width,
        height,
        width,
        height,
        f"rows (grey) and duplicates (red), last {len(points)} snapshots",
        line([s.rows for s in points]),
        line([s.duplicates for s in points]),
    )


class ReadOnly:
    """Records the app writes itself: staff look, nobody edits."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DuplicateSnapshot)
class DuplicateStatisticsAdmin(ReadOnly, admin.ModelAdmin):
    """Its changelist is the dashboard: the latest snapshot of each table, never a live count."""

    def get_urls(self) -> list:
        scan = path(
            "scan/",
            self.admin_site.admin_view(self.scan_now),
            name="dedup_duplicatesnapshot_scan",
        )
        return [scan, *super().get_urls()]

    def scan_now(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        from dedup.tasks import take_snapshot

        take_snapshot.delay()  # in-process when no broker is configured
        self.message_user(
            request,
            "A duplicate scan was queued; its figures appear here when it ends.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:dedup_duplicatesnapshot_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        newest = DuplicateSnapshot.objects.filter(table_name=OuterRef("table_name")).order_by(
            "-measured_at", "-id"
        )
        latest = list(
            DuplicateSnapshot.objects.filter(pk=Subquery(newest.values("pk")[:1])).order_by(
                "table_name"
            )
        )
        history: dict[str, list[DuplicateSnapshot]] = {}
        recent = DuplicateSnapshot.objects.annotate(
            n=Window(RowNumber(), partition_by=[F("table_name")], order_by=F("measured_at").desc())
        ).filter(n__lte=HISTORY)
        for snapshot in recent:
            history.setdefault(snapshot.table_name, []).append(snapshot)
        tables = [
            {
                "snapshot": s,
                "size": human_bytes(s.table_bytes),
                "wasted": human_bytes(s.wasted_bytes),
                "chart": history_chart(history.get(s.table_name, [])),
            }
            for s in latest
        ]
        total = totals(latest)
        context = {
            **self.admin_site.each_context(request),
            "title": "Duplicate statistics",
            "opts": self.model._meta,
            "tables": tables,
            "flagged": [s.table_name for s in latest if not s.healthy],
            "total": {
                **total,
                "size": human_bytes(total["table_bytes"]),
                "wasted": human_bytes(
                    None
                    if total["table_bytes"] is None
                    else total["table_bytes"] - total["unique_bytes_estimate"]
                ),
            },
            "measured_at": max((s.measured_at for s in latest), default=None),
            "scan_url": reverse("admin:dedup_duplicatesnapshot_scan"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/dedup/duplicate_dashboard.html", context)


@admin.register(ArchivedRow)
class ArchivedRowAdmin(ReadOnly, admin.ModelAdmin):
    """Rows the remediation removed although they differed from the kept one (read-only)."""

    list_display = ("id", "table_name", "kept_row_id", "copies", "archived_at", "restored_at")
    list_filter = ("table_name",)
    show_full_result_count = False
