"""The scaled plan: the incident's figures, the arguments' limits, how many rows each table gets."""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

# Part 2.1 of the incident report: (total rows, distinct natural keys) per child table.
SEED_FIGURES: dict[str, tuple[int, int]] = {
    "property_photos": (10_192_750, 16_113),
    "task_requirements": (24_174_099, 26_580),
    "reservation_guests": (1_763_359, 4_321),
    "task_assignments": (1_485_262, 41_061),
    "task_photos": (715_312, 26_063),
    "task_tags": (2_921, 2_921),
}
MAX_SCALE = 5.0
MAX_REGIONS = 50

# The hour of the last run of the old loader before the incident report.
LAST_RUN_AT = datetime(2025, 12, 2, 1, 0, tzinfo=UTC)
# When the regions were set up: properties and supplies were created after it.
REGIONS_CREATED_AT = LAST_RUN_AT - timedelta(days=400)


def validate_arguments(scale: Any, seed: Any, regions: Any) -> tuple[float, int, int]:
    """The arguments as numbers, or ValueError saying what is wrong."""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a number, got {scale!r}") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_SCALE:
        raise ValueError(f"scale must be > 0 and <= {MAX_SCALE:g}, got {scale!r}")
    try:
        seed_value = int(seed)
        region_count = int(regions)
    except (TypeError, ValueError):
        raise ValueError(f"seed and regions must be integers, got {seed!r}, {regions!r}") from None
    if not 1 <= region_count <= MAX_REGIONS:
        raise ValueError(f"regions must be between 1 and {MAX_REGIONS}, got {regions!r}")
    return value, seed_value, region_count


def scaled_figures(scale: float) -> dict[str, tuple[int, int]]:
    """(total rows, distinct keys) per child table at a scale of the seed's figures."""
    figures = {}
    for table, (total, distinct) in SEED_FIGURES.items():
        keys = max(1, round(scale * distinct))
        figures[table] = (max(keys, round(scale * total)), keys)
    return figures


# Parent tables: enough rows to carry the children, and every region has some.


def property_count(scale: float, regions: int) -> int:
    """About 500 properties per unit of scale, at least one per region."""
    return max(5, regions, round(500 * scale))


def guest_groups(distinct: int) -> tuple[int, int]:
    """(reservations with all-NULL guests, reservations with real guests) for `distinct` keys.

    The old loader wrote one all-NULL row per guest it could not read: those share the key ''
    and make one key per reservation; the real guests, about a fifth, two or so a reservation.
    """
    real = 0 if distinct < 2 else min(distinct - 1, max(3, round(0.2 * distinct)))
    return distinct - real, math.ceil(real / 2)


def reservation_count(scale: float, guests: tuple[int, int]) -> int:
    """About 5000 reservations per unit of scale, enough to carry every guest key."""
    return max(5, sum(guests) + 2, round(5000 * scale))


def task_count(scale: float) -> int:
    """About 20,000 tasks per unit of scale."""
    return max(10, round(20_000 * scale))


def people_per_region(scale: float, regions: int) -> int:
    """About 300 people per unit of scale over the regions, at least 8 in each."""
    return max(8, math.ceil(300 * scale / regions))


def supplies_per_region(scale: float, regions: int, names: int) -> int:
    """About 200 supplies per unit of scale over the regions, at least one of each name."""
    return max(names, round(200 * scale / regions))


def comment_count(tasks: int) -> int:
    """A comment on about one task in twenty, at least three."""
    return max(3, round(0.05 * tasks))
