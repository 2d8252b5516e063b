"""One company's current state (the truth), id allocation, and rendering of records."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.timefmt import offset_ts

# Ids: company block of 10^8, then a sub-block per kind, so ids are unique per kind across
# companies, stay below 2^31 (20 companies at most) and tell where they come from. With more
# companies (up to MAX_COMPANIES) every block is ten times smaller ("compact").
COMPANY_STRIDE = 100_000_000
MAX_COMPANIES = 200
COMPACT_ABOVE = 20
KIND_BASE = {
    "property": 0,
    "reservation": 10_000_000,
    "task": 20_000_000,
    "property_photo": 30_000_000,
    "task_photo": 40_000_000,
    "requirement": 50_000_000,
    "comment": 60_000_000,
    "task_supply": 70_000_000,
    "cost": 80_000_000,
    "person": 90_000_000,
    "supply": 91_000_000,
    "tag": 92_000_000,
    "subdepartment": 93_000_000,
    "template": 94_000_000,
    "type_cost": 95_000_000,
    "series": 96_000_000,
}
KIND_ROOM = {
    kind: 1_000_000 if base >= 90_000_000 else 10_000_000 for kind, base in KIND_BASE.items()
}


@dataclass(frozen=True)
class Company:
    """A simulated Breezeway company and its API credentials."""

    code: str
    company_id: int
    name: str
    client_id: str
    client_secret: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "company_id": self.company_id,
            "name": self.name,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }


@dataclass
class Journal:
    """What one simulated hour did to tasks, for the webhook events built at its end.

    Tasks are listed once, in the order they were first touched; `kinds` names what changed
    ("edit" for fields and stage, else the child list), so a costs-only hour can be told apart.
    """

    order: dict[int, None] = field(default_factory=dict)
    created: set[int] = field(default_factory=set)
    deleted: dict[int, int] = field(default_factory=dict)  # task id -> its property id
    kinds: dict[int, set[str]] = field(default_factory=dict)

    def task_created(self, task_id: int) -> None:
        self.order.setdefault(task_id)
        self.created.add(task_id)

    def task_changed(self, task_id: int, kind: str) -> None:
        self.order.setdefault(task_id)
        self.kinds.setdefault(task_id, set()).add(kind)

    def task_deleted(self, task_id: int, property_id: int) -> None:
        self.order.setdefault(task_id)
        self.deleted[task_id] = property_id


@dataclass
class World:
    """Records keyed by id. Internal fields start with "_" and are never served:
    `_created`/`_updated` (datetimes for sorting and filters), `_dup` (child lists served
    twice), `_null_id` (served with id null, left out of the truth)."""

    company: Company
    index: int  # 1-based position of the company, selects the id block
    compact: bool = False  # id blocks a tenth the size (more than COMPACT_ABOVE companies)
    properties: dict[int, dict] = field(default_factory=dict)
    reservations: dict[int, dict] = field(default_factory=dict)
    tasks: dict[int, dict] = field(default_factory=dict)
    requirements: dict[int, list[dict]] = field(default_factory=dict)
    comments: dict[int, list[dict]] = field(default_factory=dict)
    people: dict[int, dict] = field(default_factory=dict)
    supplies: dict[int, dict] = field(default_factory=dict)
    tags: dict[int, dict] = field(default_factory=dict)
    subdepartments: list[dict] = field(default_factory=list)
    templates: list[dict] = field(default_factory=list)
    type_costs: list[dict] = field(default_factory=list)
    tasks_by_property: dict[int, set[int]] = field(default_factory=dict)
    hidden_task_ids: set[int] = field(default_factory=set)
    deleted_task_ids: set[int] = field(default_factory=set)
    bad_property_ids: set[int] = field(default_factory=set)
    removed_property_ids: set[int] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    # Operational status per property (clean, dirty, ...): see simulator/statuses.py.
    property_statuses: dict[int, dict] = field(default_factory=dict)
    # Set by the simulator during a tick of a company subscribed to task webhooks only.
    journal: Journal | None = field(default=None, repr=False, compare=False)

    @property
    def _shrink(self) -> int:
        return 10 if self.compact else 1

    def id_base(self, kind: str) -> int:
        """The id before the company's first id of `kind`."""
        return (self.index * COMPANY_STRIDE + KIND_BASE[kind]) // self._shrink

    def new_id(self, kind: str) -> int:
        seq = self.counters.get(kind, 0) + 1
        if seq >= KIND_ROOM[kind] // self._shrink:
            raise OverflowError(f"too many {kind} ids for one company; lower the scale")
        self.counters[kind] = seq
        return self.id_base(kind) + seq

    # --- adding and removing -------------------------------------------------------------

    def add_task(self, task: dict, requirements: list[dict], comments: list[dict]) -> None:
        self.tasks[task["id"]] = task
        self.requirements[task["id"]] = requirements
        self.comments[task["id"]] = comments
        self.tasks_by_property.setdefault(task["home_id"], set()).add(task["id"])
        if self.journal is not None:
            self.journal.task_created(task["id"])

    def delete_task(self, task_id: int) -> None:
        task = self.tasks.pop(task_id)
        self.requirements.pop(task_id, None)
        self.comments.pop(task_id, None)
        self.tasks_by_property.get(task["home_id"], set()).discard(task_id)
        self.hidden_task_ids.discard(task_id)
        self.deleted_task_ids.add(task_id)
        if self.journal is not None:
            self.journal.task_deleted(task_id, task["home_id"])

    def remove_property(self, property_id: int) -> tuple[int, int]:
        """Remove a property with its reservations and tasks; returns (reservations, tasks)."""
        del self.properties[property_id]
        self.property_statuses.pop(property_id, None)
        self.removed_property_ids.add(property_id)
        self.bad_property_ids.discard(property_id)
        reservation_ids = [
            rid for rid, r in self.reservations.items() if r["property_id"] == property_id
        ]
        for rid in reservation_ids:
            del self.reservations[rid]
        task_ids = sorted(self.tasks_by_property.get(property_id, set()))
        for tid in task_ids:
            self.delete_task(tid)
        self.tasks_by_property.pop(property_id, None)
        return len(reservation_ids), len(task_ids)

    def valid(self, records: dict[int, dict]) -> list[dict]:
        """Records with a real id, in id order (what a client may keep)."""
        return [records[key] for key in sorted(records) if not records[key].get("_null_id")]

    # --- the truth -----------------------------------------------------------------------

    def snapshot(self, now: datetime) -> dict[str, Any]:
        tasks = self.valid(self.tasks)
        task_ids = [t["id"] for t in tasks]
        property_ids = [
            p["id"] for p in self.valid(self.properties) if p["id"] in self.property_statuses
        ]
        return {
            "company_id": self.company.company_id,
            "now": offset_ts(now),
            "properties": _copy([public(p) for p in self.valid(self.properties)]),
            "reservations": _copy([public(r) for r in self.valid(self.reservations)]),
            "tasks": _copy([public(t) for t in tasks]),
            "requirements": _by_id(task_ids, [self.requirements[i] for i in task_ids]),
            "comments": _by_id(task_ids, [self.comments[i] for i in task_ids]),
            "people": _copy([public(p) for p in self.valid(self.people)]),
            "supplies": _copy([public(s) for s in self.valid(self.supplies)]),
            "tags": _copy([public(t) for t in self.valid(self.tags)]),
            "hidden_task_ids": sorted(self.hidden_task_ids),
            "bad_property_ids": sorted(self.bad_property_ids & set(self.properties)),
            "property_statuses": _by_id(
                property_ids, [self.property_statuses[i] for i in property_ids]
            ),
        }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building millions of small containers: it would rescan
    them over and over (a third of the time at scale 1) and find no garbage."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _by_id(ids: list[int], values: list[Any]) -> dict[int, Any]:
    return dict(zip(ids, _copy(values), strict=True))


def _copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data; a JSON round trip is ten times faster than deepcopy."""
    return json.loads(json.dumps(value))


def public(record: dict) -> dict:
    """The record as the truth knows it: internal fields dropped (shallow)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def served(record: dict) -> dict:
    """The record as the API serves it: null id where marked, duplicated children appended.

    Shallow: the result shares nested objects with the state, so it must be serialised
    while the state lock is held.
    """
    out = public(record)
    if record.get("_null_id"):
        out["id"] = None
    for name in record.get("_dup", ()):
        children = out.get(name)
        if children:
            out[name] = [*children, dict(children[0])]
    return out


def touch(record: dict, now: datetime, fmt: Callable[[datetime], str] | None = None) -> None:
    """Mark a record changed at `now`; `fmt` writes its exposed `updated_at` (tasks carry an
    offset, supplies do not: reference §3.2). Kinds without that field change only `_updated`."""
    record["_updated"] = now
    if fmt is not None:
        record["updated_at"] = fmt(now)
