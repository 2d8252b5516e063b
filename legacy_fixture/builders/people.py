"""People: the same names in every region, at least eight (task assignments need them)."""

import json
import random

from legacy_fixture.dataset import Dataset
from legacy_fixture.plan import LAST_RUN_AT, people_per_region
from legacy_fixture.vocabulary import person_name

AVAILABILITY = json.dumps({"monday": ["08:00-17:00"], "friday": ["08:00-12:00"]})


def build_people(data: Dataset, rng: random.Random) -> None:
    """The people of every region, each name recorded under its region."""
    per_region = people_per_region(data.scale, data.regions)
    rows = []
    for r, code in enumerate(data.region_info):
        for j in range(per_region):
            name = person_name(j)
            rows.append(
                {
                    "id": len(rows) + 1,
                    "region_code": code,
                    "person_id": str(7_000_000 + 1000 * r + j),
                    "person_name": name,
                    # Drawn in this order: keep it.
                    "active": rng.random() < 0.9,
                    "accept_decline_tasks": rng.random() < 0.5,
                    "availability": AVAILABILITY,
                    "last_sync_time": LAST_RUN_AT,
                }
            )
            data.people_of.setdefault(code, []).append(name)
    data.parents["people"] = rows
