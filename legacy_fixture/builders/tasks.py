"""Tasks: each at a random property, most linked to one of its reservations."""

import random
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

from legacy_fixture.builders.reservations import reservation_id
from legacy_fixture.dataset import Dataset, Row
from legacy_fixture.plan import LAST_RUN_AT, task_count
from legacy_fixture.vocabulary import TASK_STATUSES, TASK_TEMPLATES, digest, person_name


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(f"{rng.uniform(low, high):.2f}")


def _row(pk: int, data: Dataset, rng: random.Random) -> Row:
    prop = rng.randint(1, len(data.parents["properties"]))
    linked = data.reservations_of.get(prop)
    # rng.random() only when the property has reservations: that is how the draws go.
    res = rng.choice(linked) if linked and rng.random() < 0.6 else None
    template = rng.choice(TASK_TEMPLATES)
    name, department, description = template
    status, status_name, stage = rng.choice(TASK_STATUSES)
    day = date(2025, 6, 1) + timedelta(days=rng.randint(0, 180))
    start = datetime.combine(day, dtime(rng.randint(8, 15), 0), UTC)
    done = stage == "finished"
    tid = str(60_000_000 + 7 * (pk - 1))
    creator = person_name(rng.randrange(900))
    # In column order, which is also the order of the draws from rng: keep it.
    return {
        "id": pk,
        "region_code": data.property_region[prop],
        "task_id": tid,
        "home_id": data.property_ext_id[prop],
        "property_pk": prop,
        "reservation_pk": res,
        "task_name": name,
        "task_description": description,
        "task_status": status,
        "task_status_code": status,
        "task_status_name": status_name,
        "task_status_stage": stage,
        "type_department": department,
        "type_priority": rng.choice(("normal", "normal", "high", "low", "urgent")),
        "scheduled_date": day,
        "scheduled_time": start.time(),
        "started_at": start if status != "created" else None,
        "finished_at": start + timedelta(minutes=rng.randint(30, 240)) if done else None,
        "paused": False,
        "template_task_id": str(900 + TASK_TEMPLATES.index(template)),
        "template_name": name,
        "report_url": f"https://app.breezeway.io/task/report/{digest('report', data.seed, tid)}",
        "reference_property_id": f"PMS-{data.property_ext_id[prop]}",
        "bill_to": rng.choice(("owner", "guest", "company")),
        "rate_type": "hourly",
        "rate_paid": _money(rng, 15, 45),
        "total_cost": _money(rng, 20, 400),
        "total_time": f"{rng.randint(0, 5)}:{rng.randint(0, 59):02d}",
        "estimated_time": f"{rng.randint(1, 4)}:00",
        "estimated_rate": _money(rng, 15, 45),
        "billable": rng.random() < 0.7,
        "itemized_cost": False,
        "task_series_id": None,
        "parent_task_id": None,
        "created_by_id": str(7_000_000 + rng.randrange(900)),
        "created_by_name": creator,
        "finished_by_id": None,
        "finished_by_name": None,
        "requested_by_id": None,
        "requested_by_name": None,
        "subdepartment_id": None,
        "subdepartment_name": None,
        "summary_note": "All good." if done else None,
        "linked_reservation_id": reservation_id(res) if res else None,
        "linked_reservation_external_id": None,
        "created_at": start - timedelta(days=rng.randint(1, 20)),
        "updated_at": start,
        "last_sync_time": LAST_RUN_AT,
    }


def build_tasks(data: Dataset, rng: random.Random) -> None:
    """The tasks, each recorded with its region, external id and start."""
    rows = []
    for i in range(task_count(data.scale)):
        row = _row(i + 1, data, rng)
        pk = row["id"]
        data.task_region[pk] = row["region_code"]
        data.task_ext_id[pk] = row["task_id"]
        # The scheduled start, also for tasks not started: photos and comments follow it.
        data.task_started[pk] = datetime.combine(row["scheduled_date"], row["scheduled_time"], UTC)
        rows.append(row)
    data.parents["tasks"] = rows
