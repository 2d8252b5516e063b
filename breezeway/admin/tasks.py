"""Admin of tasks and their child records (assignments, photos, requirements, tags, ...)."""

from typing import Any

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from breezeway.admin.base import EMPTY, MirrorAdmin, ReadOnlyInline, admin_link, external_link
from breezeway.admin.display import list_text, quantity_text
from breezeway.admin.filters import DeletedFilter, column_values, values_filter
from breezeway.admin.paging import table_statistics
from breezeway.models import (
    Task,
    TaskAssignment,
    TaskComment,
    TaskCost,
    TaskPhoto,
    TaskRequirement,
    TaskSupply,
    TaskTag,
)

ASSIGNMENT_FIELDS = ("assignee_id", "assignee_name", "assignment_status", "last_sync_time")
PHOTO_FIELDS = ("photo_id", "caption", "photo", "uploaded_at", "last_sync_time")
REQUIREMENT_FIELDS = (
    "section_name",
    "home_element_name",
    "action",
    "response",
    "type_requirement",
    "photo_required",
    "note",
)
COMMENT_FIELDS = ("comment_id", "author_name", "comment", "created_at")
SUPPLY_FIELDS = ("supply_id", "name", "quantity", "unit_cost", "total_price", "billable")
COST_FIELDS = ("cost_id", "type_cost_name", "description", "cost", "bill_to")


class PhotoLink:
    @admin.display(description="url")
    def photo(self, obj: TaskPhoto) -> str:
        return external_link(obj.url)


class ReadableRequirement:
    # The API sends a requirement's action as a list of labels: ["Clean", "Check"].
    shown_as = {"action": "action_labels"}

    @admin.display(description="action")
    def action_labels(self, obj: TaskRequirement) -> str:
        return list_text(obj.action)


class ReadableSupply:
    # numeric(18,4) columns: a quantity of 2 reads "2", not "2.0000".
    shown_as = {"quantity": "quantity_shown", "markup_rate": "markup_rate_shown"}

    @admin.display(description="quantity", ordering="quantity")
    def quantity_shown(self, obj: TaskSupply) -> str:
        return quantity_text(obj.quantity)

    @admin.display(description="markup rate")
    def markup_rate_shown(self, obj: TaskSupply) -> str:
        return quantity_text(obj.markup_rate)


def status_choices() -> list[tuple[str, str]]:
    """The task statuses to filter on: the sync's status codes (by name where that is cheap to
    know), then legacy `task_status` values that are not codes."""
    stats = table_statistics(Task)
    names: dict[str, str] = {}
    legacy: set[str] = set()
    if stats is None or stats.small:
        triples = (
            Task.objects.filter(Q(task_status_code__isnull=False) | Q(task_status__isnull=False))
            .order_by("task_status_code", "task_status_name", "task_status")
            .values_list("task_status_code", "task_status_name", "task_status")
            .distinct()
        )
        for code, name, old in triples:
            if code is not None:
                names.setdefault(code, name or code)
            elif old is not None:
                legacy.add(old)
    else:
        # A big table: values from the planner's statistics; names would need a scan.
        names = {code: code for code in column_values(Task, "task_status_code")}
        legacy = set(column_values(Task, "task_status"))
    old_only = sorted(legacy - set(names))
    return [*names.items(), *((value, f"{value} (legacy)") for value in old_only)]


class TaskStatusFilter(admin.SimpleListFilter):
    """The status the sync stores (the API's type_task_status code); a task the old loader
    stored without one is matched by its legacy status."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return status_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(
            Q(task_status_code=value) | Q(task_status_code__isnull=True, task_status=value)
        )


class TaskAssignmentInline(ReadOnlyInline):
    model = TaskAssignment
    fields = ASSIGNMENT_FIELDS


class TaskPhotoInline(PhotoLink, ReadOnlyInline):
    model = TaskPhoto
    fields = PHOTO_FIELDS
    readonly_fields = ("photo",)


class TaskRequirementInline(ReadableRequirement, ReadOnlyInline):
    model = TaskRequirement
    fields = REQUIREMENT_FIELDS


class TaskTagInline(ReadOnlyInline):
    model = TaskTag
    fields = ("tag", "last_sync_time")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("tag")  # one query, not one a row


class TaskCommentInline(ReadOnlyInline):
    model = TaskComment
    fields = COMMENT_FIELDS


class TaskSupplyInline(ReadableSupply, ReadOnlyInline):
    model = TaskSupply
    fields = SUPPLY_FIELDS


class TaskCostInline(ReadOnlyInline):
    model = TaskCost
    fields = COST_FIELDS


@admin.register(Task)
class TaskAdmin(MirrorAdmin):
    list_display = (
        "task_id",
        "task_name",
        "region_code",
        "property_link",
        "reservation_link",
        "status",
        "scheduled_date",
        "type_department",
        "listed",
        "deleted",
    )
    list_display_links = ("task_id", "task_name")
    list_select_related = ("property", "reservation")
    list_filter = (
        "region",
        DeletedFilter,
        TaskStatusFilter,
        values_filter("type_department", "department"),
        ("scheduled_date", DateFieldListFilter),
        "listed",
    )
    search_fields = (
        "task_name",
        "task_id__exact",
        "home_id__exact",
        "reference_property_id__exact",
    )
    search_help_text = "Task name (contains), or task id, home id or reference property id (exact)."
    raw_id_fields = ("property", "reservation")
    inlines = (
        TaskAssignmentInline,
        TaskPhotoInline,
        TaskRequirementInline,
        TaskTagInline,
        TaskCommentInline,
        TaskSupplyInline,
        TaskCostInline,
    )

    shown_as = {"report_url": "report_link"}

    @admin.display(description="property", ordering="property")
    def property_link(self, obj: Task) -> str:
        return admin_link(obj.property)

    @admin.display(description="status", ordering="task_status_code")
    def status(self, obj: Task) -> str:
        # The sync stores the API's type_task_status; task_status is the old loader's column,
        # NULL for most synced tasks.
        if obj.task_status_code or obj.task_status_name:
            return format_html(
                '<span class="task-status" title="code {}, stage {}">{}</span>',
                obj.task_status_code or EMPTY,
                obj.task_status_stage or EMPTY,
                obj.task_status_name or obj.task_status_code,
            )
        return obj.task_status or EMPTY

    @admin.display(description="report url")
    def report_link(self, obj: Task) -> str:
        return external_link(obj.report_url, text=None)

    @admin.display(description="reservation", ordering="reservation")
    def reservation_link(self, obj: Task) -> str:
        return admin_link(obj.reservation)


class TaskChildAdmin(MirrorAdmin):
    """A task's child table: big, so sorted by id only, each row linking to its task."""

    list_select_related = ("task",)
    raw_id_fields = ("task",)
    sortable_by = ("id",)

    @admin.display(description="task")
    def task_link(self, obj: TaskAssignment) -> str:
        return admin_link(obj.task)


@admin.register(TaskAssignment)
class TaskAssignmentAdmin(TaskChildAdmin):
    list_display = ("id", "assignee_name", "assignee_id", "assignment_status", "task_link")
    list_display_links = ("id", "assignee_name")
    search_fields = ("assignee_name", "assignee_id__exact", "task__task_id__exact")
    search_help_text = "Assignee name (contains), or assignee id or task id (exact)."


@admin.register(TaskPhoto)
class TaskPhotoAdmin(PhotoLink, TaskChildAdmin):
    list_display = ("id", "photo_id", "caption", "photo", "task_link")
    search_fields = ("photo_id__exact", "task__task_id__exact", "caption")
    search_help_text = "Photo id or task id (exact), or caption (contains)."
    readonly_fields = ("photo",)


@admin.register(TaskRequirement)
class TaskRequirementAdmin(ReadableRequirement, TaskChildAdmin):
    list_display = ("id", "section_name", "home_element_name", "response", "task_link")
    list_display_links = ("id", "section_name")
    search_fields = ("requirement_id__exact", "task__task_id__exact", "section_name")
    search_help_text = "Requirement id or task id (exact), or section name (contains)."


@admin.register(TaskTag)
class TaskTagAdmin(TaskChildAdmin):
    list_display = ("id", "tag_link", "task_link")
    list_select_related = ("task", "tag")
    raw_id_fields = ("task", "tag")
    search_fields = ("tag__tag_name", "tag__tag_id__exact", "task__task_id__exact")
    search_help_text = "Tag name (contains), or tag id or task id (exact)."

    @admin.display(description="tag")
    def tag_link(self, obj: TaskTag) -> str:
        return admin_link(obj.tag)


@admin.register(TaskComment)
class TaskCommentAdmin(TaskChildAdmin):
    list_display = ("id", "comment_id", "author_name", "created_at", "task_link")
    search_fields = ("comment_id__exact", "task__task_id__exact", "author_name")
    search_help_text = "Comment id or task id (exact), or author name (contains)."


@admin.register(TaskSupply)
class TaskSupplyAdmin(ReadableSupply, TaskChildAdmin):
    list_display = ("id", "name", "supply_id", "quantity_shown", "total_price", "task_link")
    list_display_links = ("id", "name")
    search_fields = ("name", "supply_id__exact", "task__task_id__exact")
    search_help_text = "Supply name (contains), or supply id or task id (exact)."


@admin.register(TaskCost)
class TaskCostAdmin(TaskChildAdmin):
    list_display = ("id", "type_cost_name", "description", "cost", "task_link")
    search_fields = ("cost_id__exact", "task__task_id__exact", "description")
    search_help_text = "Cost id or task id (exact), or description (contains)."
