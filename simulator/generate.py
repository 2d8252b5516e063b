"""The seeded initial data of one company: sizes by scale, dates around the start time."""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta

from simulator import quirks as q
from simulator.config import SimulatorConfig
from simulator.records import Maker, between
from simulator.world import COMPACT_ABOVE, Company, World

# Per company at scale 1.0 (reference §6.3 and the brief); minimums keep tiny scales usable.
PROPERTIES, MIN_PROPERTIES = 2000, 3
TASKS = 20000
RESERVATIONS_PER_PROPERTY = (1, 9)  # uniform, about 5
PEOPLE, MIN_PEOPLE = 60, 2
SUPPLIES, MIN_SUPPLIES = 300, 2
TAGS, MIN_TAGS = 30, 5
HEAVY_SHARE = 50  # one property in 50 has HEAVY_TASKS tasks, at least one per company
HEAVY_TASKS = (120, 250)
MIN_TASKS_PER_NORMAL_PROPERTY = 3  # on average, when the scale leaves fewer
TASK_DAYS = (-5 * 365, 60)  # scheduled_date range around the start date
RESERVATION_DAYS = (-2 * 365, 120)  # checkin_date range


def scaled(base: int, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


def make_company(seed: int, index: int) -> Company:
    company_id = 1000 + index
    # The secret is derived, not random, so a restarted simulator accepts the same credentials.
    secret = hashlib.sha256(f"breezeway-simulator:{seed}:{company_id}".encode()).hexdigest()[:40]
    return Company(
        code=f"sim{index}",
        company_id=company_id,
        name=f"Simulated Rentals {index}",
        client_id=f"sim-client-{company_id}",
        client_secret=secret,
    )


def company_rng(config: SimulatorConfig, index: int, purpose: str) -> random.Random:
    # String seeds are hashed with SHA-512 by random.Random: stable across runs (unlike hash()).
    return random.Random(f"breezeway-sim|{config.seed}|{config.scale!r}|{index}|{purpose}")


def generate_world(config: SimulatorConfig, index: int, start: datetime) -> World:
    world = World(
        company=make_company(config.seed, index),
        index=index,
        compact=config.companies > COMPACT_ABOVE,
    )
    rng = company_rng(config, index, "generate")
    make = Maker(world, rng)
    scale = config.scale
    today = start.date()
    long_ago = start - timedelta(days=6 * 365)

    make.reference_lists()
    for _ in range(scaled(PEOPLE, scale, MIN_PEOPLE)):
        person = make.person(between(rng, long_ago, start))
        world.people[person["id"]] = person
    for _ in range(scaled(SUPPLIES, scale, MIN_SUPPLIES)):
        supply = make.supply(between(rng, long_ago, start), start)
        world.supplies[supply["id"]] = supply
    for i in range(scaled(TAGS, scale, MIN_TAGS)):
        tag = make.tag(i, between(rng, long_ago, start))
        world.tags[tag["id"]] = tag

    properties = []
    for _ in range(scaled(PROPERTIES, scale, MIN_PROPERTIES)):
        prop = make.property(between(rng, long_ago, start - timedelta(days=30)))
        prop["_updated"] = between(rng, prop["_created"], start)
        world.properties[prop["id"]] = prop
        properties.append(prop)

    by_property: dict[int, list[dict]] = {}
    for prop in properties:
        for _ in range(rng.randint(*RESERVATIONS_PER_PROPERTY)):
            reservation = _past_or_future_reservation(make, prop, today, start)
            world.reservations[reservation["id"]] = reservation
            by_property.setdefault(prop["id"], []).append(reservation)

    heavy = rng.sample(properties, max(1, round(len(properties) / HEAVY_SHARE)))
    heavy_ids = {p["id"] for p in heavy}
    normal = [p for p in properties if p["id"] not in heavy_ids]
    counts = {p["id"]: rng.randint(*HEAVY_TASKS) for p in heavy}
    rest = max(TASKS * scale - sum(counts.values()), MIN_TASKS_PER_NORMAL_PROPERTY * len(normal))
    for _ in range(round(rest)):
        pid = rng.choice(normal)["id"]
        counts[pid] = counts.get(pid, 0) + 1
    for prop in properties:
        for _ in range(counts.get(prop["id"], 0)):
            scheduled = today + timedelta(days=rng.randint(*TASK_DAYS))
            task, requirements, comments = make.task(
                prop, scheduled, start, by_property.get(prop["id"])
            )
            world.add_task(task, requirements, comments)

    # Bad properties are never the heavy ones, so paging past 100 stays testable, and have
    # tasks when possible, so the 422 hides something.
    if config.bad_property_rate > 0:
        count = max(1, round(config.bad_property_rate * len(properties)))
        pool = [p for p in normal if counts.get(p["id"])] or normal
        world.bad_property_ids = {p["id"] for p in rng.sample(pool, min(count, len(pool)))}

    targets: list[q.Target] = []
    for prop in properties:
        targets += q.property_targets(prop)
    for reservation in world.reservations.values():
        targets += q.reservation_targets(reservation)
    for task in world.tasks.values():
        targets += q.task_targets(task, world.requirements[task["id"]])
    for person in world.people.values():
        targets += q.person_targets(person)
    for supply in world.supplies.values():
        targets += q.supply_targets(supply)
    q.apply_initial(targets, config.quirks, rng)

    _add_invalid_records(world, make, config, properties, today, start)
    return world


def _past_or_future_reservation(make: Maker, prop: dict, today: date, start: datetime) -> dict:
    rng = make.rng
    checkin = today + timedelta(days=rng.randint(*RESERVATION_DAYS))
    booked = datetime.combine(checkin, datetime.min.time(), start.tzinfo) - timedelta(
        days=rng.uniform(1, 90)
    )
    created = min(booked, start - timedelta(hours=1))
    reservation = make.reservation(prop, checkin, created)
    reservation["_updated"] = min(between(rng, created, created + timedelta(days=10)), start)
    return reservation


def _add_invalid_records(
    world: World,
    make: Maker,
    config: SimulatorConfig,
    properties: list[dict],
    today: date,
    start: datetime,
) -> None:
    """Extra records served with a null id (at least one per kind): a client must reject them,
    so they are not part of the truth. Reservations fall in the default window."""
    rate = config.quirks.null_record_id_rate
    if rate <= 0:
        return
    rng = make.rng
    for _ in range(max(1, round(rate * len(world.people)))):
        person = make.person(between(rng, start - timedelta(days=365), start))
        person["_null_id"] = True
        world.people[person["id"]] = person
    for _ in range(max(1, round(rate * len(world.supplies)))):
        supply = make.supply(between(rng, start - timedelta(days=365), start), start)
        supply["_null_id"] = True
        world.supplies[supply["id"]] = supply
    for _ in range(max(1, round(rate * len(world.reservations)))):
        checkin = today + timedelta(days=rng.randint(-5, 60))
        reservation = make.reservation(rng.choice(properties), checkin, start - timedelta(days=2))
        reservation["_null_id"] = True
        world.reservations[reservation["id"]] = reservation
