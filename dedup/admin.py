"""The duplicate statistics dashboard: stored snapshots per table, history, and "scan now"."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Subquery, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from breezeway.admin.base import AdminBase
from dedup.figures import human_bytes, totals
from dedup.models import ArchivedRow, DuplicateSnapshot
from dedup.snapshots import ScanRunning, scan_lock, take_snapshots

HISTORY = 20  # snapshots per table in the history chart


def breakable(name: str) -> SafeString:
    """A long identifier that may wrap after its underscores (and nowhere else)."""
    return format_html_join(mark_safe("_<wbr>"), "{}", ((part,) for part in name.split("_")))


def human_size(size: int | None) -> str:
    """A size whose number and unit never wrap apart ("552.0 kB")."""
    return human_bytes(size).replace(" ", "\N{NO-BREAK SPACE}")


def history_chart(
    points: list[DuplicateSnapshot], width: int = 120, height: int = 36
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
class DuplicateStatisticsAdmin(ReadOnly, AdminBase):
    """Its changelist is the dashboard: the latest snapshot of each table, never a live count."""

    def get_urls(self) -> list:
        scan = path(
            "scan/",
            self.admin_site.admin_view(self.scan_now),
            name="dedup_duplicatesnapshot_scan",
        )
        return [scan, *super().get_urls()]

    def has_scan_permission(self, request: HttpRequest) -> bool:
        """Scanning reads every child table: it takes the change permission of the statistics
        (the viewer group has the view permission only). ReadOnly refuses everyone a change
        of the rows themselves, so the user's own permission is asked."""
        opts = self.model._meta
        codename = get_permission_codename("change", opts)
        return request.user.has_perm(f"{opts.app_label}.{codename}")

    def scan_now(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_scan_permission(request):
            raise PermissionDenied
        dashboard = HttpResponseRedirect(reverse("admin:dedup_duplicatesnapshot_changelist"))
        try:
            with scan_lock():
                if settings.CELERY_TASK_ALWAYS_EAGER:
                    # No broker: the scan runs here and now, under the lock.
                    scanned = len(take_snapshots())
                else:
                    from dedup.tasks import take_snapshot

                    take_snapshot.delay()
                    scanned = None
        except ScanRunning:
            self.message_user(
                request,
                "A duplicate scan is already running; its figures appear here when it ends. "
                "Scan again after that if you need to.",
                messages.WARNING,
            )
            return dashboard
        if scanned is None:
            text = "Scan queued: a worker measures the tables; reload this page when it ends."
        else:
            text = f"Scanned: {scanned} table{'s' if scanned != 1 else ''} (no broker: ran here)."
        self.message_user(request, text, messages.SUCCESS)
        return dashboard

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        page = self.missing_table_page(request)
        if page is not None:
            return page
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
                "size": human_size(s.table_bytes),
                "wasted": human_size(s.wasted_bytes),
                "chart": history_chart(history.get(s.table_name, [])),
                "constraint_name": breakable(s.constraint_name),
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
                "size": human_size(total["table_bytes"]),
                "wasted": human_size(
                    None
                    if total["table_bytes"] is None
                    else total["table_bytes"] - total["unique_bytes_estimate"]
                ),
            },
            "measured_at": max((s.measured_at for s in latest), default=None),
            "scan_url": reverse("admin:dedup_duplicatesnapshot_scan"),
            "can_scan": self.has_scan_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/dedup/duplicate_dashboard.html", context)


@admin.register(ArchivedRow)
class ArchivedRowAdmin(ReadOnly, AdminBase):
    """Rows the remediation removed although they differed from the kept one (read-only)."""

    list_display = ("id", "table_name", "kept_row_id", "copies", "archived_at", "restored_at")
    list_filter = ("table_name",)
    show_full_result_count = False
