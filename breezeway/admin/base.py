"""Shared admin pieces: read-only bases for the mirrored data, and links between records."""

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db import connection
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from breezeway.admin.paging import EstimatedCountPaginator

EMPTY = "-"


def admin_link(obj: Model | None, text: object = None) -> str:
    """A link to the object's admin page (its str unless `text`), or "-" for None."""
    if obj is None:
        return EMPTY
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)


def changelist_link(model: type[Model], text: object, **params: object) -> str:
    """A link to the model's changelist, filtered by `params` (e.g. task__id__exact=7)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(params), text)


def external_link(url: str | None, text: str = "open") -> str:
    """A link to a URL the API sent; only http(s), so a javascript: URL never becomes a link."""
    if not url:
        return EMPTY
    if not url.lower().startswith(("https://", "http://")):
        return url
    return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', url, text)


def pretty_json(value: Any) -> str:
    """JSON indented in a <pre>, HTML-escaped (payloads come from outside)."""
    # Sorted: jsonb has already lost the API's key order, alphabetical reads better than its own.
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="readable-json">{}</pre>', text)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff may look, never write: the API (or the sync) owns these rows.

    Big tables page by estimated counts, ordered by the primary key (indexed) newest first.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facets count the rows of every filter choice: a full scan each on a big table.
    show_facets = admin.ShowFacets.NEVER
    ordering = ("-id",)
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        # Non-editable bookkeeping (content_hash, listed, ...) is left out of forms: list it
        # here so the change page still shows it.
        fields = list(super().get_readonly_fields(request, obj))
        for field in self.model._meta.concrete_fields:
            if not field.editable and not field.primary_key and field.name not in fields:
                fields.append(field.name)
        return fields


class RegionColumn:
    """A `region_code` column for models with a region foreign key."""

    @admin.display(description="region", ordering="region_id")
    def region_code(self, obj: Model) -> str:
        # The code is the foreign key's value: no join, no query.
        return obj.region_id


class MirrorAdmin(RegionColumn, ReadOnlyAdmin):
    """A table of the mirrored Breezeway data: every one is scoped by its region."""

    def get_inline_instances(self, request: HttpRequest, obj: Model | None = None) -> list:
        # A database adopted but not remediated yet lacks the tables later migrations add
        # (task supplies and costs): show the children it has rather than fail.
        inlines = super().get_inline_instances(request, obj)
        with connection.cursor() as cursor:
            tables = set(connection.introspection.table_names(cursor))
        return [inline for inline in inlines if inline.model._meta.db_table in tables]

    # The region choices come from the small regions table (RelatedFieldListFilter), never
    # from a DISTINCT over the big one.
    list_filter: tuple = ("region",)

    @admin.display(boolean=True, description="deleted", ordering="deleted_at")
    def deleted(self, obj: Model) -> bool:
        return obj.deleted_at is not None


# Children shown on a parent's page; the rest are in the child changelist, filtered by parent.
INLINE_ROWS = 50


class FirstRowsFormSet(BaseInlineFormSet):
    """The parent's first INLINE_ROWS children only: before remediation one property can hold
    50,000 photo copies, and rendering them all took a minute."""

    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_first_rows"):
            self._first_rows = super().get_queryset()[:INLINE_ROWS]
        return self._first_rows


class ReadOnlyInline(admin.TabularInline):
    """Child rows shown on their parent, read-only, each linking to its own page."""

    formset = FirstRowsFormSet
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
