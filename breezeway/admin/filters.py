"""List filters that stay cheap on big tables: deleted yes/no, and a column's values."""

from typing import Any

from django.contrib import admin
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from breezeway.admin.paging import table_statistics


class DeletedFilter(admin.SimpleListFilter):
    """Soft-deleted parents (deleted_at set) stay visible; this tells them apart."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(deleted_at__isnull=self.value() == "no")
        return queryset


def column_values(model: type[Model], field_name: str, using: str = "default") -> list[str]:
    """The values of a low-cardinality column, without reading a big table.

    A small table answers SELECT DISTINCT. A big one would need a full scan for that (the
    columns are not indexed), so its most common values from the planner's statistics
    (pg_stats, filled by ANALYZE) stand in: status-like columns have few values, all of them
    common enough to be there.
    """
    stats = table_statistics(model, using)
    if stats is None or stats.small:
        values = (
            model._default_manager.using(using)
            .exclude(**{f"{field_name}__isnull": True})
            .order_by(field_name)
            .values_list(field_name, flat=True)
            .distinct()
        )
        return list(values)
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text::text[] FROM pg_stats"
            " WHERE schemaname = current_schema() AND tablename = %s AND attname = %s",
            [model._meta.db_table, model._meta.get_field(field_name).column],
        )
        row = cursor.fetchone()
    return sorted(row[0]) if row and row[0] else []


class ColumnValuesFilter(admin.SimpleListFilter):
    """Filter on one column's values (see column_values for where the choices come from)."""

    field_name = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in column_values(model_admin.model, self.field_name)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.field_name: self.value()})


def values_filter(field_name: str, title: str) -> type[ColumnValuesFilter]:
    """A ColumnValuesFilter class for one column (list_filter takes classes)."""
    name = "".join(part.title() for part in field_name.split("_")) + "Filter"
    attrs = {"field_name": field_name, "title": title, "parameter_name": field_name}
    return type(name, (ColumnValuesFilter,), attrs)
