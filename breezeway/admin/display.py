"""How values read in the admin: datetimes with their time zone, plain quantities, lists as text."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateTimeField, Model
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

EMPTY = "-"
# Lists: the minute is enough to compare rows; a record's own page shows the second.
LIST_FORMAT = "%Y-%m-%d %H:%M"
DETAIL_FORMAT = "%Y-%m-%d %H:%M:%S"


def datetime_text(value: datetime | None, fmt: str = LIST_FORMAT) -> str:
    """A datetime in the display time zone, naming it: "2026-12-04 16:07 UTC"."""
    if value is None:
        return EMPTY
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local.strftime(fmt)} {local.tzname() or ''}".rstrip()


def quantity_text(value: Decimal | None) -> str:
    """A quantity without its column's padding: 2 and 2.5, not 2.0000 and 2.5000."""
    if value is None:
        return EMPTY
    # The "f" format: normalize() alone would print 20 as 2E+1.
    return f"{value.normalize():f}"


def list_text(value: Any) -> str:
    """A JSON list of labels as text ("Clean, Check"); objects by their name or label."""
    if value is None or value == []:
        return EMPTY
    if not isinstance(value, list):
        return str(value)
    labels = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name") or item.get("label") or item.get("code") or item
        labels.append(str(item))
    return ", ".join(labels)


class TimeZoneDateTime:
    """A datetime column or read-only field shown with its time zone.

    It stands in for the field's name in list_display and read-only fields: the admin takes it
    for a callable with a description and an ordering, and its str is the field's name (used
    in CSS classes), so the page looks as it did, plus the zone.
    """

    # The admin templates must not call it: it takes the row.
    do_not_call_in_templates = True

    def __init__(self, field: DateTimeField, fmt: str) -> None:
        self.field_name = field.name
        self.__name__ = field.name
        self.short_description = field.verbose_name
        self.admin_order_field = field.name
        self.fmt = fmt

    def __call__(self, obj: Model) -> SafeString | str:
        value = getattr(obj, self.field_name)
        if value is None:
            return EMPTY  # a change page would print None
        return format_html('<span class="nowrap">{}</span>', datetime_text(value, self.fmt))

    def __str__(self) -> str:
        return self.field_name

    def __repr__(self) -> str:
        return f"<TimeZoneDateTime {self.field_name}>"


_columns: dict[tuple[type[Model], str, str], TimeZoneDateTime] = {}


def with_time_zones(model: type[Model], names: Iterable[Any], fmt: str = LIST_FORMAT) -> list:
    """`names` with each datetime field's name replaced by its TimeZoneDateTime (one object per
    model, field and format, so the admin's comparisons by identity keep working)."""
    result = []
    for name in names:
        if isinstance(name, str):
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:  # a method or a property of the admin or the model
                field = None
            if isinstance(field, DateTimeField):
                key = (model, name, fmt)
                name = _columns.setdefault(key, TimeZoneDateTime(field, fmt))
        result.append(name)
    return result


def unique(items: Sequence[Any]) -> list:
    """The items once each, in order."""
    seen: set = set()
    return [item for item in items if not (item in seen or seen.add(item))]
