"""Query parameters of the list endpoints: validation, filters, sorting and the envelope."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from simulator.timefmt import parse_moment, parse_record_ts
from simulator.world import served

Params = dict[str, list[str]]
Predicate = Callable[[dict], bool]

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
SORT_FIELDS = {"created_at": "_created", "updated_at": "_updated", "id": "id"}
OPERATORS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


class BadRequest(Exception):
    """Answered 400 with the message."""


def first(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def one_int(params: Params, name: str) -> int | None:
    value = first(params, name)
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def int_list(params: Params, name: str) -> list[int] | None:
    """Repeated keys and comma lists both work: ?x=1&x=2 and ?x=1,2 (also x[]=...)."""
    values = params.get(name, []) + params.get(f"{name}[]", [])
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if not items:
        return None
    try:
        return [int(item) for item in items]
    except ValueError:
        raise BadRequest(f"{name} must be integers") from None


def paging(params: Params) -> tuple[int, int, str, bool]:
    """(limit, page, internal sort field, descending)."""
    limit = one_int(params, "limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    page = one_int(params, "page")
    page = 1 if page is None else page
    if page < 1:
        raise BadRequest("page must be 1 or more")
    sort_by = first(params, "sort_by") or "created_at"
    if sort_by not in SORT_FIELDS:
        raise BadRequest(f"sort_by must be one of {', '.join(SORT_FIELDS)}")
    order = (first(params, "sort_order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise BadRequest("sort_order must be asc or desc")
    return limit, page, SORT_FIELDS[sort_by], order == "desc"


def page_number(params: Params) -> int:
    """The page asked for, leniently (for fault matching before validation)."""
    try:
        return max(1, int(first(params, "page") or 1))
    except ValueError:
        return 1


def envelope(records: list[dict], params: Params) -> dict[str, Any]:
    limit, page, field, descending = paging(params)
    # Ties broken by id in the same direction, so the order is total and stable.
    ordered = sorted(records, key=lambda r: (r[field], r["id"]), reverse=descending)
    chunk = ordered[(page - 1) * limit : page * limit]
    return {
        "limit": limit,
        "page": page,
        "total_pages": math.ceil(len(ordered) / limit),
        "total_results": len(ordered),
        "results": [served(r) for r in chunk],
    }


def _moment(name: str, value: str, end_of_day: bool) -> datetime:
    try:
        return parse_moment(value, end_of_day)
    except ValueError:
        raise BadRequest(f"{name}: not a date or date-time: {value!r}") from None


def comparisons(
    params: Params, field: str, get: Callable[[dict], Any], dates: bool
) -> list[Predicate]:
    """Filters `<field>_lt/_le/_gt/_ge`. Date fields compare dates; date-time fields take a
    date or a date-time, a bare date meaning the start of the day (end for _le and _gt)."""
    predicates: list[Predicate] = []
    for op, compare in OPERATORS.items():
        name = f"{field}_{op}"
        value = first(params, name)
        if value is None or not value.strip():
            continue
        bound: date | datetime = _moment(name, value, op in ("le", "gt"))
        if dates:
            bound = bound.date()

        def predicate(record: dict, bound: Any = bound, compare: Any = compare) -> bool:
            own = get(record)
            return own is not None and compare(own, bound)

        predicates.append(predicate)
    return predicates


def has_comparisons(params: Params, fields: tuple[str, ...]) -> bool:
    return any(
        (first(params, f"{field}_{op}") or "").strip() for field in fields for op in OPERATORS
    )


def span(params: Params, name: str, get: Callable[[dict], Any], dates: bool) -> Predicate | None:
    """A range filter "<from>,<to>" (inclusive, either side may be empty); one value without
    a comma means that single day or moment."""
    value = first(params, name)
    if value is None or not value.strip():
        return None
    low_text, _, high_text = value.partition(",") if "," in value else (value, "", value)
    low = _moment(name, low_text, False) if low_text.strip() else None
    high = _moment(name, high_text, True) if high_text.strip() else None

    def predicate(record: dict) -> bool:
        own = get(record)
        if own is None:
            return False
        if dates:
            return (low is None or own >= low.date()) and (high is None or own <= high.date())
        return (low is None or own >= low) and (high is None or own <= high)

    return predicate


def record_date(field: str) -> Callable[[dict], date | None]:
    def get(record: dict) -> date | None:
        value = record.get(field)
        return date.fromisoformat(value) if value else None

    return get


def record_moment(field: str) -> Callable[[dict], datetime | None]:
    def get(record: dict) -> datetime | None:
        return parse_record_ts(record.get(field))

    return get
