"""Supplies: the same consumables in every region, numbered when there are more than names."""

import random
from datetime import timedelta
from decimal import Decimal

from legacy_fixture.dataset import Dataset, Region, Row
from legacy_fixture.plan import LAST_RUN_AT, REGIONS_CREATED_AT, supplies_per_region
from legacy_fixture.vocabulary import SUPPLY_NAMES


def _row(pk: int, r: int, region: Region, j: int, rng: random.Random) -> Row:
    name, size = SUPPLY_NAMES[j % len(SUPPLY_NAMES)]
    if j >= len(SUPPLY_NAMES):
        name = f"{name} ({j // len(SUPPLY_NAMES) + 1})"
    stock = rng.randint(0, 120)
    low = stock < 10
    # In column order, which is also the order of the draws from rng: keep it.
    return {
        "id": pk,
        "region_code": region.code,
        "supply_id": str(300_000 + 1000 * r + j),
        "company_id": str(region.company_id),
        "supply_name": name,
        "description": f"{name}, {size}",
        "size": size,
        "internal_id": f"SKU-{r}-{j}",
        "unit_cost": Decimal(f"{rng.uniform(1, 60):.2f}"),
        "stock_count": stock,
        "low_stock_alert": low,
        "low_stock_count": 10,
        "supply_category_id": str(40 + j % 5),
        "stock_status_code": "low" if low else "ok",
        "stock_status_name": "Low stock" if low else "In stock",
        "created_at": REGIONS_CREATED_AT,
        "updated_at": REGIONS_CREATED_AT + timedelta(days=rng.randint(0, 300)),
        "last_sync_time": LAST_RUN_AT,
    }


def build_supplies(data: Dataset, rng: random.Random) -> None:
    """The supplies of every region."""
    per_region = supplies_per_region(data.scale, data.regions, len(SUPPLY_NAMES))
    rows: list[Row] = []
    for r, region in enumerate(data.region_info.values()):
        for j in range(per_region):
            rows.append(_row(len(rows) + 1, r, region, j, rng))
    data.parents["supplies"] = rows
