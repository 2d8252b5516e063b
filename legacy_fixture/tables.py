"""The legacy tables: their columns (reference/legacy-schema.sql) and the part each plays."""

from collections.abc import Callable
from functools import cache
from operator import itemgetter
from typing import Any

from legacy_fixture.plan import SEED_FIGURES

# Every legacy table's columns, in the order they are written. The builders' rows are dicts
# keyed by these names; the writers put the values in this order and refuse a row whose keys
# differ (tests/legacy_fixture checks these lists against legacy-schema.sql).
LEGACY_COLUMNS: dict[str, tuple[str, ...]] = {
    "regions": (
        "region_code", "region_name", "company_id", "is_active", "created_at", "updated_at",
    ),
    "properties": (
        "id", "region_code", "property_id", "company_id", "property_name", "property_status",
        "property_display", "property_address1", "property_address2", "property_city",
        "property_state", "property_zipcode", "property_country", "property_building",
        "latitude_numeric", "longitude_numeric", "reference_company_id",
        "reference_property_id", "reference_external_property_id", "wifi_name",
        "wifi_password", "property_notes_general", "property_notes_access",
        "property_notes_guest_access", "property_notes_direction", "property_notes_trash_info",
        "property_notes_wifi", "created_at", "updated_at", "last_sync_time",
    ),
    "reservations": (
        "id", "region_code", "reservation_id", "property_id", "property_pk",
        "reservation_status", "access_code", "checkin_date", "checkin_time", "checkin_early",
        "checkout_date", "checkout_time", "checkout_late", "reservation_note", "guide_url",
        "reference_reservation_id", "reference_property_id", "reference_external_property_id",
        "adults", "children", "pets", "source", "created_at", "updated_at", "last_sync_time",
    ),
    "tasks": (
        "id", "region_code", "task_id", "home_id", "property_pk", "reservation_pk",
        "task_name", "task_description", "task_status", "task_status_code",
        "task_status_name", "task_status_stage", "type_department", "type_priority",
        "scheduled_date", "scheduled_time", "started_at", "finished_at", "paused",
        "template_task_id", "template_name", "report_url", "reference_property_id", "bill_to",
        "rate_type", "rate_paid", "total_cost", "total_time", "estimated_time",
        "estimated_rate", "billable", "itemized_cost", "task_series_id", "parent_task_id",
        "created_by_id", "created_by_name", "finished_by_id", "finished_by_name",
        "requested_by_id", "requested_by_name", "subdepartment_id", "subdepartment_name",
        "summary_note", "linked_reservation_id", "linked_reservation_external_id",
        "created_at", "updated_at", "last_sync_time",
    ),
    "tags": ("id", "region_code", "tag_id", "tag_name", "tag_description", "last_sync_time"),
    "people": (
        "id", "region_code", "person_id", "person_name", "active", "accept_decline_tasks",
        "availability", "last_sync_time",
    ),
    "supplies": (
        "id", "region_code", "supply_id", "company_id", "supply_name", "description", "size",
        "internal_id", "unit_cost", "stock_count", "low_stock_alert", "low_stock_count",
        "supply_category_id", "stock_status_code", "stock_status_name", "created_at",
        "updated_at", "last_sync_time",
    ),
    "property_photos": (
        "id", "property_pk", "region_code", "photo_id", "url", "original_url", "caption",
        "is_default", "last_sync_time",
    ),
    "reservation_guests": (
        "id", "reservation_pk", "region_code", "guest_name", "guest_email", "guest_phone",
        "last_sync_time",
    ),
    "task_assignments": (
        "id", "task_pk", "region_code", "assignee_id", "assignee_name", "assignment_status",
        "last_sync_time",
    ),
    "task_photos": (
        "id", "task_pk", "region_code", "photo_id", "url", "caption", "uploaded_at",
        "last_sync_time",
    ),
    "task_requirements": (
        "id", "task_pk", "region_code", "requirement_id", "section_name", "action", "response",
        "type_requirement", "photo_required", "photos", "note", "home_element_name",
        "last_sync_time",
    ),
    "task_tags": ("id", "task_pk", "tag_pk", "region_code", "last_sync_time"),
    "task_comments": (
        "id", "task_pk", "region_code", "comment_id", "comment", "author_id", "author_name",
        "created_at", "updated_at", "last_sync_time",
    ),
}  # fmt: skip
PARENT_TABLES = ("regions", "properties", "reservations", "tasks", "tags", "people", "supplies")
CHILD_TABLES = tuple(SEED_FIGURES)
# Children first: the order in which the tables can be emptied.
ALL_TABLES = (*CHILD_TABLES, "task_comments", *reversed(PARENT_TABLES))
# The tables the incident duplicated (no natural-key constraint in the legacy schema).
DUPLICATED_TABLES = tuple(t for t in CHILD_TABLES if t != "task_tags")

PARENT_COLUMN = {
    "property_photos": "property_pk",
    "reservation_guests": "reservation_pk",
    "task_assignments": "task_pk",
    "task_photos": "task_pk",
    "task_requirements": "task_pk",
    "task_tags": "task_pk",
}
# Columns whose value changes at some run in a divergent group (the key stays the same).
DIVERGENT_COLUMNS = {
    "property_photos": ("url", "original_url", "caption"),
    "reservation_guests": ("guest_name", "guest_email", "guest_phone"),
    "task_assignments": ("assignment_status",),
    "task_photos": ("caption",),
    "task_requirements": ("response", "note"),
    "task_tags": (),
}
# PostgreSQL types of the value columns, for the staging tables.
STAGING_TYPES = {
    "action": "jsonb",
    "photos": "jsonb",
    "is_default": "boolean",
    "photo_required": "boolean",
    "uploaded_at": "timestamptz",
    "tag_pk": "bigint",
}
JSON_COLUMNS = frozenset({"action", "photos", "availability"})


def value_columns(table: str) -> tuple[str, ...]:
    """A child table's columns whose values a slot holds: all but id, parent, region, sync time.

    The id and the sync time depend on the loader's run; parent and region are the slot's own.
    """
    apart = {"id", PARENT_COLUMN[table], "region_code", "last_sync_time"}
    return tuple(c for c in LEGACY_COLUMNS[table] if c not in apart)


@cache
def _getter(table: str) -> Callable[[dict], tuple]:
    return itemgetter(*LEGACY_COLUMNS[table])


def ordered(table: str, row: dict[str, Any]) -> tuple:
    """The row's values in the table's column order; a row with other keys is refused."""
    try:
        values = _getter(table)(row)
    except KeyError as exc:
        raise RuntimeError(f"{table}: a row without its column {exc}") from None
    if len(row) != len(values):
        extra = sorted(set(row) - set(LEGACY_COLUMNS[table]))
        raise RuntimeError(f"{table}: a row with columns the table does not have: {extra}")
    return values
