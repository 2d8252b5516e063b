"""Operational statuses of properties (clean, dirty, ...), drawn from RNG streams of their own."""

from __future__ import annotations

import random
from datetime import datetime

from simulator.config import SimulatorConfig
from simulator.generate import company_rng
from simulator.records import between
from simulator.timefmt import offset_ts
from simulator.world import World

STATUSES = ("clean", "dirty", "occupied", "inspected", "blocked")
SUB_STATUSES = (
    "Cleaning",
    "Inspection",
    "Maintenance",
    "Linen delivery",
    "Guest arrival",
    "Owner hold",
)


def initial_status(world: World, config: SimulatorConfig, prop: dict, start: datetime) -> dict:
    """The status a property has when it appears, stamped between its creation and `start`.

    The stream is keyed by the property id, not shared: the status is the same whenever it is
    drawn (at generation, during a tick, or when the page-shift fault adds the property), and
    no draw of the existing data streams moves.
    """
    rng = company_rng(config, world.index, f"status|property|{prop['id']}")
    created = prop["_created"]
    stamp = between(rng, created, max(created, start))
    return draw_status(world, prop, rng, rng.choice(STATUSES), stamp)


def assign_missing(world: World, config: SimulatorConfig, start: datetime) -> None:
    """Give every property without a status its initial one (generation, and a safety net)."""
    for property_id in sorted(world.properties):
        if property_id not in world.property_statuses:
            prop = world.properties[property_id]
            world.property_statuses[property_id] = initial_status(world, config, prop, start)


def draw_status(world: World, prop: dict, rng: random.Random, status: str, stamp: datetime) -> dict:
    """A status record: 0-3 sub-statuses, each naming up to two tasks of the property."""
    task_ids = sorted(world.tasks_by_property.get(prop["id"], ()))
    sub_statuses: list[dict] = []
    for name in rng.sample(SUB_STATUSES, rng.randint(0, 3)):
        tasks = [
            {"id": task_id, "is_blocking": rng.random() < 0.3}
            for task_id in rng.sample(task_ids, min(len(task_ids), rng.randint(0, 2)))
        ]
        # A blocked property has a blocking reason; elsewhere blocking reasons are rarer.
        blocking = rng.random() < (0.9 if status == "blocked" and not sub_statuses else 0.2)
        sub_statuses.append({"name": name, "is_blocking": blocking, "tasks": tasks})
    external = prop.get("reference_external_property_id")
    return {
        "status": status,
        "sub_statuses": sub_statuses,
        # Always a string (the webhook field is one): "" when the property has no external id.
        "external_property_id": external if isinstance(external, str) else "",
        "updated_at": offset_ts(stamp),
    }


def change_status(world: World, prop: dict, rng: random.Random, now: datetime) -> str:
    """Move a property to a different status with fresh sub-statuses; returns the old one."""
    previous = world.property_statuses[prop["id"]]["status"]
    status = rng.choice([s for s in STATUSES if s != previous])
    world.property_statuses[prop["id"]] = draw_status(world, prop, rng, status, now)
    return previous
