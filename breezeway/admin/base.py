"""Shared admin pieces: the base of every admin, read-only bases for the mirrored data, links."""

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db.models import DateTimeField, Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from breezeway.admin.display import DETAIL_FORMAT, EMPTY, unique, with_time_zones
from breezeway.admin.paging import EXACT_COUNT_BELOW, EstimatedCountPaginator, capped_count
from breezeway.admin.schema import absent_tables, missing_table_notice


def admin_link(obj: Model | None, text: object = None) -> str:
    """A link to the object's admin page (its str unless `text`), or "-" for None."""
    if obj is None:
        return EMPTY
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)


def changelist_url(model: type[Model], **params: object) -> str:
    """The model's changelist URL, filtered by `params` (e.g. task__id__exact=7)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def changelist_link(model: type[Model], text: object, **params: object) -> str:
    """A link to the model's changelist, filtered by `params` (e.g. task__id__exact=7)."""
    return format_html('<a href="{}">{}</a>', changelist_url(model, **params), text)


def external_link(url: str | None, text: str | None = "open") -> str:
    """A link to a URL the API sent (its own text if `text` is None); only http(s), so a
    javascript: URL never becomes a link."""
    if not url:
        return EMPTY
    if not url.lower().startswith(("https://", "http://")):
        return url
    return format_html(
        '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>',
        url,
        url if text is None else text,
    )


def pretty_json(value: Any) -> str:
    """JSON indented in a <pre>, HTML-escaped (payloads come from outside)."""
    # Sorted: jsonb has already lost the API's key order, alphabetical reads better than its own.
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="readable-json">{}</pre>', text)


class SortableOnlyChangeList(ChangeList):
    """A changelist whose `?o=` sorts only by the admin's sortable columns.

    Django hides the sort links of other columns but still honours a hand-written index: on a
    big child table that sorted every row by an unindexed column (386 ms against 51 ms at
    241 K rows). Such indexes are dropped; with none left the default ordering applies.
    """

    def get_ordering(self, request: HttpRequest, queryset: QuerySet) -> list:
        requested = self.params.get(ORDER_VAR)
        if requested:
            kept = [part for part in requested.split(".") if self.is_sortable(part)]
            if kept:
                self.params[ORDER_VAR] = ".".join(kept)
            else:
                del self.params[ORDER_VAR]  # the header then shows no column as sorted either
        return super().get_ordering(request, queryset)

    def is_sortable(self, part: str) -> bool:
        try:
            index = int(part.rpartition("-")[2])
            column = self.list_display[index]
        except (ValueError, IndexError):
            return False
        return self.sortable_by is None or column in self.sortable_by


class ReadableFields:
    """Read-only fields as staff read them, for ModelAdmin and InlineModelAdmin alike.

    - Datetimes name their time zone ("2026-12-04 16:07:31 UTC"); an editable one keeps its
      form field.
    - `shown_as` maps a model field to the admin method shown in its place (a JSON list as
      text, a quantity without padding, a URL as a link).
    """

    shown_as: dict[str, str] = {}

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list:
        names = list(super().get_readonly_fields(request, obj))
        if not self.has_change_permission(request, obj):
            # Everything is shown read-only: every datetime field is (or may be) on the page.
            names += [
                field.name
                for field in self.model._meta.concrete_fields
                if isinstance(field, DateTimeField)
            ]
        names = [self.shown_as.get(n, n) if isinstance(n, str) else n for n in names]
        names += self.shown_as.values()
        return unique(with_time_zones(self.model, names, DETAIL_FORMAT))

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list:
        readonly = set(self.get_readonly_fields(request, obj))
        fields = []
        for name in super().get_fields(request, obj):
            if isinstance(name, str):
                name = self.shown_as.get(name, name)
            shown = with_time_zones(self.model, [name], DETAIL_FORMAT)[0]
            fields.append(shown if shown in readonly else name)
        return unique(fields)


class AdminBase(ReadableFields, admin.ModelAdmin):
    """The base of every admin of the project.

    - `?o=` sorts by sortable columns only (SortableOnlyChangeList).
    - Datetimes show their time zone.
    - A page whose table this database lacks (a legacy database not migrated yet) says which
      migration creates it instead of failing; tables the page can do without
      (`optional_models`, the inlines') are left out with a notice.
    """

    # Models whose tables the pages read when they exist (besides the inlines').
    optional_models: tuple[type[Model], ...] = ()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SortableOnlyChangeList

    def get_list_display(self, request: HttpRequest) -> list:
        return with_time_zones(self.model, super().get_list_display(request))

    def get_list_display_links(self, request: HttpRequest, list_display: Any) -> Any:
        links = super().get_list_display_links(request, list_display)
        return links if links is None else with_time_zones(self.model, links)

    def get_sortable_by(self, request: HttpRequest) -> list:
        return with_time_zones(self.model, super().get_sortable_by(request))

    # --- tables this database may lack ---------------------------------------------------

    def absent_tables(self, request: HttpRequest) -> set[str]:
        """The tables of this admin's pages that do not exist (one query per request)."""
        cache = request.__dict__.setdefault("_absent_tables", {})
        if type(self) not in cache:
            models = (self.model, *self.optional_models, *(i.model for i in self.inlines))
            cache[type(self)] = absent_tables(model._meta.db_table for model in models)
        return cache[type(self)]

    def table_exists(self, request: HttpRequest, model: type[Model]) -> bool:
        return model._meta.db_table not in self.absent_tables(request)

    def missing_table_page(self, request: HttpRequest, inlines: bool = True) -> HttpResponse | None:
        """The page telling which migration creates this admin's table, if it is missing;
        else None, after a notice for each table the page leaves out (the inlines' only on
        the pages that show inlines)."""
        table = self.model._meta.db_table
        absent = self.absent_tables(request)
        if table not in absent:
            shown = [*self.optional_models, *(i.model for i in self.inlines if inlines)]
            for model in shown:
                if model._meta.db_table in absent:
                    self.message_user(
                        request,
                        f"Not shown: {missing_table_notice(model._meta.db_table)}",
                        messages.WARNING,
                    )
            return None
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": opts.verbose_name_plural.capitalize(),
            "opts": opts,
            "app_label": opts.app_label,
            "notice": missing_table_notice(table),
        }
        return TemplateResponse(request, "admin/breezeway/missing_table.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        page = self.missing_table_page(request, inlines=False)
        return page or super().changelist_view(request, extra_context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        page = self.missing_table_page(request)
        return page or super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        page = self.missing_table_page(request, inlines=False)
        return page or super().history_view(request, object_id, extra_context)

    def get_inline_instances(self, request: HttpRequest, obj: Model | None = None) -> list:
        # A database adopted but not remediated yet lacks the tables later migrations add
        # (task supplies and costs): show the children it has rather than fail.
        inlines = super().get_inline_instances(request, obj)
        return [inline for inline in inlines if self.table_exists(request, inline.model)]


class ReadOnlyAdmin(AdminBase):
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

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list:
        # Non-editable bookkeeping (content_hash, listed, ...) is left out of forms: list it
        # here so the change page still shows it.
        fields = list(super().get_readonly_fields(request, obj))
        for field in self.model._meta.concrete_fields:
            if not field.editable and not field.primary_key:
                fields.append(field.name)
        return unique(with_time_zones(self.model, fields, DETAIL_FORMAT))


class RegionColumn:
    """A `region_code` column for models with a region foreign key."""

    @admin.display(description="region", ordering="region_id")
    def region_code(self, obj: Model) -> str:
        # The code is the foreign key's value: no join, no query.
        return obj.region_id


class MirrorAdmin(RegionColumn, ReadOnlyAdmin):
    """A table of the mirrored Breezeway data: every one is scoped by its region."""

    # The region choices come from the small regions table (RelatedFieldListFilter), never
    # from a DISTINCT over the big one.
    list_filter: tuple = ("region",)

    @admin.display(boolean=True, description="deleted", ordering="deleted_at")
    def deleted(self, obj: Model) -> bool:
        return obj.deleted_at is not None


# Children shown on a parent's page; the rest are in the child changelist, filtered by parent.
INLINE_ROWS = 50
# Children are counted up to this many (a LIMITed subquery on the parent's index); beyond it,
# the planner's estimate stands in, so a parent with 50,000 photo copies costs no more.
INLINE_COUNT_CAP = EXACT_COUNT_BELOW


class FirstRowsFormSet(BaseInlineFormSet):
    """The parent's first INLINE_ROWS children only: before remediation one property can hold
    50,000 photo copies, and rendering them all took a minute. `more_rows` says how many
    there are in all, and where to see them."""

    def get_queryset(self) -> list:
        if not hasattr(self, "_first_rows"):
            # One row more than shown tells whether there are more, without counting.
            rows = list(super().get_queryset()[: INLINE_ROWS + 1])
            self._has_more = len(rows) > INLINE_ROWS
            self._first_rows = rows[:INLINE_ROWS]
        return self._first_rows

    def more_rows(self) -> dict[str, Any] | None:
        """None when every child is shown; else the shown and total counts ("50 of about
        49,831") and the link to the child changelist filtered by this parent."""
        self.get_queryset()
        if not self._has_more:
            return None
        total, estimated = capped_count(self.queryset, INLINE_COUNT_CAP)
        parent = self.fk.remote_field.model._meta.pk.name
        try:
            url = changelist_url(
                self.model, **{f"{self.fk.name}__{parent}__exact": self.instance.pk}
            )
        except NoReverseMatch:  # the child model has no admin
            url = None
        return {"shown": INLINE_ROWS, "total": total, "estimated": estimated, "url": url}


class ReadOnlyInline(ReadableFields, admin.TabularInline):
    """Child rows shown on their parent, read-only, each linking to its own page; a note under
    the first INLINE_ROWS says how many there are and links to all of them."""

    formset = FirstRowsFormSet
    template = "admin/breezeway/edit_inline/first_rows_tabular.html"
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
