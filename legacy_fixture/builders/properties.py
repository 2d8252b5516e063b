"""Properties: spread over the regions in turn, each with an address, notes and wifi."""

import random
from datetime import timedelta
from decimal import Decimal

from legacy_fixture.dataset import Dataset, Region, Row
from legacy_fixture.plan import LAST_RUN_AT, REGIONS_CREATED_AT, property_count
from legacy_fixture.vocabulary import PROPERTY_WORDS, STREETS, digest


def _row(index: int, region: Region, rng: random.Random, seed: int) -> Row:
    pid = str(431_000 + 17 * index)
    name = f"{rng.choice(PROPERTY_WORDS[0])} {rng.choice(PROPERTY_WORDS[1])} {index + 1}"
    born = REGIONS_CREATED_AT + timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 1439))
    # In column order, which is also the order of the draws from rng: keep it.
    return {
        "id": index + 1,
        "region_code": region.code,
        "property_id": pid,
        "company_id": region.company_id,
        "property_name": name,
        "property_status": rng.choice(("active", "active", "inactive")),
        "property_display": f"{name} ({region.city})",
        "property_address1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
        "property_address2": rng.choice((None, None, f"Unit {rng.randint(1, 40)}")),
        "property_city": region.city,
        "property_state": region.state,
        "property_zipcode": f"{rng.randint(10000, 99999)}",
        "property_country": "US",
        "property_building": None,
        "latitude_numeric": Decimal(f"{region.latitude + rng.uniform(-0.2, 0.2):.7f}"),
        "longitude_numeric": Decimal(f"{region.longitude + rng.uniform(-0.2, 0.2):.7f}"),
        "reference_company_id": str(region.company_id),
        "reference_property_id": f"PMS-{pid}",
        "reference_external_property_id": f"EXT-{digest('prop', seed, pid, length=10)}",
        "wifi_name": f"{name.split()[0]}Guest",
        "wifi_password": digest("wifi", seed, pid, length=12),
        "property_notes_general": "Owner prefers eco products.",
        "property_notes_access": "Lockbox on the left of the front door.",
        "property_notes_guest_access": "Code is sent 24 h before arrival.",
        "property_notes_direction": None,
        "property_notes_trash_info": "Bins go out on Tuesday night.",
        "property_notes_wifi": None,
        "created_at": born,
        "updated_at": born + timedelta(days=30),
        "last_sync_time": LAST_RUN_AT,
    }


def build_properties(data: Dataset, rng: random.Random) -> None:
    """The properties, each recorded with its region and external id."""
    regions = list(data.region_info.values())
    rows = []
    for i in range(property_count(data.scale, data.regions)):
        row = _row(i, regions[i % len(regions)], rng, data.seed)
        data.property_region[row["id"]] = row["region_code"]
        data.property_ext_id[row["id"]] = row["property_id"]
        rows.append(row)
    data.parents["properties"] = rows
