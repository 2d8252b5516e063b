"""Conversions of API values to column values; a value that cannot be used raises RecordError."""

import json
import math
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
    # Compared before rounding: quantize() itself fails on numbers beyond its precision.
    if result.adjusted() >= digits - places or (
        abs(result.quantize(Decimal(1).scaleb(-places))) >= Decimal(10) ** (digits - places)
    ):
        shown = f"{str(value)[:40]}…" if len(str(value)) > 40 else repr(value)
        raise RecordError(f"{field} is {shown}, too large for numeric({digits},{places})")
    result = result.quantize(Decimal(1).scaleb(-places))
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
    try:
        return result.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00, past the last representable day
        raise RecordError(f"{field} is {value!r}, out of the representable range") from None


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


JSON_DEPTH = 32  # nesting allowed in a value stored as JSON (the API's are 1 or 2 deep)


def json_value(value: Any, field: str) -> Any:
    """A value stored as JSON as it came; refused when nested deeper than JSON_DEPTH."""
    level = [value]
    for _ in range(JSON_DEPTH + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return value
    raise RecordError(f"{field} is nested more than {JSON_DEPTH} levels deep")


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


# --- what PostgreSQL cannot store -------------------------------------------------------------
# PostgreSQL refuses NUL in text and jsonb, lone UTF-16 surrogates (invalid Unicode) anywhere,
# and NaN or Infinity in jsonb. The client removes them where it parses a response
# (`storable`), so every later step sees values the database accepts; a rejected record's
# payload is kept with them escaped instead (`kept_payload`), so nothing of it is lost.

SURROGATE = re.compile("[\ud800-\udfff]")
# Bytes of a response body that may hide such a value (cheap to look for; false hits only cost
# a walk over the page): escaped or raw NUL, escaped surrogates (any case), raw ones (UTF-8
# lead byte 0xED), and the non-JSON NaN/Infinity that Python's parser accepts.
SUSPECT_BYTES = (b"\\u0000", b"\x00", b"\\ud", b"\\uD", b"\xed", b"NaN", b"Infinity")
# Nesting kept in a rejected record's payload; deeper parts are kept as their JSON text.
PAYLOAD_DEPTH = 32
PAYLOAD_TEXT = 100_000  # characters of one string kept in a rejected record's payload


def suspect(body: bytes) -> bool:
    """Whether a response body may hold a value PostgreSQL cannot store."""
    return any(marker in body for marker in SUSPECT_BYTES)


def _removed(value: str) -> tuple[str, list[str]]:
    problems = []
    if "\x00" in value:
        problems.append(f"{value.count(chr(0))} NUL character(s) removed")
        value = value.replace("\x00", "")
    if SURROGATE.search(value):
        problems.append("invalid Unicode (lone surrogate) replaced by U+FFFD")
        value = SURROGATE.sub("\ufffd", value)
    return value, problems


def _label(where: str, value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("id"), int | str):
        return f"{where}(id {str(value['id'])[:64]!r})"
    return where


def storable(value: Any, where: str = "") -> tuple[Any, list[str]]:
    """The value with what PostgreSQL cannot store removed (NUL dropped, lone surrogates
    replaced by U+FFFD, NaN and Infinity made null), and a note per value changed."""
    notes: list[str] = []

    def walk(item: Any, path: str) -> Any:
        if isinstance(item, str):
            fixed, problems = _removed(item)
            notes.extend(f"{path or '.'}: {p}" for p in problems)
            return fixed
        if isinstance(item, float) and not math.isfinite(item):
            notes.append(f"{path or '.'}: {item} (not a JSON number) made null")
            return None
        if isinstance(item, dict):
            path = _label(path, item)
            out = {}
            for key, child in item.items():
                fixed_key, problems = _removed(key) if isinstance(key, str) else (key, [])
                notes.extend(f"{path}.{fixed_key}: key: {p}" for p in problems)
                out[fixed_key] = walk(child, f"{path}.{fixed_key}")
            return out
        if isinstance(item, list):
            return [walk(child, f"{path}[{i}]") for i, child in enumerate(item)]
        return item

    return walk(value, where), notes


def kept_payload(value: Any) -> Any:
    """A rejected record's payload as PostgreSQL can store it, nothing dropped: NUL and lone
    surrogates escaped as text (\\u0000), non-finite numbers as text, strings longer than
    PAYLOAD_TEXT cut with a note, parts nested deeper than PAYLOAD_DEPTH kept as JSON text."""

    def escape(text_value: str) -> str:
        text_value = text_value.replace("\x00", "\\u0000")
        text_value = SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text_value)
        if len(text_value) > PAYLOAD_TEXT:
            more = len(text_value) - PAYLOAD_TEXT
            text_value = f"{text_value[:PAYLOAD_TEXT]}… ({more} more characters not kept)"
        return text_value

    def walk(item: Any, depth: int) -> Any:
        if isinstance(item, str):
            return escape(item)
        if isinstance(item, float) and not math.isfinite(item):
            return str(item)
        if isinstance(item, dict | list) and depth >= PAYLOAD_DEPTH:
            try:
                return escape(json.dumps(item, default=str))
            except (RecursionError, ValueError):
                return "… (nested too deeply to keep)"
        if isinstance(item, dict):
            return {escape(str(k)): walk(v, depth + 1) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, depth + 1) for v in item]
        if item is None or isinstance(item, bool | int | float):
            return item
        return escape(str(item))

    return walk(value, 0)
