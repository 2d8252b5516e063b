"""The data quirks of reference §14.5: which records may carry each, and how to apply them."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from simulator import vocab
from simulator.config import Quirks

Apply = Callable[[random.Random], None]


@dataclass
class Target:
    """One record (or child) that may get one quirk."""

    group: str  # e.g. "long_text.task_name"; each group is a population of its own
    rate: str  # the Quirks attribute
    apply: Apply
    slot: Hashable = None  # targets sharing a slot exclude each other (e.g. coordinates)


def _set(record: dict, key: str, make: Callable[[random.Random], object]) -> Apply:
    def apply(rng: random.Random) -> None:
        record[key] = make(rng)

    return apply


def _longer(record: dict, key: str) -> Apply:
    return _set(record, key, lambda rng: vocab.long_text(rng, record.get(key) or ""))


def _big(rng: random.Random) -> float:
    return round(rng.uniform(1e8, 9.99e9), 2)


def _duplicate(record: dict, name: str) -> Apply:
    # A serving glitch, not data: flagged here, appended when the record is served.
    def apply(rng: random.Random) -> None:
        record.setdefault("_dup", []).append(name)

    return apply


def property_targets(prop: dict) -> list[Target]:
    def stringify(rng: random.Random) -> None:
        prop["latitude"], prop["longitude"] = str(prop["latitude"]), str(prop["longitude"])

    def nullify(rng: random.Random) -> None:
        prop["latitude"] = prop["longitude"] = None

    coords = ("coordinates", id(prop))
    targets = [
        Target("long_text.property_name", "long_text_rate", _longer(prop, "name")),
        Target("coordinate_string", "coordinate_string_rate", stringify, coords),
        Target("coordinate_null", "coordinate_null_rate", nullify, coords),
        Target("empty_string.display", "empty_string_rate", _set(prop, "display", lambda r: "")),
        Target(
            "empty_string.property_reference",
            "empty_string_rate",
            _set(prop, "reference_property_id", lambda r: ""),
        ),
        Target("null_nested.notes", "null_nested_rate", _set(prop, "notes", lambda r: {})),
    ]
    if prop["photos"]:
        targets.append(
            Target("duplicate.property_photo", "duplicate_child_rate", _duplicate(prop, "photos"))
        )
    return targets


def reservation_targets(reservation: dict) -> list[Target]:
    def clear_references(rng: random.Random) -> None:
        reservation["reference_property_id"] = ""
        reservation["reference_external_property_id"] = ""

    targets = [
        Target(
            "null_nested.type_guest",
            "null_nested_rate",
            _set(reservation, "type_guest", lambda r: None),
        ),
        Target(
            "null_nested.type_stay",
            "null_nested_rate",
            _set(reservation, "type_stay", lambda r: None),
        ),
        Target("empty_string.reservation_reference", "empty_string_rate", clear_references),
    ]
    if reservation["guests"]:
        targets.append(
            Target("duplicate.guest", "duplicate_child_rate", _duplicate(reservation, "guests"))
        )
    for guest in reservation["guests"]:
        targets.extend(guest_targets(guest))
    return targets


def guest_targets(guest: dict) -> list[Target]:
    def no_email(rng: random.Random) -> None:
        guest["emails"] = []
        guest["phone_numbers"] = []

    def no_name(rng: random.Random) -> None:
        guest["first_name"] = guest["last_name"] = ""

    # Exclusive, so no guest is left with neither a name nor an email.
    slot = ("guest", id(guest))
    return [
        Target("guest_no_email", "guest_no_email_rate", no_email, slot),
        Target("guest_empty_name", "guest_empty_name_rate", no_name, slot),
    ]


TASK_NESTED = (
    "type_task_status",
    "template",
    "created_by",
    "finished_by",
    "requested_by",
    "subdepartment",
    "summary",
    "linked_reservation",
)


def task_targets(task: dict, requirements: list[dict]) -> list[Target]:
    def big_amounts(rng: random.Random) -> None:
        task["total_cost"] = _big(rng)
        task["estimated_rate"] = _big(rng)

    def big_rate_paid(rng: random.Random) -> None:
        task["rate_paid"] = f"{_big(rng):.2f} USD"

    targets = [
        Target("long_text.task_name", "long_text_rate", _longer(task, "name")),
        Target("long_text.task_description", "long_text_rate", _longer(task, "description")),
        Target("big_money.task", "big_money_rate", big_amounts),
        Target("big_money.rate_paid", "big_money_rate", big_rate_paid),
        Target(
            "empty_string.task_reference",
            "empty_string_rate",
            _set(task, "reference_property_id", lambda r: ""),
        ),
    ]
    for name in TASK_NESTED:
        if task[name] is not None:
            targets.append(
                Target(f"null_nested.{name}", "null_nested_rate", _set(task, name, lambda r: None))
            )
    for name, group in (
        ("assignments", "assignment"),
        ("photos", "task_photo"),
        ("task_tags", "task_tag"),
    ):
        if task[name]:
            targets.append(
                Target(f"duplicate.{group}", "duplicate_child_rate", _duplicate(task, name))
            )
    for usage in task["supplies"]:
        targets.append(
            Target("null_child_id.supply", "null_child_id_rate", _set(usage, "id", lambda r: None))
        )

        def big_unit(rng: random.Random, usage: dict = usage) -> None:
            usage["unit_cost"] = _big(rng)
            usage["total_price"] = round(usage["unit_cost"] * usage["quantity"], 2)

        targets.append(Target("big_money.task_supply", "big_money_rate", big_unit))
    for cost in task["costs"]:
        targets += [
            Target("null_child_id.cost", "null_child_id_rate", _set(cost, "id", lambda r: None)),
            Target(
                "null_nested.type_cost", "null_nested_rate", _set(cost, "type_cost", lambda r: None)
            ),
            Target("long_text.cost_description", "long_text_rate", _longer(cost, "description")),
            Target("big_money.cost", "big_money_rate", _set(cost, "cost", _big)),
        ]
    if requirements:
        targets.append(
            Target(
                "requirement_without_id", "requirement_without_id_rate", _strip_ids(requirements)
            )
        )
    for line in requirements:
        targets += [
            Target("long_text.requirement_response", "long_text_rate", _longer(line, "response")),
            Target(
                "long_text.requirement_section", "long_text_rate", _longer(line, "section_name")
            ),
        ]
    return targets


def _strip_ids(requirements: list[dict]) -> Apply:
    def apply(rng: random.Random) -> None:
        for line in requirements:
            line.pop("id", None)
        # Now and then the same checklist line twice: two real lines, not a glitch.
        if rng.random() < 0.3:
            position = rng.randrange(len(requirements))
            requirements.insert(position + 1, copy.deepcopy(requirements[position]))

    return apply


def person_targets(person: dict) -> list[Target]:
    return [
        Target(
            "null_nested.availability",
            "null_nested_rate",
            _set(person, "availability", lambda r: None),
        )
    ]


def supply_targets(supply: dict) -> list[Target]:
    return [
        Target("big_money.supply", "big_money_rate", _set(supply, "unit_cost", _big)),
        Target(
            "empty_string.supply", "empty_string_rate", _set(supply, "internal_id", lambda r: "")
        ),
    ]


def apply_initial(targets: list[Target], quirks: Quirks, rng: random.Random) -> dict[str, int]:
    """Apply each group's quirk to round(rate x n) of its n targets, at least one."""
    groups: dict[str, list[Target]] = {}
    for target in targets:
        groups.setdefault(target.group, []).append(target)
    used: set[Hashable] = set()
    applied: dict[str, int] = {}
    for group, members in groups.items():
        rate = getattr(quirks, members[0].rate)
        if rate <= 0:
            continue
        free = [t for t in members if t.slot is None or t.slot not in used]
        count = min(len(free), max(1, round(rate * len(members))))
        for target in rng.sample(free, count):
            target.apply(rng)
            used.add(target.slot)
        applied[group] = count
    return applied


def apply_random(targets: list[Target], quirks: Quirks, rng: random.Random) -> None:
    """Apply each quirk independently with its rate (records created after generation)."""
    used: set[Hashable] = set()
    for target in targets:
        if target.slot is not None and target.slot in used:
            continue
        if rng.random() < getattr(quirks, target.rate):
            target.apply(rng)
            used.add(target.slot)
