"""API value conversions: the quirks of reference §3.2 and §14.5, and clear errors."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from etl import values as v
from etl.values import (
    JSON_DEPTH,
    PAYLOAD_DEPTH,
    PAYLOAD_TEXT,
    RecordError,
    decimal,
    json_value,
    kept_payload,
    storable,
    suspect,
    timestamp,
)


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


def test_storable_removes_what_postgresql_refuses_and_says_where() -> None:
    value = {"id": 7, "name": "a\x00b", "k\x00": ["\ud800x", float("nan")], "n": 1.5}
    cleaned, notes = storable(value, "results[0]")
    assert cleaned == {"id": 7, "name": "ab", "k": ["\ufffdx", None], "n": 1.5}
    assert len(notes) == 4
    assert notes[0] == "results[0](id '7').name: 1 NUL character(s) removed"
    assert storable({"fine": ["ü", 1, None, True]}) == ({"fine": ["ü", 1, None, True]}, [])


def test_suspect_finds_every_marker_and_passes_plain_pages() -> None:
    assert not suspect(b'{"results": [{"id": 1, "name": "Blue Cottage"}]}')
    for body in (b'"\\u0000"', b'"\\udfff"', b'"\\uD800"', b"[NaN]", b"[-Infinity]", b'"\x00"'):
        assert suspect(body), body


def test_kept_payload_escapes_and_bounds_without_dropping() -> None:
    deep: list = ["end"]
    for _ in range(100):
        deep = [deep]
    kept = kept_payload({"a\x00": "x\x00y\udc80", "inf": float("inf"), "deep": deep})
    assert kept["a\\u0000"] == "x\\u0000y\\udc80" and kept["inf"] == "inf"
    text = kept["deep"]
    for _ in range(PAYLOAD_DEPTH - 1):
        text = text[0]
    assert isinstance(text, str) and text.endswith('["end"]' + "]" * (100 - PAYLOAD_DEPTH + 1))
    long = kept_payload("x" * (PAYLOAD_TEXT + 5))
    assert long.endswith("… (5 more characters not kept)")


def test_json_value_refuses_absurd_nesting_only() -> None:
    ok: list = [1]
    for _ in range(JSON_DEPTH - 1):
        ok = [ok]
    assert json_value(ok, "f") is ok
    with pytest.raises(RecordError, match="nested more than 32"):
        json_value([ok], "f")
    assert json_value({"a": [1, {"b": 2}]}, "f") == {"a": [1, {"b": 2}]}


def test_out_of_range_numbers_and_times_are_record_errors() -> None:
    with pytest.raises(RecordError, match="too large"):
        decimal(10**400, "cost")
    with pytest.raises(RecordError, match="representable"):
        timestamp("9999-12-31T23:00:00-05:00", "t")
