"""Mapping API records to rows: keys where the API sends none, quirks, rejected items."""

from decimal import Decimal

import pytest

from etl.entities import (
    ENTITIES,
    REQUIREMENTS,
    TASKS,
    Lookups,
    parse,
    parse_children,
)
from etl.values import RecordError

LOOKUPS = Lookups(
    region="r1", pks={"properties": {"10": 100}, "reservations": {"20": 200}, "tags": {"7": 70}}
)


def task(**overrides: object) -> dict:
    record = {
        "id": 555,
        "home_id": 10,
        "name": "Turnover clean",
        "type_task_status": {"code": "finished", "name": "Finished", "stage": "finished"},
        "created_at": "2026-03-01T10:00:00",
        "updated_at": "2026-03-02T10:00:00+00:00",
        "rate_paid": "120.00 USD",
        "linked_reservation": {"id": 20, "external_reservation_id": "HM123"},
        "assignments": [{"assignee_id": 9, "name": "Ana", "status": "accepted"}],
        "photos": [{"id": 1, "url": "https://x/1.jpg"}],
        "task_tags": [{"id": 7}],
        "supplies": [],
        "costs": [],
    }
    record.update(overrides)
    return record


def test_a_task_resolves_its_property_reservation_and_status() -> None:
    parsed = parse(TASKS, task(), LOOKUPS)
    row = parsed.row
    assert row["task_id"] == "555" and row["region_id"] == "r1"
    assert row["property_id"] == 100 and row["reservation_id"] == 200
    assert row["task_status_code"] == "finished" and row["rate_paid"] == Decimal("120.00")
    assert row["created_at"].utcoffset().total_seconds() == 0
    assert parsed.children["assignments"][0]["assignee_key"] == "9"
    assert parsed.children["tags"] == [{"tag_id": 70, "region_id": "r1"}]
    assert parsed.rejected == []


def test_null_nested_objects_are_empty_not_errors() -> None:
    record = task(
        type_task_status=None,
        template=None,
        created_by=None,
        summary=None,
        linked_reservation=None,
        subdepartment=None,
    )
    row = parse(TASKS, record, LOOKUPS).row
    assert row["task_status_code"] is None and row["reservation_id"] is None
    assert row["created_by_name"] is None and row["summary_note"] is None


def test_long_texts_and_big_money_fit() -> None:
    row = parse(TASKS, task(name="n" * 600, total_cost=123456789.99), LOOKUPS).row
    assert len(row["task_name"]) == 600 and row["total_cost"] == Decimal("123456789.99")


def test_a_value_too_long_for_its_column_rejects_the_record() -> None:
    with pytest.raises(RecordError, match="type_department"):
        parse(TASKS, task(type_department="x" * 65), LOOKUPS)


def test_records_without_a_usable_id_are_rejected() -> None:
    for bad in ({"name": "no id"}, {"id": None}, {"id": {"x": 1}}, ["not", "an", "object"]):
        with pytest.raises(RecordError):
            parse(ENTITIES["supplies"], bad, LOOKUPS)


def test_an_unknown_tag_rejects_the_item_not_the_task() -> None:
    parsed = parse(TASKS, task(task_tags=[{"id": 7}, {"id": 8}]), LOOKUPS)
    assert parsed.children["tags"] == [{"tag_id": 70, "region_id": "r1"}]
    assert [r.entity for r in parsed.rejected] == ["tasks.tags"]
    assert "8" in parsed.rejected[0].reason


def test_supplies_and_costs_without_ids_get_derived_keys() -> None:
    supplies = [
        {"id": None, "supply_id": 3, "name": "Soap", "quantity": 2},
        {"id": None, "supply_id": 3, "name": "Soap", "quantity": 2},  # a second, identical line
        {"id": 41, "supply_id": 4, "name": "Towel", "quantity": 1},
    ]
    costs = [{"id": None, "cost": 10, "created_at": "2026-01-01T00:00:00+00:00"}]
    parsed = parse(TASKS, task(supplies=supplies, costs=costs), LOOKUPS)
    keys = [row["usage_key"] for row in parsed.children["supplies"]]
    assert keys[0].endswith(":0") and keys[1].endswith(":1") and keys[0][:-2] == keys[1][:-2]
    assert keys[2] == "41"
    assert parsed.children["costs"][0]["cost_key"].startswith("h:")


def test_requirements_without_id_keep_identical_lines_apart() -> None:
    line = {"section_name": "Kitchen", "action": ["Wipe"], "response": "check"}
    rows, rejected = parse_children(REQUIREMENTS, [line, dict(line), {**line, "id": 5}], LOOKUPS)
    keys = [row["requirement_key"] for row in rows]
    assert keys[0].endswith(":0") and keys[1].endswith(":1") and keys[2] == "5"
    assert rejected == []


def test_guests_without_id_are_keyed_by_email_then_name() -> None:
    record = {
        "id": 20,
        "property_id": 10,
        "guests": [
            {
                "first_name": "Ana",
                "last_name": "Lima",
                "emails": [" Ana@X.com "],
                "phone_numbers": ["1", "2"],
            },
            {"first_name": "Bo", "last_name": "", "emails": [], "phone_numbers": []},
            {"first_name": "", "last_name": "", "emails": [], "phone_numbers": []},
        ],
    }
    parsed = parse(ENTITIES["reservations"], record, LOOKUPS)
    guests = parsed.children["guests"]
    assert [g["guest_key"] for g in guests] == ["ana@x.com", "bo", ""]
    assert guests[0]["guest_phone_numbers"] == ["1", "2"] and guests[0]["guest_phone"] == "1"
    assert parsed.row["property_id"] == 100 and parsed.row["breezeway_property_id"] == "10"


def test_property_photos_and_notes() -> None:
    record = {
        "id": 10,
        "name": "Sea view",
        "notes": {},
        "latitude": "45.1",
        "photos": [{"id": 1, "url": "u", "default": True}, {"url": "only-url"}, {"caption": "x"}],
    }
    parsed = parse(ENTITIES["properties"], record, LOOKUPS)
    photos = parsed.children["photos"]
    assert photos[0]["photo_key"] == "1" and photos[1]["photo_key"].startswith("url:")
    assert len(parsed.rejected) == 1 and "neither an id nor a URL" in parsed.rejected[0].reason
    assert parsed.row["property_notes_general"] is None
