"""Timestamp formats of the API (with and without offset) and parsing of query values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def naive_ts(moment: datetime) -> str:
    """UTC without offset, as task `created_at` and supply timestamps come."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def offset_ts(moment: datetime) -> str:
    """UTC with "+00:00", as task `updated_at` and cost timestamps come."""
    return naive_ts(moment) + "+00:00"


def parse_moment(value: str, end_of_day: bool = False) -> datetime:
    """A query date or date-time; offset-less means UTC. A bare date as an upper bound
    means the end of that day, so `..,2026-03-01` includes the whole of 1 March."""
    value = value.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        if end_of_day:
            return datetime.combine(day, time.max, UTC)
        return datetime.combine(day, time.min, UTC)
    if "T" in value and " " in value:
        # A "+00:00" offset sent unencoded in a query string arrives as " 00:00".
        value = value.replace(" ", "+")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_record_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def at(day: date, seconds: float) -> datetime:
    """The moment `seconds` after midnight UTC of `day`."""
    return datetime.combine(day, time.min, UTC) + timedelta(seconds=seconds)
