"""Every row to write, decided up front from (scale, seed, regions), and what builders share."""

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from legacy_fixture.slots import ChildPlan
from legacy_fixture.summary import GenerationSummary, TableSummary

Row = dict[str, Any]  # one row of a table, by column


@dataclass(frozen=True, slots=True)
class Region:
    """A region: its code and name, where its properties are, its company."""

    code: str
    name: str
    city: str
    state: str
    latitude: float
    longitude: float
    company_id: int


@dataclass
class Dataset:
    """The rows of every legacy table (children as slots and runs), and lookups between them.

    The builders fill it table by table; a builder reads what earlier ones recorded (a task's
    region, a property's reservations, ...) from the lookups.
    """

    scale: float
    seed: int
    regions: int
    parents: dict[str, list[Row]] = field(default_factory=dict)
    children: dict[str, ChildPlan] = field(default_factory=dict)
    comments: list[Row] = field(default_factory=list)
    # Lookups the children are built from, filled with the parents.
    region_info: dict[str, Region] = field(default_factory=dict, repr=False)
    property_region: dict[int, str] = field(default_factory=dict, repr=False)
    property_ext_id: dict[int, str] = field(default_factory=dict, repr=False)
    reservation_region: dict[int, str] = field(default_factory=dict, repr=False)
    reservations_of: dict[int, list[int]] = field(default_factory=dict, repr=False)
    task_region: dict[int, str] = field(default_factory=dict, repr=False)
    task_ext_id: dict[int, str] = field(default_factory=dict, repr=False)
    task_started: dict[int, datetime] = field(default_factory=dict, repr=False)
    tags_of: dict[str, list[int]] = field(default_factory=dict, repr=False)
    people_of: dict[str, list[str]] = field(default_factory=dict, repr=False)
    # (reservations with all-NULL guests, reservations with real guests): plan.guest_groups
    guest_plan: tuple[int, int] = (0, 0)

    def rng(self, name: str) -> random.Random:
        """The random generator of one stream (a table, or all the parents) for this seed."""
        return random.Random(f"legacy:{self.seed}:{name}")

    def summary(self, vendor: str) -> GenerationSummary:
        """Per-table figures of the children and task_comments, and the parents' row counts."""
        tables = {
            name: TableSummary(
                name, c.total, c.distinct, c.divergent_groups, c.null_sync_groups, c.inverted_groups
            )
            for name, c in self.children.items()
        }
        tables["task_comments"] = TableSummary(
            "task_comments", len(self.comments), len(self.comments)
        )
        return GenerationSummary(
            scale=self.scale,
            seed=self.seed,
            regions=self.regions,
            vendor=vendor,
            tables=tables,
            parent_rows={t: len(rows) for t, rows in self.parents.items()},
        )
