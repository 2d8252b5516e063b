"""API value conversions: the quirks of reference §3.2 and §14.5, and clear errors."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from etl import values as v
from etl.values import RecordError


def test_offsetless_and_offset_timestamps_are_both_utc() -> None:
    naive = v.timestamp("2026-03-01T10:00:00", "created_at")
    aware = v.timestamp("2026-03-01T10:00:00+00:00", "updated_at")
    shifted = v.timestamp("2026-03-01T12:00:00+02:00", "updated_at")
    assert naive == aware == shifted == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert naive.tzinfo is not None
    assert v.timestamp("2026-03-01T10:00:00Z", "x") == naive
    assert v.timestamp(None, "x") is None and v.timestamp("", "x") is None


@pytest.mark.parametrize("bad", ["yesterday", 1700000000, "2026-13-01T00:00:00"])
def test_bad_timestamps_name_the_field(bad: object) -> None:
    with pytest.raises(RecordError, match="finished_at"):
        v.timestamp(bad, "finished_at")


def test_money_with_currency_and_big_amounts() -> None:
    assert v.money("120.00 USD", "rate_paid") == Decimal("120.00")
    assert v.money("1,234.5 EUR", "rate_paid") == Decimal("1234.50")
    assert v.money(123456789.5, "total_cost") == Decimal("123456789.50")
    assert v.money("123456789.00 USD", "rate_paid") == Decimal("123456789.00")
    assert v.money(None, "x") is None
    with pytest.raises(RecordError, match="too large"):
        v.money(10**17, "cost")
    with pytest.raises(RecordError, match="rate_paid"):
        v.money("a lot", "rate_paid")


def test_coordinates_accept_numbers_and_strings() -> None:
    assert v.coordinate("45.5012345", "latitude") == Decimal("45.5012345")
    assert v.coordinate(-73.56, "longitude") == Decimal("-73.5600000")
    assert v.coordinate("", "latitude") is None
    with pytest.raises(RecordError):
        v.coordinate("north", "latitude")
    with pytest.raises(RecordError):
        v.coordinate(500, "latitude")


def test_times_dates_ids_and_booleans() -> None:
    assert v.clock_time("16:00", "checkin_time") == time(16, 0)
    assert v.clock_time("16:00:30", "checkin_time") == time(16, 0, 30)
    assert v.day("2026-05-01", "checkin_date") == date(2026, 5, 1)
    assert v.ident(12345, "id") == "12345"
    assert v.ident(" 77 ", "id") == "77"
    assert v.ident("", "id") is None
    with pytest.raises(RecordError):
        v.ident(True, "id")
    with pytest.raises(RecordError):
        v.ident({"id": 1}, "id")
    with pytest.raises(RecordError, match="missing"):
        v.required_ident({"id": None})
    assert v.boolean("true", "paused") is True
    with pytest.raises(RecordError):
        v.boolean("yes", "paused")
    with pytest.raises(RecordError):
        v.integer(True, "adults")
    assert v.integer("3", "adults") == 3


def test_nested_objects_may_be_null_but_not_another_type() -> None:
    assert v.nested({"template": None}, "template") == {}
    assert v.nested({}, "template") == {}
    with pytest.raises(RecordError, match="template"):
        v.nested({"template": "x"}, "template")
    assert v.items({"photos": None}, "photos") == []
    with pytest.raises(RecordError):
        v.items({"photos": {}}, "photos")
