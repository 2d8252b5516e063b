"""Conversions of API values to column values; a value that cannot be used raises RecordError."""

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any


class RecordError(ValueError):
    """An API record (or child item) that cannot be stored; the message says why."""


def ident(value: Any, field: str = "id") -> str | None:
    """An API id (an integer, or a string as some fields send) as stored text; None stays."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RecordError(f"{field} is {type(value).__name__}, expected an integer id")
    text = str(value).strip()
    if len(text) > 64:
        raise RecordError(f"{field} is longer than 64 characters")
    return text or None


def required_ident(record: dict, field: str = "id") -> str:
    value = ident(record.get(field), field)
    if value is None:
        raise RecordError(f"{field} is missing or null")
    return value


def text(value: Any, field: str, max_length: int | None = None) -> str | None:
    """A string column; numbers are accepted and written as text; "" stays "" (API's own)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(f"{field} is {type(value).__name__}, expected text")
    result = str(value)
    if max_length is not None and len(result) > max_length:
        raise RecordError(f"{field} has {len(result)} characters, more than {max_length}")
    return result


def boolean(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RecordError(f"{field} is {value!r}, expected true or false")


def integer(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"{field} is a boolean, expected an integer")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        result = int(value)
    else:
        raise RecordError(f"{field} is {value!r}, expected an integer")
    if not -(2**31) <= result < 2**31:
        raise RecordError(f"{field} is {result}, out of the integer range")
    return result


def decimal(value: Any, field: str, digits: int = 18, places: int = 2) -> Decimal | None:
    """A number (or numeric string) for a numeric(digits, places) column."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordError(f"{field} is {type(value).__name__}, expected a number")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(f"{field} is {value!r}, expected a number") from None
    if not result.is_finite():
        raise RecordError(f"{field} is {value!r}, expected a finite number")
    result = result.quantize(Decimal(1).scaleb(-places))
    if abs(result) >= Decimal(10) ** (digits - places):
        raise RecordError(f"{field} is {value!r}, too large for numeric({digits},{places})")
    return result


MONEY_WITH_CURRENCY = re.compile(r"\s*(-?[\d.,]+)\s*([A-Za-z]{3})?\s*")


def money(value: Any, field: str) -> Decimal | None:
    """Money: a JSON number, or a string such as "120.00 USD" (rate_paid); currency dropped."""
    if isinstance(value, str) and value.strip():
        match = MONEY_WITH_CURRENCY.fullmatch(value)
        if not match:
            raise RecordError(f"{field} is {value!r}, expected an amount such as '120.00 USD'")
        value = match[1].replace(",", "")
    return decimal(value, field)


def coordinate(value: Any, field: str) -> Decimal | None:
    """Latitude or longitude: a number or a numeric string (both seen), for numeric(10,7)."""
    result = decimal(value, field, digits=10, places=7)
    if result is not None and abs(result) > 180:
        raise RecordError(f"{field} is {value!r}, not a coordinate")
    return result


def timestamp(value: Any, field: str) -> datetime | None:
    """ISO 8601; the API mixes offset-less and +00:00 values: offset-less ones are UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field} is {type(value).__name__}, expected an ISO timestamp")
    try:
        result = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(f"{field} is {value!r}, expected an ISO timestamp") from None
    if result.tzinfo is None:
        return result.replace(tzinfo=UTC)
    return result.astimezone(UTC)


def day(value: Any, field: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field} is {type(value).__name__}, expected YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise RecordError(f"{field} is {value!r}, expected YYYY-MM-DD") from None


def clock_time(value: Any, field: str) -> time | None:
    """HH:MM:SS, or HH:MM as some fixtures have it."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"{field} is {type(value).__name__}, expected HH:MM:SS")
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(f"{field} is {value!r}, expected HH:MM:SS") from None


def nested(record: dict, field: str) -> dict:
    """A nested object that the API may send as null (read as {}), never as another type."""
    value = record.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{field} is {type(value).__name__}, expected an object")
    return value


def items(record: dict, field: str) -> list:
    """A nested array that may be null or absent (read as [])."""
    value = record.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{field} is {type(value).__name__}, expected an array")
    return value
