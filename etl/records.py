"""Values handed between extraction, loading and run bookkeeping; how a record's id is read."""

import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from etl.values import RecordError, required_ident


def record_id(record: Any) -> str:
    """The Breezeway id of an API record as stored text; RecordError says why there is none."""
    if not isinstance(record, dict):
        raise RecordError(f"the record is {type(record).__name__}, expected an object")
    return required_ident(record)


def record_id_or_none(record: Any) -> str | None:
    """record_id(), or None for a record the loader would reject."""
    try:
        return record_id(record)
    except RecordError:
        return None


def content_hash(value: Any) -> str:
    """128-bit BLAKE2b of the canonical JSON of a value (sorted keys; dates, decimals as text)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class Incoming:
    """One API record to load, with what the pipeline knows besides it."""

    record: Any
    # Bookkeeping columns to set (e.g. a task's `listed`), compared like content.
    state: dict[str, Any] = field(default_factory=dict)
    # Child sets fetched from their own endpoints (a task's requirements and comments).
    fetched: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class Rejected:
    """A record or child item that could not be used, kept with the reason (RejectedRecord)."""

    entity: str
    record_id: str
    reason: str
    payload: Any


@dataclass
class TableCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def add(self, other: "TableCounts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Outcome:
    """What one entity sync did, before it becomes a SyncRun."""

    counts: dict[str, TableCounts] = field(default_factory=dict)
    fetched: int = 0
    errors: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    child_policy: str = ""
    details: dict = field(default_factory=dict)
    load_seconds: float = 0.0
