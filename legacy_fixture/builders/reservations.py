"""Reservations: each at a random property, enough of them to carry every guest key."""

import random
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

from legacy_fixture.dataset import Dataset, Row
from legacy_fixture.plan import LAST_RUN_AT, reservation_count
from legacy_fixture.vocabulary import digest


def reservation_id(pk: int) -> str:
    """The API id of reservation `pk` (tasks link to it)."""
    return str(9_800_000 + 3 * (pk - 1))


def _row(pk: int, data: Dataset, rng: random.Random) -> Row:
    prop = rng.randint(1, len(data.parents["properties"]))
    checkin = date(2025, 6, 1) + timedelta(days=rng.randint(0, 240))
    rid = reservation_id(pk)
    booked = datetime.combine(checkin, dtime(9, 0), UTC)
    # In column order, which is also the order of the draws from rng: keep it.
    return {
        "id": pk,
        "region_code": data.property_region[prop],
        "reservation_id": rid,
        "property_id": data.property_ext_id[prop],
        "property_pk": prop,
        "reservation_status": rng.choice(("confirmed", "confirmed", "checked_out", "cancelled")),
        "access_code": f"{rng.randint(0, 9999):04d}",
        "checkin_date": checkin,
        "checkin_time": dtime(16, 0),
        "checkin_early": rng.random() < 0.1,
        "checkout_date": checkin + timedelta(days=rng.randint(2, 9)),
        "checkout_time": dtime(10, 0),
        "checkout_late": rng.random() < 0.1,
        "reservation_note": rng.choice((None, "Guest arriving late", "Anniversary trip")),
        "guide_url": f"https://guide.breezeway.io/{digest('guide', data.seed, rid, length=16)}",
        "reference_reservation_id": f"R-{rid}",
        "reference_property_id": f"PMS-{data.property_ext_id[prop]}",
        "reference_external_property_id": None,
        "adults": rng.randint(1, 6),
        "children": rng.randint(0, 3),
        "pets": rng.randint(0, 1),
        "source": rng.choice(("airbnb", "vrbo", "direct", "booking.com")),
        "created_at": booked - timedelta(days=rng.randint(5, 90)),
        "updated_at": booked,
        "last_sync_time": LAST_RUN_AT,
    }


def build_reservations(data: Dataset, rng: random.Random) -> None:
    """The reservations, each recorded with its region and under its property."""
    rows = []
    for i in range(reservation_count(data.scale, data.guest_plan)):
        row = _row(i + 1, data, rng)
        data.reservation_region[row["id"]] = row["region_code"]
        data.reservations_of.setdefault(row["property_pk"], []).append(row["id"])
        rows.append(row)
    data.parents["reservations"] = rows
