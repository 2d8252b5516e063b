"""Factories for every record kind, in the API's field names (reference §6 to §10)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from simulator import vocab
from simulator.timefmt import at, naive_ts, offset_ts
from simulator.world import World

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
STATUSES = {
    "new": (("created", "Created"),),
    "in_progress": (("in_progress", "In progress"), ("started", "Started")),
    "finished": (("finished", "Finished"), ("approved", "Approved")),
}
TYPE_GUESTS = (("guest", "Guest"), ("owner", "Owner"), ("friend_of_owner", "Friend of owner"))
TYPE_STAYS = (("standard", "Standard"), ("owner_stay", "Owner stay"), ("long_term", "Long term"))
TYPE_COSTS = (("labor", "Labor"), ("materials", "Materials"), ("travel", "Travel"))
STOCK_STATUSES = (("in_stock", "In stock"), ("low_stock", "Low stock"), ("out_of_stock", "Out"))
ASSIGNMENT_STATUSES = ("assigned", "accepted", "declined")


def money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole-second moment in [start, end] (start when the range is empty)."""
    span = max(0, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randint(0, span))


def series_base(world: World) -> int:
    # Series are not served as records; their ids only need to look like the others.
    return world.id_base("series")


def status_object(rng: random.Random, stage: str) -> dict[str, str]:
    code, name = rng.choice(STATUSES[stage])
    return {"code": code, "name": name, "stage": stage}


class Maker:
    """Builds new records for one company; ids come from the world, randomness from `rng`."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self._pools: dict[str, list[dict]] = {}

    @property
    def company_id(self) -> int:
        return self.world.company.company_id

    # --- reference lists ------------------------------------------------------------------

    def reference_lists(self) -> None:
        w, rng = self.world, self.rng
        w.subdepartments = [
            {"id": w.new_id("subdepartment"), "name": name}
            for name in ("Housekeeping", "Maintenance", "Inspections", "Guest services")
        ]
        w.templates = [
            {"id": w.new_id("template"), "name": f"{kind} template", "department": department}
            for department, kinds in vocab.TASK_KINDS.items()
            for kind in kinds
        ]
        w.type_costs = [
            {"id": w.new_id("type_cost"), "code": code, "name": name} for code, name in TYPE_COSTS
        ]
        rng.shuffle(w.templates)

    def pool(self, kind: str) -> list[dict]:
        """Valid people, supplies or tags to draw from. Cached: after generation these sets
        only change in place (edits), never in membership."""
        if kind not in self._pools:
            self._pools[kind] = self.world.valid(getattr(self.world, kind))
        return self._pools[kind]

    def person_ref(self) -> dict[str, Any]:
        person = self.rng.choice(self.pool("people"))
        return {"id": person["id"], "name": person["name"]}

    # --- people, supplies, tags -----------------------------------------------------------

    def person(self, created: datetime) -> dict:
        rng = self.rng
        status = rng.choices(("active", "invited", "inactive"), (8, 1, 1))[0]
        return {
            "id": self.world.new_id("person"),
            "name": vocab.person_name(rng),
            "active": status == "active",
            "accept_decline_tasks": rng.random() < 0.5,
            "availability": self.availability(),
            "_status": status,
            "_created": created,
            "_updated": created,
        }

    def availability(self) -> dict[str, list[dict[str, str]]]:
        rng = self.rng
        slots: dict[str, list[dict[str, str]]] = {}
        for day in WEEKDAYS:
            if rng.random() < 0.3:
                slots[day] = []
            else:
                start = rng.randint(6, 11)
                slots[day] = [{"start": f"{start:02d}:00:00", "end": f"{start + 8:02d}:00:00"}]
        return slots

    def supply(self, created: datetime, now: datetime) -> dict:
        rng = self.rng
        sid = self.world.new_id("supply")
        stock, low = rng.randint(0, 200), rng.randint(5, 20)
        code, name = STOCK_STATUSES[0 if stock > low else (1 if stock else 2)]
        updated = min(created + timedelta(seconds=rng.randint(0, 86400 * 60)), now)
        return {
            "id": sid,
            "company_id": self.company_id,
            "name": f"{rng.choice(vocab.SUPPLY_NAMES)} {sid % 1000}",
            "description": vocab.sentence(rng, 3, 8),
            "size": rng.choice(("S", "M", "L", "1 pack", "12 pack", "")),
            "internal_id": f"SKU-{sid % 100000:05d}",
            "unit_cost": money(rng, 0.5, 80),
            "stock_count": stock,
            "low_stock_count": low,
            "low_stock_alert": rng.random() < 0.5,
            "supply_category_id": rng.randint(1, 6),
            "type_stock_status": {"code": code, "name": name},
            "created_at": naive_ts(created),
            "updated_at": naive_ts(max(updated, created)),
            "_created": created,
            "_updated": max(updated, created),
        }

    def tag(self, index: int, created: datetime) -> dict:
        names = vocab.TAG_NAMES
        name = names[index % len(names)]
        if index >= len(names):
            name = f"{name} {index // len(names) + 1}"
        return {
            "id": self.world.new_id("tag"),
            "name": name,
            "description": vocab.sentence(self.rng, 3, 8) if self.rng.random() < 0.7 else None,
            "_created": created,
            "_updated": created,
        }

    # --- properties -----------------------------------------------------------------------

    def property(self, created: datetime, photos: int | None = None) -> dict:
        rng = self.rng
        pid = self.world.new_id("property")
        city, state, zipcode = rng.choice(vocab.CITIES)
        name = f"{rng.choice(vocab.PLACE_WORDS)} {rng.choice(vocab.PLACE_KINDS)} {pid % 10000}"
        notes = {
            key: vocab.sentence(rng)
            for key in ("about", "access", "guest_access", "direction", "trash_info", "wifi")
            if rng.random() < 0.6
        }
        count = rng.randint(0, 80) if photos is None else photos
        record = {
            "id": pid,
            "company_id": self.company_id,
            "name": name,
            "status": rng.choices(("active", "inactive"), (9, 1))[0],
            "address1": f"{rng.randint(1, 9999)} {rng.choice(vocab.STREETS)} "
            f"{rng.choice(vocab.STREET_KINDS)}",
            "address2": f"Unit {rng.randint(1, 40)}" if rng.random() < 0.3 else None,
            "building": None,
            "city": city,
            "state": state,
            "zipcode": zipcode,
            "country": "US",
            "latitude": round(rng.uniform(25.0, 47.0), 6),
            "longitude": round(rng.uniform(-122.0, -70.0), 6),
            "display": name.split(" ", 1)[1],
            "notes": notes,
            "groups": [],
            "photos": [],
            "reference_company_id": f"pms-{self.company_id}",
            "reference_external_property_id": f"ext-{rng.getrandbits(40):010x}"
            if rng.random() < 0.8
            else None,
            "reference_property_id": f"ref-{pid}" if rng.random() < 0.9 else None,
            "wifi_name": f"{name.split()[1]}-wifi" if rng.random() < 0.8 else None,
            "wifi_password": f"{rng.getrandbits(32):08x}" if rng.random() < 0.8 else None,
            "_created": created,
            "_updated": created,
        }
        record["photos"] = [self.property_photo(default=i == 0) for i in range(count)]
        return record

    def property_photo(self, default: bool = False) -> dict:
        rng = self.rng
        photo_id = self.world.new_id("property_photo")
        url = f"https://photos.sim.breezeway.example/p/{photo_id}.jpg"
        return {
            "id": photo_id,
            "url": url,
            "original_url": "" if rng.random() < 0.2 else url.replace("/p/", "/orig/"),
            "caption": vocab.words(rng, 1, 4).capitalize() if rng.random() < 0.6 else None,
            "default": default,
        }

    # --- reservations ---------------------------------------------------------------------

    def reservation(self, prop: dict, checkin: date, created: datetime) -> dict:
        rng = self.rng
        rid = self.world.new_id("reservation")
        guest_code, guest_name = rng.choices(TYPE_GUESTS, (8, 1, 1))[0]
        stay_code, stay_name = rng.choices(TYPE_STAYS, (8, 1, 1))[0]
        return {
            "id": rid,
            "property_id": prop["id"],
            "status": "active" if rng.random() < 0.92 else "cancelled",
            "checkin_date": checkin.isoformat(),
            "checkout_date": (checkin + timedelta(days=rng.randint(1, 14))).isoformat(),
            "checkin_time": rng.choice(("15:00:00", "16:00:00", "17:00:00")),
            "checkout_time": rng.choice(("10:00:00", "11:00:00")),
            "checkin_early": rng.choice((True, False, None)),
            "checkout_late": rng.choice((True, False, None)),
            "access_code": f"{rng.randint(0, 9999):04d}" if rng.random() < 0.11 else None,
            "guide_url": f"https://guide.sim.breezeway.example/{rid}"
            if rng.random() < 0.5
            else None,
            "note": vocab.sentence(rng) if rng.random() < 0.3 else None,
            "guests": [self.guest() for _ in range(rng.randint(0, 3))],
            "tags": [],
            "type_guest": {"code": guest_code, "name": guest_name},
            "type_stay": {"code": stay_code, "name": stay_name},
            "reference_reservation_id": f"HM{rng.getrandbits(36):09X}"
            if rng.random() < 0.9
            else None,
            "reference_property_id": prop["reference_property_id"],
            "reference_external_property_id": prop["reference_external_property_id"],
            "_created": created,
            "_updated": created,
        }

    def guest(self) -> dict:
        rng = self.rng
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        emails = [f"{first}.{last}{rng.randint(1, 999)}@mail.example".lower()]
        if rng.random() < 0.1:
            emails.append(f"{first[0]}{last}{rng.randint(1, 99)}@work.example".lower())
        phones = [f"+1555{rng.randint(0, 9999999):07d}"] if rng.random() < 0.6 else []
        return {"first_name": first, "last_name": last, "emails": emails, "phone_numbers": phones}

    # --- tasks ----------------------------------------------------------------------------

    def task(
        self,
        prop: dict,
        scheduled: date,
        now: datetime,
        reservations: list[dict] | None = None,
        created: datetime | None = None,
    ) -> tuple[dict, list[dict], list[dict]]:
        """A task with inline children, plus its requirements and comments. Timestamps keep
        created <= children <= updated <= now, so the updated_at rule holds from the start."""
        rng = self.rng
        tid = self.world.new_id("task")
        template = rng.choice(self.world.templates)
        department = template["department"]
        scheduled_at = at(scheduled, rng.randint(8 * 3600, 17 * 3600))
        if scheduled_at > now:
            stage = "new"
        elif scheduled_at < now - timedelta(days=2):
            stage = rng.choices(("finished", "in_progress", "new"), (97, 1, 2))[0]
        else:
            stage = rng.choice(("new", "in_progress", "finished"))
        if created is None:
            created = between(
                rng, min(scheduled_at, now) - timedelta(days=30), min(scheduled_at, now)
            )
        started = finished = None
        if stage != "new":
            started = min(between(rng, scheduled_at, scheduled_at + timedelta(hours=2)), now)
            started = max(started, created)
        if stage == "finished":
            finished = min(between(rng, started, started + timedelta(hours=4)), now)
        last = finished or started or created
        updated = min(between(rng, last, last + timedelta(days=1)), now)
        updated = max(updated, last)
        amount = money(rng, 40, 400) if rng.random() < 0.6 else None
        linked = None
        if reservations and department != "maintenance" and rng.random() < 0.6:
            # The stay ending closest to the task, if within a week: turnover work.
            gap, nearest = min(
                (abs((date.fromisoformat(r["checkout_date"]) - scheduled).days), r["id"], r)
                for r in reservations
            )[0::2]
            if gap <= 7:
                linked = {
                    "id": nearest["id"],
                    "external_reservation_id": nearest["reference_reservation_id"],
                }
        task = {
            "id": tid,
            "home_id": prop["id"],
            "name": rng.choice(vocab.TASK_KINDS[department]),
            "description": vocab.sentence(rng) if rng.random() < 0.7 else None,
            "type_department": department,
            "type_priority": rng.choices(("normal", "high", "urgent"), (8, 2, 1))[0],
            "type_task_status": status_object(rng, stage),
            "scheduled_date": scheduled.isoformat(),
            "scheduled_time": scheduled_at.strftime("%H:%M:%S") if rng.random() < 0.7 else None,
            "created_at": naive_ts(created),
            "updated_at": offset_ts(updated),
            "started_at": offset_ts(started) if started and rng.random() < 0.85 else None,
            "finished_at": offset_ts(finished) if finished else None,
            "paused": rng.random() < 0.02,
            "template_id": template["id"],
            "template": {"name": template["name"]},
            "report_url": f"https://reports.sim.breezeway.example/task/{tid}",
            "reference_property_id": prop["reference_property_id"],
            "bill_to": rng.choice(("owner", "guest", "company", None)),
            "rate_type": rng.choice(("hourly", "flat", None)),
            "rate_paid": f"{amount:.2f} USD" if amount is not None else None,
            "total_cost": money(rng, 0, 600) if rng.random() < 0.7 else None,
            "estimated_rate": money(rng, 20, 300) if rng.random() < 0.5 else None,
            "total_time": f"{rng.randint(0, 5):02d}:{rng.randint(0, 59):02d}:00"
            if stage == "finished"
            else None,
            "estimated_time": f"{rng.randint(0, 4):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
            if rng.random() < 0.6
            else None,
            "billable": rng.choice((True, False, None)),
            "itemized_cost": rng.choice((True, False, None)),
            "task_series_id": series_base(self.world) + rng.randint(1, 999)
            if rng.random() < 0.1
            else None,
            "parent_task_id": None,
            "created_by": self.person_ref(),
            "finished_by": self.person_ref() if stage == "finished" else None,
            "requested_by": self.person_ref() if rng.random() < 0.5 else None,
            "subdepartment": {k: v for k, v in rng.choice(self.world.subdepartments).items()},
            "summary": {"note": vocab.sentence(rng) if rng.random() < 0.5 else None},
            "linked_reservation": linked,
            "assignments": [],
            "photos": [],
            "tags": [],
            "task_tags": [],
            "supplies": [],
            "costs": [],
            "_created": created,
            "_updated": updated,
            "_stage": stage,
        }
        people = self.pool("people")
        for person in rng.sample(people, min(len(people), rng.randint(0, 2))):
            task["assignments"].append(self.assignment(person))
        task["photos"] = [
            self.task_photo(between(rng, created, updated)) for _ in range(rng.randint(0, 4))
        ]
        tags = self.pool("tags")
        task["task_tags"] = [
            self.task_tag(t) for t in rng.sample(tags, min(len(tags), rng.randint(0, 2)))
        ]
        task["supplies"] = [self.task_supply() for _ in range(rng.randint(0, 2))]
        task["costs"] = [
            self.cost(between(rng, created, updated)) for _ in range(rng.randint(0, 2))
        ]
        requirements = [self.requirement(answered=stage != "new") for _ in range(rng.randint(2, 8))]
        comments = sorted(
            (self.comment(between(rng, created, updated)) for _ in range(rng.randint(0, 3))),
            key=lambda c: c["id"],
        )
        return task, requirements, comments

    def assignment(self, person: dict) -> dict:
        return {
            "assignee_id": person["id"],
            "name": person["name"],
            "status": self.rng.choice(ASSIGNMENT_STATUSES),
        }

    def task_photo(self, uploaded: datetime) -> dict:
        photo_id = self.world.new_id("task_photo")
        return {
            "id": photo_id,
            "url": f"https://photos.sim.breezeway.example/t/{photo_id}.jpg",
            "caption": vocab.words(self.rng, 1, 4).capitalize()
            if self.rng.random() < 0.5
            else None,
            "uploaded_at": offset_ts(uploaded),
        }

    def task_tag(self, tag: dict) -> dict:
        return {"id": tag["id"], "name": tag["name"]}

    def task_supply(self) -> dict:
        rng = self.rng
        supply = rng.choice(self.pool("supplies"))
        quantity = rng.randint(1, 6)
        unit = supply["unit_cost"]
        markup = rng.choice((None, None, 10.0, 15.0))
        return {
            "id": self.world.new_id("task_supply"),
            "supply_id": supply["id"],
            "name": supply["name"],
            "description": supply["description"] or None,
            "size": supply["size"] or None,
            "quantity": quantity,
            "unit_cost": unit,
            "total_price": round(unit * quantity, 2),
            "bill_to": rng.choice(("owner", "guest", None)),
            "billable": rng.random() < 0.6,
            "markup_pricing_type": "percent" if markup else None,
            "markup_rate": markup,
        }

    def cost(self, when: datetime) -> dict:
        rng = self.rng
        type_cost = rng.choice(self.world.type_costs)
        return {
            "id": self.world.new_id("cost"),
            "cost": money(rng, 5, 500),
            "description": vocab.sentence(rng, 2, 8) if rng.random() < 0.8 else None,
            "bill_to": rng.choice(("owner", "guest", None)),
            "type_cost": dict(type_cost),
            "created_at": offset_ts(when),
            "updated_at": offset_ts(when),
        }

    def requirement(self, answered: bool) -> dict:
        rng = self.rng
        photo_required = rng.random() < 0.2
        photos = []
        if photo_required and answered:
            photos = [
                f"https://photos.sim.breezeway.example/r/{rng.getrandbits(48):012x}.jpg"
                for _ in range(rng.randint(1, 2))
            ]
        return {
            "id": self.world.new_id("requirement"),
            "section_name": rng.choice(vocab.SECTIONS),
            "action": [vocab.sentence(rng, 3, 7) for _ in range(rng.randint(1, 3))],
            "response": self.response() if answered else None,
            "type_requirement": rng.choices(("checklist", "photo", "text"), (6, 2, 1))[0],
            "photo_required": photo_required,
            "photos": photos,
            "note": vocab.sentence(self.rng) if rng.random() < 0.15 else None,
            "home_element_name": rng.choice(vocab.HOME_ELEMENTS),
        }

    def response(self) -> str:
        answer = self.rng.choices(("check", "uncheck", "n/a", None), (7, 1, 1, 1))[0]
        return answer or vocab.sentence(self.rng)

    def comment(self, when: datetime) -> dict:
        author = self.person_ref()
        return {
            "id": self.world.new_id("comment"),
            "comment": vocab.sentence(self.rng, 3, 20),
            "created_at": naive_ts(when),
            "updated_at": naive_ts(when),
            "author": author,
        }
