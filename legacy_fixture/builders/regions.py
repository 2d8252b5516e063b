"""Regions: the catalogue's first, then made-up ones; each its own company."""

from legacy_fixture.dataset import Dataset, Region, Row
from legacy_fixture.plan import REGIONS_CREATED_AT
from legacy_fixture.vocabulary import REGION_CATALOGUE


def region(index: int) -> Region:
    """The region at `index` (from 0): the catalogue's, then one made up from the index."""
    if index < len(REGION_CATALOGUE):
        code, name, city, state, lat, lon = REGION_CATALOGUE[index]
    else:
        code, name = f"r{index + 1:02d}", f"Region {index + 1}"
        city, state, lat, lon = "Springfield", "IL", 39.78, -89.65
    return Region(code, name, city, state, lat, lon, company_id=10_000 + index * 37)


def _row(region: Region) -> Row:
    return {
        "region_code": region.code,
        "region_name": region.name,
        "company_id": region.company_id,
        "is_active": True,
        "created_at": REGIONS_CREATED_AT,
        "updated_at": REGIONS_CREATED_AT,
    }


def build_regions(data: Dataset) -> None:
    """data.regions regions, recorded by code (in order) for the tables that follow."""
    regions = [region(i) for i in range(data.regions)]
    data.region_info = {r.code: r for r in regions}
    data.parents["regions"] = [_row(r) for r in regions]
