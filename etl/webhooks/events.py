"""What a webhook body says: its type, the object it is about, its time, and its digest."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from etl.entities import PUSHED
from etl.values import RecordError, ident, storable, timestamp

HANDSHAKE = "test_webhook_event"  # sent by Breezeway when a subscription is made (§13)
PROPERTY_STATUS = "property-status"
KINDS = (*PUSHED, PROPERTY_STATUS)
# Where a property-status event may carry its time; the receipt time when none does.
EVENT_TIME_KEYS = ("updated_at", "timestamp", "event_time", "created_at")


@dataclass
class Reading:
    """A body as stored: `error` says why it cannot be processed ('' when it can)."""

    payload: Any
    raw_body: bytes | None  # kept when `payload` does not hold the body exactly
    digest: str
    event_type: str = ""
    object_id: str = ""
    event_at: datetime | None = None
    error: str = ""


def event_type(payload: dict) -> str:
    """The event's action: `event_type`, else `event` (the vendor spells it both ways)."""
    for key in ("event_type", "event"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:64]
    return ""


def pushed_record(kind: str, payload: dict) -> Any:
    """The record a pushed-entity event nests (a task event's `task`), None when absent."""
    return payload.get(PUSHED[kind].pushed.object_key)


def property_id(payload: dict) -> str | None:
    """The property a status event is about: `property_id`, else `id` (RecordError if bad)."""
    value = payload.get("property_id")
    return ident(payload.get("id") if value is None else value, "property_id")


def _quiet(read: Any) -> Any:
    try:
        return read()
    except RecordError:
        return None


def _about(kind: str, payload: dict) -> tuple[str, datetime | None]:
    """The object id and the event's own time, as far as the payload tells (never raises)."""
    if kind == PROPERTY_STATUS:
        found = next((payload[k] for k in EVENT_TIME_KEYS if payload.get(k)), None)
        return _quiet(lambda: property_id(payload)) or "", _quiet(
            lambda: timestamp(found, "updated_at")
        )
    record = pushed_record(kind, payload)
    if not isinstance(record, dict):
        return "", None
    return _quiet(lambda: ident(record.get("id"))) or "", _quiet(
        lambda: timestamp(record.get("updated_at"), "updated_at")
    )


def read_body(kind: str, body: bytes) -> Reading:
    """Parse a delivery's body; a body that is not a JSON object is kept whole, with the error."""
    try:
        parsed = json.loads(body)
        exact = True
    except UnicodeDecodeError:
        # Not UTF-8: read what can be read, keep the bytes.
        try:
            parsed = json.loads(body.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError) as exc:
            return _unusable(body, f"the body is not JSON ({type(exc).__name__})")
        exact = False
    except RecursionError:
        return _unusable(body, "the body is nested too deeply to parse")
    except ValueError as exc:
        return _unusable(body, f"the body is not JSON: {str(exc)[:200]}")
    if not isinstance(parsed, dict):
        return _unusable(body, f"the body is a JSON {type(parsed).__name__}, expected an object")
    try:
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"))
        payload, notes = storable(parsed)
    except (RecursionError, ValueError):
        return _unusable(body, "the body is nested too deeply to store")
    object_id, event_at = _about(kind, payload)
    return Reading(
        payload=payload,
        raw_body=None if exact and not notes else body,
        digest=hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest(),
        event_type=event_type(payload),
        object_id=object_id[:64],
        event_at=event_at,
    )


def _unusable(body: bytes, error: str) -> Reading:
    return Reading(None, body, hashlib.sha256(body).hexdigest(), error=error)
