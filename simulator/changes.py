"""Simulated time: what changes in one hour, and new records made on demand."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

from simulator import quirks as q
from simulator import statuses
from simulator.config import SimulatorConfig
from simulator.records import Maker, status_object
from simulator.timefmt import naive_ts, offset_ts
from simulator.world import World, touch

HEAVY = 100  # properties with more tasks than this are never removed (paging stays testable)
RECENT_DAYS = 60  # most task changes hit tasks scheduled this close to now
HIDE_AFTER_DAYS = 30  # finished tasks this old may drop out of the /task list

SUMMARY_KEYS = (
    "properties_edited",
    "property_photos_changed",
    "properties_added",
    "properties_removed",
    "reservations_edited",
    "reservation_guests_changed",
    "reservations_added",
    "reservations_removed",
    "tasks_edited",
    "tasks_added",
    "tasks_deleted",
    "tasks_hidden",
    "task_assignments_changed",
    "task_photos_changed",
    "task_requirements_changed",
    "task_comments_changed",
    "task_tags_changed",
    "task_supplies_changed",
    "task_costs_changed",
    "people_edited",
    "supplies_edited",
    "tags_edited",
    "property_statuses_changed",
)


def how_many(rng: random.Random, population: int, rate: float) -> int:
    """population x rate, rounded up or down at random so small worlds still change."""
    expected = population * rate
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def touch_task(task: dict, now: datetime) -> None:
    touch(task, now, offset_ts)


# --- new records (tick and the page-shift fault) --------------------------------------------


def new_property(world: World, make: Maker, config: SimulatorConfig, now: datetime) -> dict:
    prop = make.property(now, photos=make.rng.randint(0, 80))
    q.apply_random(q.property_targets(prop), config.quirks, make.rng)
    world.properties[prop["id"]] = prop
    if make.rng.random() < config.bad_property_rate:
        world.bad_property_ids.add(prop["id"])
    # Drawn last and from the property's own stream: `make.rng` sees the same draws as before.
    world.property_statuses[prop["id"]] = statuses.initial_status(world, config, prop, now)
    return prop


def new_reservation(
    world: World, make: Maker, config: SimulatorConfig, now: datetime, prop: dict
) -> dict:
    checkin = now.date() + timedelta(days=make.rng.randint(0, 120))
    reservation = make.reservation(prop, checkin, now)
    q.apply_random(q.reservation_targets(reservation), config.quirks, make.rng)
    if make.rng.random() < config.quirks.null_record_id_rate:
        reservation["_null_id"] = True
    world.reservations[reservation["id"]] = reservation
    return reservation


def new_task(world: World, make: Maker, config: SimulatorConfig, now: datetime, prop: dict) -> dict:
    scheduled = now.date() + timedelta(days=make.rng.randint(1, 30))
    reservations = [
        r
        for r in world.reservations.values()
        if r["property_id"] == prop["id"] and not r.get("_null_id")
    ]
    task, requirements, comments = make.task(prop, scheduled, now, reservations, created=now)
    touch_task(task, now)
    q.apply_random(q.task_targets(task, requirements), config.quirks, make.rng)
    world.add_task(task, requirements, comments)
    return task


def new_supply(world: World, make: Maker, config: SimulatorConfig, now: datetime) -> dict:
    supply = make.supply(now, now)
    q.apply_random(q.supply_targets(supply), config.quirks, make.rng)
    world.supplies[supply["id"]] = supply
    return supply


# --- one hour -------------------------------------------------------------------------------


def advance_hour(
    world: World, config: SimulatorConfig, now: datetime, rng: random.Random
) -> Counter:
    """Apply one simulated hour of changes, all stamped `now`; returns counts per change."""
    make = Maker(world, rng)
    done: Counter = Counter()
    _properties(world, make, config, now, done)
    _reservations(world, make, config, now, done)
    _tasks(world, make, config, now, done)
    _hide(world, config, now, rng, done)
    _reference(world, make, config, now, done)
    return done


def _properties(
    world: World, make: Maker, config: SimulatorConfig, now: datetime, done: Counter
) -> None:
    rng = make.rng
    for _ in range(how_many(rng, len(world.properties), config.change_rate)):
        op = rng.choices(("edit", "photos", "add", "remove"), (50, 35, 10, 5))[0]
        if op == "add":
            new_property(world, make, config, now)
            done["properties_added"] += 1
            continue
        prop = world.properties[rng.choice(sorted(world.properties))]
        if op == "remove":
            if (
                len(world.tasks_by_property.get(prop["id"], ())) > HEAVY
                or len(world.properties) <= 3
            ):
                continue
            reservations, tasks = world.remove_property(prop["id"])
            done["properties_removed"] += 1
            done["reservations_removed"] += reservations
            done["tasks_deleted"] += tasks
            continue
        if op == "edit":
            field = rng.choice(("name", "notes", "status"))
            if field == "name":
                prop["name"] = f"{prop['name'].split(' (')[0][:200]} ({naive_ts(now)[:13]}h)"
            elif field == "notes":
                prop["notes"] = {**(prop["notes"] or {}), "about": f"Updated {naive_ts(now)}"}
            else:
                prop["status"] = "inactive" if prop["status"] == "active" else "active"
            done["properties_edited"] += 1
        else:
            photos = prop["photos"]
            action = rng.choice(("add", "remove", "caption")) if photos else "add"
            if action == "add":
                photos.append(make.property_photo(default=not photos))
            elif action == "remove":
                photos.pop(rng.randrange(len(photos)))
            else:
                rng.choice(photos)["caption"] = f"Caption {naive_ts(now)}"
            done["property_photos_changed"] += 1
        touch(prop, now)


def _reservations(
    world: World, make: Maker, config: SimulatorConfig, now: datetime, done: Counter
) -> None:
    rng = make.rng
    ids = sorted(r for r, rec in world.reservations.items() if not rec.get("_null_id"))
    for _ in range(how_many(rng, len(ids), config.change_rate)):
        op = rng.choices(("edit", "guests", "add"), (55, 25, 20))[0]
        if op == "add" or not ids:
            if world.properties:
                prop = world.properties[rng.choice(sorted(world.properties))]
                new_reservation(world, make, config, now, prop)
                done["reservations_added"] += 1
            continue
        reservation = world.reservations.get(rng.choice(ids))
        if reservation is None:
            continue
        if op == "edit":
            field = rng.choice(("note", "access_code", "status", "checkout_date", "checkin_time"))
            if field == "note":
                reservation["note"] = f"Guest note {naive_ts(now)}"
            elif field == "access_code":
                reservation["access_code"] = (
                    f"{(int(reservation['access_code'] or 0) + 1) % 10000:04d}"
                )
            elif field == "status":
                active = reservation["status"] == "active"
                reservation["status"] = "cancelled" if active else "active"
            elif field == "checkout_date":
                checkout = date.fromisoformat(reservation["checkout_date"]) + timedelta(days=1)
                reservation["checkout_date"] = checkout.isoformat()
            else:
                reservation["checkin_time"] = _other(
                    rng, reservation["checkin_time"], ("14:00:00", "15:00:00", "16:00:00")
                )
            done["reservations_edited"] += 1
        else:
            guests = reservation["guests"]
            action = rng.choice(("add", "remove", "email")) if guests else "add"
            if action == "add":
                guests.append(make.guest())
            elif action == "remove":
                guests.pop(rng.randrange(len(guests)))
            else:
                guest = rng.choice(guests)
                guest["emails"] = [*guest["emails"], f"guest{rng.randint(1, 9999)}@mail.example"]
            done["reservation_guests_changed"] += 1
        touch(reservation, now)


def _tasks(
    world: World, make: Maker, config: SimulatorConfig, now: datetime, done: Counter
) -> None:
    rng = make.rng
    today = now.date()
    # Hidden tasks and tasks of bad properties are never edited: no client could see the edit
    # (they are missing from, or refused by, the list). They can still be deleted.
    deletable = [t for t in world.tasks.values() if t["home_id"] not in world.bad_property_ids]
    editable = [t for t in deletable if t["id"] not in world.hidden_task_ids]
    recent = [
        t
        for t in editable
        if abs((date.fromisoformat(t["scheduled_date"]) - today).days) <= RECENT_DAYS
    ]
    listable = [
        p for pid, p in sorted(world.properties.items()) if pid not in world.bad_property_ids
    ]
    for _ in range(how_many(rng, len(world.tasks), config.change_rate)):
        op = rng.choices(("edit", "children", "add", "delete"), (30, 45, 15, 10))[0]
        if op == "add":
            if listable:
                new_task(world, make, config, now, rng.choice(listable))
                done["tasks_added"] += 1
            continue
        if op == "delete":
            if deletable:
                task = rng.choice(deletable)
                if task["id"] in world.tasks:
                    world.delete_task(task["id"])
                    done["tasks_deleted"] += 1
            continue
        pool = recent if recent and rng.random() < 0.8 else editable
        if not pool:
            continue
        task = rng.choice(pool)
        if task["id"] not in world.tasks:
            continue
        if op == "edit":
            _edit_task(task, make, now)
            done["tasks_edited"] += 1
            kind: str | None = "edit"
        else:
            kind = _edit_children(world, task, make, now)
            if kind is None:
                continue
            done[f"task_{kind}_changed"] += 1
        touch_task(task, now)
        if world.journal is not None:
            world.journal.task_changed(task["id"], kind)


def _edit_task(task: dict, make: Maker, now: datetime) -> None:
    rng = make.rng
    stage = task["_stage"]
    if stage == "new":
        task["_stage"] = "in_progress"
        task["type_task_status"] = status_object(rng, "in_progress")
        task["started_at"] = offset_ts(now)
    elif stage == "in_progress":
        task["_stage"] = "finished"
        task["type_task_status"] = status_object(rng, "finished")
        task["finished_at"] = offset_ts(now)
        task["finished_by"] = make.person_ref()
        task["total_time"] = f"{rng.randint(0, 5):02d}:{rng.randint(0, 59):02d}:00"
    else:
        field = rng.choice(("name", "description", "type_priority", "summary"))
        if field == "name":
            task["name"] = f"{task['name'].split(' (')[0][:200]} (rev {naive_ts(now)[:13]}h)"
        elif field == "description":
            task["description"] = f"Updated {naive_ts(now)}"
        elif field == "type_priority":
            task["type_priority"] = _other(rng, task["type_priority"], ("normal", "high", "urgent"))
        else:
            task["summary"] = {"note": f"Summary {naive_ts(now)}"}


def _edit_children(world: World, task: dict, make: Maker, now: datetime) -> str | None:
    """Change one child list of a task; returns its name for the summary, or None when the
    chosen change was impossible (nothing changed, so the task must not be touched)."""
    rng = make.rng
    kind = rng.choice(
        ("assignments", "photos", "requirements", "comments", "tags", "supplies", "costs")
    )
    if kind == "assignments":
        items = task["assignments"]
        assigned = {a["assignee_id"] for a in items}
        free = [p for p in make.pool("people") if p["id"] not in assigned]
        action = rng.choice(("add", "remove", "status")) if items else "add"
        if action == "add" and free:
            items.append(make.assignment(rng.choice(free)))
        elif action == "remove":
            items.pop(rng.randrange(len(items)))
        elif items:
            item = rng.choice(items)
            item["status"] = _other(rng, item["status"], ("assigned", "accepted", "declined"))
        else:
            return None
    elif kind == "photos":
        items = task["photos"]
        action = rng.choice(("add", "remove", "caption")) if items else "add"
        if action == "add":
            items.append(make.task_photo(now))
        elif action == "remove":
            items.pop(rng.randrange(len(items)))
        else:
            rng.choice(items)["caption"] = f"Caption {naive_ts(now)}"
    elif kind == "requirements":
        lines = world.requirements[task["id"]]
        if not lines:
            return None
        line = rng.choice(lines)
        answer = make.response()
        line["response"] = answer if answer != line["response"] else f"{answer} (again)"
    elif kind == "comments":
        comments = world.comments[task["id"]]
        if comments and rng.random() < 0.25:
            comment = rng.choice(comments)
            comment["comment"] += " (edited)"
            comment["updated_at"] = naive_ts(now)
        else:
            comments.append(make.comment(now))
    elif kind == "tags":
        items = task["task_tags"]
        present = {t["id"] for t in items}
        free = [t for t in make.pool("tags") if t["id"] not in present]
        if items and (rng.random() < 0.5 or not free):
            items.pop(rng.randrange(len(items)))
        elif free:
            items.append(make.task_tag(rng.choice(free)))
        else:
            return None
    elif kind == "supplies":
        items = task["supplies"]
        action = rng.choice(("add", "remove", "quantity")) if items else "add"
        if action == "add":
            items.append(make.task_supply())
        elif action == "remove":
            items.pop(rng.randrange(len(items)))
        else:
            usage = rng.choice(items)
            usage["quantity"] += 1
            usage["total_price"] = round(usage["unit_cost"] * usage["quantity"], 2)
    else:
        items = task["costs"]
        action = rng.choice(("add", "remove", "edit")) if items else "add"
        if action == "add":
            items.append(make.cost(now))
        elif action == "remove":
            items.pop(rng.randrange(len(items)))
        else:
            cost = rng.choice(items)
            cost["cost"] = round(cost["cost"] + 10, 2)
            cost["updated_at"] = offset_ts(now)
    return kind


def _other(rng: random.Random, current: object, choices: tuple[str, ...]) -> str:
    """A value from `choices` different from `current`, so an edit always changes something."""
    return rng.choice([c for c in choices if c != current])


def change_statuses(
    world: World, config: SimulatorConfig, now: datetime, rng: random.Random
) -> list[tuple[int, str]]:
    """Operational statuses of a share of the properties change, stamped `now`; returns
    (property id, previous status) pairs. `rng` is a stream of its own, so the other changes
    of the hour draw exactly what they drew before statuses existed. Distinct properties: one
    change per property and hour, so its event's previous_status is unambiguous."""
    ids = sorted(world.properties)
    count = min(how_many(rng, len(ids), config.change_rate), len(ids))
    return [
        (pid, statuses.change_status(world, world.properties[pid], rng, now))
        for pid in rng.sample(ids, count)
    ]


def _hide(
    world: World, config: SimulatorConfig, now: datetime, rng: random.Random, done: Counter
) -> None:
    """Finished tasks drop out of the /task list as they age (still 200 by id)."""
    finished = [
        t
        for t in world.tasks.values()
        if t["_stage"] == "finished" and t["id"] not in world.hidden_task_ids
    ]
    count = how_many(rng, len(finished), config.hidden_task_share_per_tick)
    cutoff = now.date() - timedelta(days=HIDE_AFTER_DAYS)
    old = [t for t in finished if date.fromisoformat(t["scheduled_date"]) < cutoff]
    for task in rng.sample(old, min(count, len(old))):
        world.hidden_task_ids.add(task["id"])
        done["tasks_hidden"] += 1


def _reference(
    world: World, make: Maker, config: SimulatorConfig, now: datetime, done: Counter
) -> None:
    """People, supplies and tag definitions change at a quarter of the main rate."""
    rng = make.rng
    rate = config.change_rate / 4
    people = make.pool("people")
    for _ in range(how_many(rng, len(people), rate)):
        person = rng.choice(people)
        if rng.random() < 0.5:
            person["active"] = not person["active"]
            person["_status"] = "active" if person["active"] else "inactive"
        else:
            person["availability"] = make.availability()
        touch(person, now)
        done["people_edited"] += 1
    supplies = make.pool("supplies")
    for _ in range(how_many(rng, len(supplies), rate)):
        supply = rng.choice(supplies)
        supply["stock_count"] = max(0, supply["stock_count"] + rng.randint(-10, 20))
        touch(supply, now, naive_ts)
        done["supplies_edited"] += 1
    tags = make.pool("tags")
    for _ in range(how_many(rng, len(tags), rate)):
        tag = rng.choice(tags)
        tag["description"] = f"Updated {naive_ts(now)}"
        touch(tag, now)
        done["tags_edited"] += 1
