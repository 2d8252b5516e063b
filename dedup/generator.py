"""Generates a legacy database with the incident's duplicates, scaled, for tests and benches."""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import random
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from django.core.management import call_command
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder

from breezeway.natural_keys import LEGACY_DERIVED_KEYS

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

# The legacy columns of every table (reference/legacy-schema.sql), in the order they are written.
LEGACY_COLUMNS: dict[str, tuple[str, ...]] = {
    "regions": (
        "region_code", "region_name", "company_id", "is_active", "created_at", "updated_at",
    ),
    "properties": (
        "id", "region_code", "property_id", "company_id", "property_name", "property_status",
        "property_display", "property_address1", "property_address2", "property_city",
        "property_state", "property_zipcode", "property_country", "property_building",
        "latitude_numeric", "longitude_numeric", "reference_company_id",
        "reference_property_id", "reference_external_property_id", "wifi_name",
        "wifi_password", "property_notes_general", "property_notes_access",
        "property_notes_guest_access", "property_notes_direction", "property_notes_trash_info",
        "property_notes_wifi", "created_at", "updated_at", "last_sync_time",
    ),
    "reservations": (
        "id", "region_code", "reservation_id", "property_id", "property_pk",
        "reservation_status", "access_code", "checkin_date", "checkin_time", "checkin_early",
        "checkout_date", "checkout_time", "checkout_late", "reservation_note", "guide_url",
        "reference_reservation_id", "reference_property_id", "reference_external_property_id",
        "adults", "children", "pets", "source", "created_at", "updated_at", "last_sync_time",
    ),
    "tasks": (
        "id", "region_code", "task_id", "home_id", "property_pk", "reservation_pk",
        "task_name", "task_description", "task_status", "task_status_code",
        "task_status_name", "task_status_stage", "type_department", "type_priority",
        "scheduled_date", "scheduled_time", "started_at", "finished_at", "paused",
        "template_task_id", "template_name", "report_url", "reference_property_id", "bill_to",
        "rate_type", "rate_paid", "total_cost", "total_time", "estimated_time",
        "estimated_rate", "billable", "itemized_cost", "task_series_id", "parent_task_id",
        "created_by_id", "created_by_name", "finished_by_id", "finished_by_name",
        "requested_by_id", "requested_by_name", "subdepartment_id", "subdepartment_name",
        "summary_note", "linked_reservation_id", "linked_reservation_external_id",
        "created_at", "updated_at", "last_sync_time",
    ),
    "tags": ("id", "region_code", "tag_id", "tag_name", "tag_description", "last_sync_time"),
    "people": (
        "id", "region_code", "person_id", "person_name", "active", "accept_decline_tasks",
        "availability", "last_sync_time",
    ),
    "supplies": (
        "id", "region_code", "supply_id", "company_id", "supply_name", "description", "size",
        "internal_id", "unit_cost", "stock_count", "low_stock_alert", "low_stock_count",
        "supply_category_id", "stock_status_code", "stock_status_name", "created_at",
        "updated_at", "last_sync_time",
    ),
    "property_photos": (
        "id", "property_pk", "region_code", "photo_id", "url", "original_url", "caption",
        "is_default", "last_sync_time",
    ),
    "reservation_guests": (
        "id", "reservation_pk", "region_code", "guest_name", "guest_email", "guest_phone",
        "last_sync_time",
    ),
    "task_assignments": (
        "id", "task_pk", "region_code", "assignee_id", "assignee_name", "assignment_status",
        "last_sync_time",
    ),
    "task_photos": (
        "id", "task_pk", "region_code", "photo_id", "url", "caption", "uploaded_at",
        "last_sync_time",
    ),
    "task_requirements": (
        "id", "task_pk", "region_code", "requirement_id", "section_name", "action", "response",
        "type_requirement", "photo_required", "photos", "note", "home_element_name",
        "last_sync_time",
    ),
    "task_tags": ("id", "task_pk", "tag_pk", "region_code", "last_sync_time"),
    "task_comments": (
        "id", "task_pk", "region_code", "comment_id", "comment", "author_id", "author_name",
        "created_at", "updated_at", "last_sync_time",
    ),
}  # fmt: skip
PARENT_TABLES = ("regions", "properties", "reservations", "tasks", "tags", "people", "supplies")
CHILD_TABLES = tuple(SEED_FIGURES)
# Children first: the order in which the tables can be emptied.
ALL_TABLES = (*CHILD_TABLES, "task_comments", *reversed(PARENT_TABLES))
# The tables the incident duplicated (no natural-key constraint in the legacy schema).
DUPLICATED_TABLES = tuple(t for t in CHILD_TABLES if t != "task_tags")

PARENT_COLUMN = {
    "property_photos": "property_pk",
    "reservation_guests": "reservation_pk",
    "task_assignments": "task_pk",
    "task_photos": "task_pk",
    "task_requirements": "task_pk",
    "task_tags": "task_pk",
}
# Columns whose value changes at some run in a divergent group (the key stays the same).
DIVERGENT_COLUMNS = {
    "property_photos": ("url", "original_url", "caption"),
    "reservation_guests": ("guest_name", "guest_email", "guest_phone"),
    "task_assignments": ("assignment_status",),
    "task_photos": ("caption",),
    "task_requirements": ("response", "note"),
    "task_tags": (),
}
# PostgreSQL types of the value columns, for the staging tables.
STAGING_TYPES = {
    "action": "jsonb",
    "photos": "jsonb",
    "is_default": "boolean",
    "photo_required": "boolean",
    "uploaded_at": "timestamptz",
    "tag_pk": "bigint",
}
JSON_COLUMNS = frozenset({"action", "photos", "availability"})


class LegacyDatabaseError(Exception):
    """The database is not in a state the generator may fill (remediated, not empty, ...)."""


@dataclass
class TableSummary:
    """What was generated for one child table."""

    table: str
    total_rows: int
    distinct_keys: int
    divergent_groups: int = 0
    null_sync_groups: int = 0
    inverted_groups: int = 0

    @property
    def duplication_factor(self) -> float:
        return self.total_rows / self.distinct_keys if self.distinct_keys else 0.0


@dataclass
class GenerationSummary:
    """What generate_legacy_data() wrote: per-table figures, parents, time taken."""

    scale: float
    seed: int
    regions: int
    vendor: str
    tables: dict[str, TableSummary]
    parent_rows: dict[str, int]
    seconds: float = 0.0
    migrated: bool = False

    @property
    def total_rows(self) -> int:
        return sum(t.total_rows for t in self.tables.values())

    def lines(self) -> list[str]:
        """The summary as readable text lines."""
        out = [
            f"Legacy data at scale {self.scale:g} (seed {self.seed}, {self.regions} regions) "
            f"on {self.vendor}:",
            "  parents: " + ", ".join(f"{t} {n:,}" for t, n in self.parent_rows.items()),
            f"  {'table':<20} {'rows':>12} {'distinct keys':>14} {'factor':>9} "
            f"{'divergent':>10} {'null sync':>10} {'inverted':>9}",
        ]
        for t in self.tables.values():
            out.append(
                f"  {t.table:<20} {t.total_rows:>12,} {t.distinct_keys:>14,} "
                f"{t.duplication_factor:>8.1f}x {t.divergent_groups:>10,} "
                f"{t.null_sync_groups:>10,} {t.inverted_groups:>9,}"
            )
        distinct = sum(t.distinct_keys for t in self.tables.values())
        out.append(f"  {'total':<20} {self.total_rows:>12,} {distinct:>14,}")
        out.append(f"Done in {self.seconds:.1f} s.")
        return out


def scaled_figures(scale: float) -> dict[str, tuple[int, int]]:
    """(total rows, distinct keys) per child table at a scale of the seed's figures."""
    figures = {}
    for table, (total, distinct) in SEED_FIGURES.items():
        keys = max(1, round(scale * distinct))
        figures[table] = (max(keys, round(scale * total)), keys)
    return figures


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


def generate_legacy_data(
    scale: float, seed: int = 1, regions: int = 3, using: str = "default", replace: bool = False
) -> GenerationSummary:
    """Fill the legacy tables of database `using` with the incident's duplicates at `scale`.

    Migrates breezeway to 0001 first when its tables do not exist. Raises ValueError for bad
    arguments and LegacyDatabaseError (before writing anything) when the database is past the
    legacy state or, without `replace`, already holds rows.
    """
    scale, seed, regions = validate_arguments(scale, seed, regions)
    started = time.monotonic()
    connection = connections[using]
    needs_migration = check_database_state(connection, replace=replace)
    plan = LegacyPlan.build(scale, seed, regions)
    if needs_migration:
        call_command("migrate", "breezeway", "0001", database=using, verbosity=0)
        check_database_state(connection, replace=replace)
    writer = _PostgresWriter if connection.vendor == "postgresql" else _SimpleWriter
    with transaction.atomic(using=using):
        writer(connection, plan).write(replace=replace)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Set the hint bits and visibility map now, so later benchmarks do not pay for them.
            # VACUUM cannot run in a transaction: inside the caller's, statistics only.
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for table in ALL_TABLES:
                cursor.execute(f"{command} {connection.ops.quote_name(table)}")
        else:
            cursor.execute("ANALYZE")
    summary = plan.summary(connection.vendor)
    summary.migrated = needs_migration
    summary.seconds = time.monotonic() - started
    return summary


# --- Database state --------------------------------------------------------------------------


def check_database_state(connection: BaseDatabaseWrapper, replace: bool = False) -> bool:
    """True when breezeway 0001 must be applied first; LegacyDatabaseError when refused."""
    hint = "Use a fresh database, or one at `manage.py migrate breezeway 0001`."
    applied = MigrationRecorder(connection).applied_migrations()
    breezeway = sorted(name for app, name in applied if app == "breezeway")
    later = [name for name in breezeway if name != "0001_initial"]
    if later:
        raise LegacyDatabaseError(
            f"breezeway migrations past 0001 are applied ({', '.join(later)}): the database "
            f"is already remediated, not legacy. {hint}"
        )
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        present = [t for t in ALL_TABLES if t in existing]
        if not present:
            if breezeway:
                raise LegacyDatabaseError(
                    "breezeway 0001 is recorded as applied but its tables are missing. " + hint
                )
            return True
        missing = [t for t in ALL_TABLES if t not in existing]
        if missing:
            raise LegacyDatabaseError(
                f"the legacy schema is incomplete: missing {', '.join(missing)}. {hint}"
            )
        for table in DUPLICATED_TABLES:
            constraints = connection.introspection.get_constraints(cursor, table)
            unique = sorted(
                name for name, c in constraints.items() if c["unique"] and not c["primary_key"]
            )
            if unique:
                raise LegacyDatabaseError(
                    f"{table} already has natural-key constraints ({', '.join(unique)}): the "
                    f"database is remediated, not legacy. {hint}"
                )
            columns = {
                c.name for c in connection.introspection.get_table_description(cursor, table)
            }
            extra = sorted(columns - set(LEGACY_COLUMNS[table]))
            if extra:
                raise LegacyDatabaseError(
                    f"{table} has columns the legacy schema does not ({', '.join(extra)}): the "
                    f"database is past the legacy state. {hint}"
                )
        if not replace:
            quote = connection.ops.quote_name
            filled = []
            for table in ALL_TABLES:
                cursor.execute(f"SELECT 1 FROM {quote(table)} LIMIT 1")
                if cursor.fetchone():
                    filled.append(table)
            if filled:
                raise LegacyDatabaseError(
                    f"the legacy tables already hold rows ({', '.join(filled)}). Pass --replace "
                    "(replace=True from Python) to empty them first, or use a fresh database."
                )
    return False


# --- The plan: every value decided in Python, written by SQL (PostgreSQL) or row by row ------

FIRST_NAMES = (
    "Maria", "James", "Aiyana", "Chen", "Olivia", "Liam", "Sofia", "Noah", "Fatima", "Lucas",
    "Amara", "Ethan", "Priya", "Mateo", "Hannah", "Kenji", "Grace", "Diego", "Ingrid", "Omar",
    "Zoë", "Andrés", "Siobhán", "Björn", "Chloé", "Tomás", "Nadia", "Elijah", "Leila", "Marcus",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Nguyen", "Johnson", "Müller", "Brown", "O'Connor", "Patel", "Rossi",
    "Kowalski", "Williams", "Haddad", "Silva", "Novak", "Jones", "Tanaka", "Martin", "Dubois",
    "Lopez", "Andersen", "Kim", "Moore", "Okafor", "Taylor", "Fischer", "Ramírez", "Clark",
    "Lewis", "Walker", "Young",
)  # fmt: skip
REGION_CATALOGUE = (
    ("nyc", "New York City", "New York", "NY", 40.7128, -74.0060),
    ("mia", "Miami Beach", "Miami Beach", "FL", 25.7907, -80.1300),
    ("den", "Denver Mountains", "Breckenridge", "CO", 39.4817, -106.0384),
    ("sea", "Seattle Waterfront", "Seattle", "WA", 47.6062, -122.3321),
    ("aus", "Austin Hill Country", "Austin", "TX", 30.2672, -97.7431),
    ("chs", "Charleston Coast", "Charleston", "SC", 32.7765, -79.9311),
    ("sdg", "San Diego", "San Diego", "CA", 32.7157, -117.1611),
    ("obx", "Outer Banks", "Nags Head", "NC", 35.9574, -75.6241),
    ("tah", "Lake Tahoe", "South Lake Tahoe", "CA", 38.9399, -119.9772),
    ("sav", "Savannah Historic", "Savannah", "GA", 32.0809, -81.0912),
)
PROPERTY_WORDS = (
    ("Seaside", "Harbor", "Pine", "Sunset", "Maple", "Coral", "Aspen", "Lakeview", "Magnolia"),
    ("Cottage", "Retreat", "Loft", "Bungalow", "Villa", "Cabin", "Suite", "House", "Flat"),
)
STREETS = ("Ocean Ave", "Main St", "Elm St", "Bayshore Dr", "Ridge Rd", "Palm Way", "King St")
PHOTO_CAPTIONS = (
    "Living room", "Kitchen", "Primary bedroom - king bed", "Second bedroom", "Bathroom",
    "Ocean view from the balcony", "Dining area", "Front entrance", "Backyard and patio",
    "Hot tub", "Pool", "Bunk room", "Game room", "Laundry", "Parking", "Street view",
)  # fmt: skip
TASK_TEMPLATES = (
    ("Departure Clean", "housekeeping", "Full clean after checkout"),
    ("Mid-stay Clean", "housekeeping", "Refresh during the stay"),
    ("Inspection", "inspection", "Pre-arrival inspection"),
    ("HVAC filter change", "maintenance", "Replace the HVAC filters"),
    ("Hot tub service", "maintenance", "Test and balance the water"),
    ("Linen delivery", "housekeeping", "Deliver fresh linens"),
    ("Pool service", "maintenance", "Weekly pool service"),
    ("Restock supplies", "housekeeping", "Restock consumables"),
)
TASK_STATUSES = (
    ("created", "Created", "new"),
    ("in_progress", "In progress", "in_progress"),
    ("finished", "Finished", "finished"),
    ("approved", "Approved", "finished"),
)
CHECKLIST_SECTIONS = (
    ("Kitchen", ("Refrigerator", "Oven", "Dishwasher", "Countertops")),
    ("Bathrooms", ("Shower", "Toilet", "Vanity", "Towels")),
    ("Bedrooms", ("Beds", "Closets", "Nightstands", "Windows")),
    ("Living Areas", ("Sofa", "TV and remotes", "Floors", "Fireplace")),
    ("Exterior", ("Patio furniture", "Grill", "Hot tub", "Trash bins")),
    ("Final Walkthrough", ("Thermostat", "Lights", "Doors and locks", "Welcome book")),
)
CHECKLIST_ACTIONS = (
    ("Clean", "Wipe down all surfaces", "Check for damage"),
    ("Inspect", "Photograph", "Report any issue"),
)
TAG_NAMES = (
    "VIP", "Owner stay", "Pet friendly", "Deep clean", "Late checkout", "Early checkin",
    "Damage", "Lost and found", "Inspection failed", "Restock", "Hot tub", "Pool",
)  # fmt: skip
SUPPLY_NAMES = (
    ("Toilet paper", "24 pack"), ("Paper towels", "12 rolls"), ("Dish soap", "750 ml"),
    ("Coffee pods", "48 count"), ("Trash bags", "13 gal, 90 count"), ("Shampoo", "1 l"),
    ("Laundry detergent", "2.5 l"), ("Light bulbs", "LED 60 W, 8 pack"),
)  # fmt: skip


def _digest(*parts: Any, length: int = 32) -> str:
    text = ":".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=32).hexdigest()[:length]


def _person_name(index: int) -> str:
    """A distinct full name for each index (distinct after lower-casing too)."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    middle = index // (len(FIRST_NAMES) * len(LAST_NAMES))
    if not middle:
        return f"{first} {last}"
    return f"{first} {chr(65 + (middle - 1) % 26)}{(middle - 1) // 26 or ''}. {last}"


def _split(total: int, parents: int, rng: random.Random, cap: int | None = None) -> list[int]:
    """`total` children over `parents` parents, at least one each, varied, at most `cap`."""
    if parents <= 0 or parents > total:
        raise ValueError("need between 1 and `total` parents")
    weights = [rng.uniform(0.3, 1.7) for _ in range(parents)]
    rest = total - parents
    scale = rest / sum(weights)
    raw = [w * scale for w in weights]
    counts = [1 + int(x) for x in raw]
    left = total - sum(counts)
    for i in sorted(range(parents), key=lambda i: (int(raw[i]) - raw[i], i))[:left]:
        counts[i] += 1
    if cap is not None:
        if parents * cap < total:
            raise ValueError("capacity too small")
        overflow = sum(max(0, c - cap) for c in counts)
        counts = [min(c, cap) for c in counts]
        i = 0
        while overflow:
            if counts[i] < cap:
                counts[i] += 1
                overflow -= 1
            i = (i + 1) % parents
    return counts


def _allocate_copies(total: int, slots: list[Slot]) -> None:
    """Give each slot its copy count so that copies x width sums to exactly `total`."""
    weight = sum(s.age * s.width for s in slots)
    factor = total / weight
    raw = [s.age * factor for s in slots]
    for s, x in zip(slots, raw, strict=True):
        s.copies = max(1, int(x))
    diff = total - sum(s.copies * s.width for s in slots)
    if diff < 0:  # clamping small slots to one copy overshot: take copies from the largest
        heap = [(-s.copies, i) for i, s in enumerate(slots) if s.copies > 1]
        heapq.heapify(heap)
        while diff < 0:
            _, i = heapq.heappop(heap)
            slots[i].copies -= 1
            diff += slots[i].width
            if slots[i].copies > 1:
                heapq.heappush(heap, (-slots[i].copies, i))
    singles = sorted(
        (i for i, s in enumerate(slots) if s.width == 1), key=lambda i: (int(raw[i]) - raw[i], i)
    )
    if diff and not singles:
        raise ValueError("cannot reach the total without a single-width slot")
    for n in range(diff):
        slots[singles[n % len(singles)]].copies += 1


@dataclass(slots=True)
class Slot:
    """One natural key's copies in a child table (for all-NULL guests: one guest of several).

    Each run of the loader wrote `width` rows for it; it was written by the last `copies` runs.
    """

    parent_pk: int
    region_code: str
    values: tuple
    age: float = 1.0
    width: int = 1
    copies: int = 1
    new_values: tuple | None = None  # the values from run `div_run` on (divergent groups)
    div_run: int = 0
    null_run: int = 0  # the run whose first row has a NULL last_sync_time
    inverted: bool = False  # the last copy's last_sync_time is older than the one before
    jitter: int = 0  # seconds into the hour the loader wrote this key
    divergence: str = ""


@dataclass
class ChildPlan:
    """A child table's slots, sorted by copies (most first), and its run structure."""

    table: str
    total: int
    distinct: int
    slots: list[Slot]
    runs: int = 0
    divergent_groups: int = 0
    null_sync_groups: int = 0
    inverted_groups: int = 0

    @property
    def value_columns(self) -> tuple[str, ...]:
        return LEGACY_COLUMNS[self.table][3:-1] if self.table != "task_tags" else ("tag_pk",)

    def run_table(self) -> list[tuple[int, int, int]]:
        """(run, slots written in that run, id before the run's first row) for every run."""
        counts = [0] * (self.runs + 2)
        for s in self.slots:
            counts[s.copies] += 1
        prefix = [0]
        for s in self.slots:
            prefix.append(prefix[-1] + s.width)
        out, present, offset = [], 0, 0
        for run in range(1, self.runs + 1):
            # Slots written by run r are those with copies >= runs - r + 1: a prefix of the list.
            present += counts[self.runs - run + 1]
            out.append((run, present, offset))
            offset += prefix[present]
        return out

    def rows(self) -> Iterator[tuple]:
        """Every row (id first), run by run: the rows the SQL path writes, for the simple path."""
        prefix = 0
        starts = []
        for s in self.slots:
            starts.append(prefix)
            prefix += s.width
        tag_table = self.table == "task_tags"
        for run, present, offset in self.run_table():
            for g in range(present):
                s = self.slots[g]
                values = s.new_values if s.div_run and run >= s.div_run else s.values
                base = _sync_time(run, self.runs, s)
                for k in range(1, s.width + 1):
                    synced = None if (run == s.null_run and k == 1) else base
                    if tag_table:
                        yield (offset + starts[g] + k, s.parent_pk, *values, s.region_code, synced)
                    else:
                        yield (offset + starts[g] + k, s.parent_pk, s.region_code, *values, synced)


def _sync_time(run: int, runs: int, slot: Slot) -> datetime:
    at = LAST_RUN_AT + timedelta(hours=run - runs, seconds=slot.jitter)
    if slot.inverted and run == runs:
        at -= timedelta(minutes=90)
    return at


@dataclass
class LegacyPlan:
    """Every row to write, decided up front from (scale, seed, regions)."""

    scale: float
    seed: int
    regions: int
    parents: dict[str, list[tuple]] = field(default_factory=dict)
    children: dict[str, ChildPlan] = field(default_factory=dict)
    comments: list[tuple] = field(default_factory=list)
    # Lookups the children are built from, filled with the parents.
    region_info: dict[str, tuple] = field(default_factory=dict, repr=False)
    property_region: dict[int, str] = field(default_factory=dict, repr=False)
    property_ext_id: dict[int, str] = field(default_factory=dict, repr=False)
    reservation_region: dict[int, str] = field(default_factory=dict, repr=False)
    reservations_of: dict[int, list[int]] = field(default_factory=dict, repr=False)
    task_region: dict[int, str] = field(default_factory=dict, repr=False)
    task_ext_id: dict[int, str] = field(default_factory=dict, repr=False)
    task_started: dict[int, datetime] = field(default_factory=dict, repr=False)
    tags_of: dict[str, list[int]] = field(default_factory=dict, repr=False)
    people_of: dict[str, list[str]] = field(default_factory=dict, repr=False)
    guest_plan: tuple[int, int] = (0, 0)

    def rng(self, name: str) -> random.Random:
        return random.Random(f"legacy:{self.seed}:{name}")

    @classmethod
    def build(cls, scale: float, seed: int, regions: int) -> LegacyPlan:
        plan = cls(scale, seed, regions)
        figures = scaled_figures(scale)
        plan._build_parents(figures)
        plan._build_property_photos(*figures["property_photos"])
        plan._build_guests(*figures["reservation_guests"])
        plan._build_assignments(*figures["task_assignments"])
        plan._build_task_photos(*figures["task_photos"])
        plan._build_requirements(*figures["task_requirements"])
        plan._build_task_tags(*figures["task_tags"])
        plan._build_comments()
        return plan

    def summary(self, vendor: str) -> GenerationSummary:
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

    # Parents ------------------------------------------------------------------------------

    def _build_parents(self, figures: dict[str, tuple[int, int]]) -> None:
        rng = self.rng("parents")
        s = self.scale
        regions = []
        for i in range(self.regions):
            if i < len(REGION_CATALOGUE):
                code, name, city, state, lat, lon = REGION_CATALOGUE[i]
            else:
                code, name, city, state, lat, lon = (
                    f"r{i + 1:02d}",
                    f"Region {i + 1}",
                    "Springfield",
                    "IL",
                    39.78,
                    -89.65,
                )
            regions.append((code, name, city, state, lat, lon, 10_000 + i * 37))
        self.region_info = {r[0]: r for r in regions}
        created = LAST_RUN_AT - timedelta(days=400)
        self.parents["regions"] = [
            (code, name, company, True, created, created)
            for code, name, _, _, _, _, company in regions
        ]
        codes = [r[0] for r in regions]

        # Properties: about 500 per unit of scale, every region has some.
        n_props = max(5, self.regions, round(500 * s))
        props = []
        for i in range(n_props):
            pk = i + 1
            code, _, city, state, lat, lon, company = regions[i % self.regions]
            pid = str(431_000 + 17 * i)
            name = f"{rng.choice(PROPERTY_WORDS[0])} {rng.choice(PROPERTY_WORDS[1])} {i + 1}"
            born = created + timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 1439))
            props.append((
                pk, code, pid, company, name, rng.choice(("active", "active", "inactive")),
                f"{name} ({city})", f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                rng.choice((None, None, f"Unit {rng.randint(1, 40)}")), city, state,
                f"{rng.randint(10000, 99999)}", "US", None,
                Decimal(f"{lat + rng.uniform(-0.2, 0.2):.7f}"),
                Decimal(f"{lon + rng.uniform(-0.2, 0.2):.7f}"),
                str(company), f"PMS-{pid}", f"EXT-{_digest('prop', self.seed, pid, length=10)}",
                f"{name.split()[0]}Guest", _digest("wifi", self.seed, pid, length=12),
                "Owner prefers eco products.", "Lockbox on the left of the front door.",
                "Code is sent 24 h before arrival.", None, "Bins go out on Tuesday night.", None,
                born, born + timedelta(days=30), LAST_RUN_AT,
            ))  # fmt: skip
            self.property_region[pk] = code
            self.property_ext_id[pk] = pid
        self.parents["properties"] = props

        # Reservations: enough to carry every guest key, about 5000 per unit of scale.
        self.guest_plan = self._plan_guest_groups(*figures["reservation_guests"])
        need = self.guest_plan[0] + self.guest_plan[1] + 2
        n_res = max(5, need, round(5000 * s))
        reservations = []
        for i in range(n_res):
            pk = i + 1
            prop = rng.randint(1, n_props)
            code = self.property_region[prop]
            checkin = date(2025, 6, 1) + timedelta(days=rng.randint(0, 240))
            rid = str(9_800_000 + 3 * i)
            reservations.append((
                pk, code, rid, self.property_ext_id[prop], prop,
                rng.choice(("confirmed", "confirmed", "checked_out", "cancelled")),
                f"{rng.randint(0, 9999):04d}", checkin, dtime(16, 0), rng.random() < 0.1,
                checkin + timedelta(days=rng.randint(2, 9)), dtime(10, 0), rng.random() < 0.1,
                rng.choice((None, "Guest arriving late", "Anniversary trip")),
                f"https://guide.breezeway.io/{_digest('guide', self.seed, rid, length=16)}",
                f"R-{rid}", f"PMS-{self.property_ext_id[prop]}", None,
                rng.randint(1, 6), rng.randint(0, 3), rng.randint(0, 1),
                rng.choice(("airbnb", "vrbo", "direct", "booking.com")),
                datetime.combine(checkin, dtime(9, 0), UTC) - timedelta(days=rng.randint(5, 90)),
                datetime.combine(checkin, dtime(9, 0), UTC), LAST_RUN_AT,
            ))  # fmt: skip
            self.reservation_region[pk] = code
            self.reservations_of.setdefault(prop, []).append(pk)
        self.parents["reservations"] = reservations

        # Tasks: about 20,000 per unit of scale.
        n_tasks = max(10, round(20_000 * s))
        tasks = []
        for i in range(n_tasks):
            pk = i + 1
            prop = rng.randint(1, n_props)
            code = self.property_region[prop]
            linked = self.reservations_of.get(prop)
            res = rng.choice(linked) if linked and rng.random() < 0.6 else None
            name, department, description = rng.choice(TASK_TEMPLATES)
            status, status_name, stage = rng.choice(TASK_STATUSES)
            day = date(2025, 6, 1) + timedelta(days=rng.randint(0, 180))
            start = datetime.combine(day, dtime(rng.randint(8, 15), 0), UTC)
            done = stage == "finished"
            tid = str(60_000_000 + 7 * i)
            creator = _person_name(rng.randrange(900))
            tasks.append((
                pk, code, tid, self.property_ext_id[prop], prop, res, name, description, status,
                status, status_name, stage, department,
                rng.choice(("normal", "normal", "high", "low", "urgent")), day, start.time(),
                start if status != "created" else None,
                start + timedelta(minutes=rng.randint(30, 240)) if done else None, False,
                str(900 + TASK_TEMPLATES.index((name, department, description))), name,
                f"https://app.breezeway.io/task/report/{_digest('report', self.seed, tid)}",
                f"PMS-{self.property_ext_id[prop]}", rng.choice(("owner", "guest", "company")),
                "hourly", Decimal(f"{rng.uniform(15, 45):.2f}"),
                Decimal(f"{rng.uniform(20, 400):.2f}"),
                f"{rng.randint(0, 5)}:{rng.randint(0, 59):02d}",
                f"{rng.randint(1, 4)}:00", Decimal(f"{rng.uniform(15, 45):.2f}"),
                rng.random() < 0.7, False, None, None, str(7_000_000 + rng.randrange(900)),
                creator, None, None, None, None, None, None,
                "All good." if done else None,
                str(9_800_000 + 3 * (res - 1)) if res else None, None,
                start - timedelta(days=rng.randint(1, 20)), start, LAST_RUN_AT,
            ))  # fmt: skip
            self.task_region[pk] = code
            self.task_ext_id[pk] = tid
            self.task_started[pk] = start
        self.parents["tasks"] = tasks

        # Tags: a dozen per region; people and supplies, a few per region at least.
        tags = []
        for r, code in enumerate(codes):
            for j, tag in enumerate(TAG_NAMES):
                pk = len(tags) + 1
                tags.append(
                    (pk, code, str(5000 + 100 * r + j), tag, f"Tasks tagged {tag}", LAST_RUN_AT)
                )
                self.tags_of.setdefault(code, []).append(pk)
        self.parents["tags"] = tags

        per_region = max(8, math.ceil(300 * s / self.regions))
        people = []
        for r, code in enumerate(codes):
            for j in range(per_region):
                name = _person_name(j)
                people.append((
                    len(people) + 1, code, str(7_000_000 + 1000 * r + j), name,
                    rng.random() < 0.9, rng.random() < 0.5,
                    json.dumps({"monday": ["08:00-17:00"], "friday": ["08:00-12:00"]}), LAST_RUN_AT,
                ))  # fmt: skip
                self.people_of.setdefault(code, []).append(name)
        self.parents["people"] = people

        supplies = []
        for r, code in enumerate(codes):
            company = regions[r][6]
            for j in range(max(len(SUPPLY_NAMES), round(200 * s / self.regions))):
                name, size = SUPPLY_NAMES[j % len(SUPPLY_NAMES)]
                if j >= len(SUPPLY_NAMES):
                    name = f"{name} ({j // len(SUPPLY_NAMES) + 1})"
                stock = rng.randint(0, 120)
                supplies.append((
                    len(supplies) + 1, code, str(300_000 + 1000 * r + j), str(company), name,
                    f"{name}, {size}", size, f"SKU-{r}-{j}", Decimal(f"{rng.uniform(1, 60):.2f}"),
                    stock, stock < 10, 10, str(40 + j % 5),
                    "low" if stock < 10 else "ok", "Low stock" if stock < 10 else "In stock",
                    created, created + timedelta(days=rng.randint(0, 300)), LAST_RUN_AT,
                ))  # fmt: skip
        self.parents["supplies"] = supplies

    def _pick_tasks(self, rng: random.Random, share: float, groups: int, cap: int | None):
        n_tasks = len(self.parents["tasks"])
        least = math.ceil(groups / cap) if cap else 1
        chosen = min(groups, n_tasks, max(least, round(share * n_tasks)))
        tasks = rng.sample(range(1, n_tasks + 1), chosen)
        return tasks, _split(groups, chosen, rng, cap)

    # Children -----------------------------------------------------------------------------

    def _finish(
        self, table: str, total: int, distinct: int, slots: list[Slot], rng: random.Random
    ) -> None:
        """Allocate copies, order the slots, choose the special groups, check the keys."""
        _allocate_copies(total, slots)
        slots.sort(key=lambda s: -s.copies)  # stable: a parent's keys stay together
        runs = max(s.copies for s in slots)
        plan = ChildPlan(table, total, distinct, slots, runs)
        for s in slots:
            s.jitter = rng.randrange(0, 1800)
        if table != "task_tags":
            self._choose_specials(plan, rng)
        _check_keys(plan)
        self.children[table] = plan

    def _choose_specials(self, plan: ChildPlan, rng: random.Random) -> None:
        runs = plan.runs
        duplicated = [i for i, s in enumerate(plan.slots) if s.copies * s.width > 1]
        multi = [i for i, s in enumerate(plan.slots) if s.copies > 1]
        used: set[int] = set()
        # Divergent groups: 0.1 % of the duplicate groups, at least one (guests: one per kind).
        kinds = DIVERGENCE_KINDS[plan.table]
        eligible = [
            i
            for i in multi
            if plan.slots[i].width == 1 and any(v is not None for v in plan.slots[i].values)
        ]
        least = len(kinds) if plan.table == "reservation_guests" else 1
        wanted = max(least, round(0.001 * len(duplicated)))
        for n, i in enumerate(sorted(rng.sample(eligible, min(wanted, len(eligible))))):
            s = plan.slots[i]
            first = runs - s.copies + 1
            s.div_run = rng.randint(first + 1, runs)
            s.divergence = kinds[n % len(kinds)]
            s.values, s.new_values = DIVERGE[plan.table](s, s.divergence, rng)
            used.add(i)
        plan.divergent_groups = len(used)
        # A few groups whose newest copy (highest id) carries an older sync time.
        pool = [i for i in multi if i not in used]
        for i in rng.sample(pool, min(len(pool), max(2, round(0.0005 * len(plan.slots))))):
            plan.slots[i].inverted = True
            used.add(i)
            plan.inverted_groups += 1
        # About 1 % of the groups: one copy with a NULL sync time (half of them the newest).
        pool = [i for i in duplicated if i not in used] or [
            i for i in range(len(plan.slots)) if i not in used
        ]
        for n, i in enumerate(
            rng.sample(pool, min(len(pool), max(1, round(0.01 * len(plan.slots)))))
        ):
            s = plan.slots[i]
            s.null_run = runs if n % 2 == 0 else rng.randint(runs - s.copies + 1, runs)
            plan.null_sync_groups += 1

    def _build_property_photos(self, total: int, distinct: int) -> None:
        rng = self.rng("property_photos")
        n_props = len(self.parents["properties"])
        owners = rng.sample(range(1, n_props + 1), min(distinct, n_props))
        counts = _split(distinct, len(owners), rng)
        slots = []
        for prop, count in zip(owners, counts, strict=True):
            age = rng.uniform(0.4, 1.6)
            code = self.property_region[prop]
            company = self.region_info[code][6]
            pid = self.property_ext_id[prop]
            for j in range(count):
                n = len(slots)
                photo_id = None if rng.random() < 0.03 else str(571_000_000 + 7 * n)
                token = _digest("pp", self.seed, n)
                url = f"https://cdn.breezeway.io/c/{company}/p/{pid}/{token[:28]}.jpg?w=1600"
                original = f"https://s3.amazonaws.com/bw-uploads/{company}/{token[:24]}.jpg"
                caption = rng.choice(PHOTO_CAPTIONS) if rng.random() < 0.9 else None
                later = rng.random() < 0.2  # photos added after the property was listed
                slots.append(Slot(
                    prop, code, (photo_id, url, original, caption, j == 0),
                    age=age * (rng.uniform(0.2, 1.0) if later else 1.0),
                ))  # fmt: skip
        self._finish("property_photos", total, distinct, slots, rng)

    def _plan_guest_groups(self, total: int, distinct: int) -> tuple[int, int]:
        """(reservations with all-NULL guests, reservations with real guests) for the guests."""
        real = 0 if distinct < 2 else min(distinct - 1, max(3, round(0.2 * distinct)))
        null_groups = distinct - real
        return null_groups, math.ceil(real / 2)

    def _build_guests(self, total: int, distinct: int) -> None:
        rng = self.rng("reservation_guests")
        null_groups, real_reservations = self.guest_plan
        real = distinct - null_groups
        n_res = len(self.parents["reservations"])
        chosen = rng.sample(range(1, n_res + 1), null_groups + real_reservations)
        slots = []
        for res in chosen[:null_groups]:
            # The old loader wrote one all-NULL row per guest: they share the key ''.
            width = rng.choices((1, 2, 3, 4), weights=(3, 4, 2, 1))[0]
            age = rng.uniform(0.4, 1.6)
            slots.append(Slot(res, self.reservation_region[res], (None, None, None), age, width))
        if sum(s.width for s in slots) + real > total:
            for s in slots:
                s.width = 1
        if not real:
            slots[-1].width = 1
        counts = _split(real, real_reservations, rng, cap=3) if real else []
        serial = 0
        for res, count in zip(chosen[null_groups:], counts, strict=True):
            age = rng.uniform(0.4, 1.6)
            for j in range(count):
                serial += 1
                name = _person_name(3 * res + j)
                local = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
                email = local.lower().replace(" ", ".").replace("'", "").replace("..", ".")
                email = f"{email}.{serial}@example.com"
                kind = rng.random()
                if kind < 0.15:  # name only
                    values = (name, None, f"+1 555 01{serial % 100:02d}")
                elif kind < 0.25:  # an empty email: the key falls back to the name
                    values = (name, "", None)
                elif kind < 0.3:  # email only
                    values = (None, email, None)
                else:
                    values = (name, email, f"+1 555 02{serial % 100:02d}")
                slots.append(Slot(res, self.reservation_region[res], values, age))
        self._finish("reservation_guests", total, distinct, slots, rng)

    def _build_assignments(self, total: int, distinct: int) -> None:
        rng = self.rng("task_assignments")
        cap = min(len(v) for v in self.people_of.values())
        tasks, counts = self._pick_tasks(rng, 0.9, distinct, cap)
        slots = []
        for task, count in zip(tasks, counts, strict=True):
            code = self.task_region[task]
            names = rng.sample(self.people_of[code], count)
            age = rng.uniform(0.4, 1.6)
            for name in names:
                empty = "" if rng.random() < 0.5 else None  # the API id never made it in
                status = rng.choice(("assigned", "accepted", "accepted", "finished"))
                slots.append(Slot(task, code, (empty, name, status), age))
        self._finish("task_assignments", total, distinct, slots, rng)

    def _build_task_photos(self, total: int, distinct: int) -> None:
        rng = self.rng("task_photos")
        tasks, counts = self._pick_tasks(rng, 0.25, distinct, None)
        slots = []
        for task, count in zip(tasks, counts, strict=True):
            code = self.task_region[task]
            age = rng.uniform(0.4, 1.6)
            for j in range(count):
                n = len(slots)
                photo_id = None if rng.random() < 0.05 else str(880_000_000 + 11 * n)
                token = _digest("tp", self.seed, n)
                url = f"https://cdn.breezeway.io/task/{self.task_ext_id[task]}/{token}.jpg"
                caption = rng.choice(("Before", "After", "Damage", "Supplies", None))
                uploaded = self.task_started[task] + timedelta(minutes=5 * j + rng.randint(0, 4))
                slots.append(Slot(task, code, (photo_id, url, caption, uploaded), age))
        self._finish("task_photos", total, distinct, slots, rng)

    def _build_requirements(self, total: int, distinct: int) -> None:
        rng = self.rng("task_requirements")
        tasks, counts = self._pick_tasks(rng, 0.15, distinct, None)
        items = [
            (section, element, actions)
            for section, elements in CHECKLIST_SECTIONS
            for element in elements
            for actions in CHECKLIST_ACTIONS
        ]
        slots = []
        for task, count in zip(tasks, counts, strict=True):
            code = self.task_region[task]
            age = rng.uniform(0.4, 1.6)
            start = rng.randrange(len(items))
            for j in range(count):
                section, element, actions = items[(start + j) % len(items)]
                if j >= len(items):  # a long checklist repeats the template: name the copy
                    element = f"{element} #{j // len(items) + 1}"
                n = len(slots)
                rid = str(3_000_000 + 13 * n) if rng.random() < 0.1 else None
                kind = rng.choice(("checklist", "checklist", "photo", "yes_no"))
                photos = (
                    [f"https://cdn.breezeway.io/req/{_digest('rq', self.seed, n, length=24)}.jpg"]
                    if kind == "photo"
                    else []
                )
                response = rng.choice((None, "Yes", "No", "Done")) if kind != "photo" else None
                note = "Replaced batteries" if rng.random() < 0.05 else None
                # type_requirement stays NULL: the old loader read a field `type` that the API
                # does not send, so every legacy row has a NULL type (API reference, 8.9).
                slots.append(Slot(task, code, (
                    rid, section, json.dumps(list(actions)), response, None, kind == "photo",
                    json.dumps(photos), note, element,
                ), age))  # fmt: skip
        self._finish("task_requirements", total, distinct, slots, rng)

    def _build_task_tags(self, total: int, distinct: int) -> None:
        rng = self.rng("task_tags")
        tasks, counts = self._pick_tasks(rng, 0.1, distinct, len(TAG_NAMES))
        slots = []
        for task, count in zip(tasks, counts, strict=True):
            code = self.task_region[task]
            for tag in rng.sample(self.tags_of[code], count):
                slots.append(Slot(task, code, (tag,)))
        self._finish("task_tags", total, distinct, slots, rng)

    def _build_comments(self) -> None:
        rng = self.rng("task_comments")
        n_tasks = len(self.parents["tasks"])
        for i in range(max(3, round(0.05 * n_tasks))):
            task = rng.randint(1, n_tasks)
            at = self.task_started[task] + timedelta(minutes=rng.randint(5, 300))
            self.comments.append((
                i + 1, task, self.task_region[task], str(12_000_000 + i),
                rng.choice(("Front door sticks, needs a look.", "Guest left a jacket.",
                            "Out of coffee pods.", "All done, photos attached.")),
                str(7_000_000 + rng.randrange(8)), _person_name(rng.randrange(8)), at, at,
                LAST_RUN_AT,
            ))  # fmt: skip


def _diverge_photo(s: Slot, kind: str, rng: random.Random) -> tuple[tuple, tuple]:
    photo_id, url, original, caption, default = s.values
    if kind == "url" and photo_id is not None:  # re-uploaded: new file, same photo id
        return s.values, (photo_id, url.replace("w=1600", "w=1600&v=2"), original + "?v=2",
                          caption, default)  # fmt: skip
    return s.values, (photo_id, url, original, f"{caption or 'Photo'} (updated)", default)


def _diverge_guest(s: Slot, kind: str, rng: random.Random) -> tuple[tuple, tuple]:
    name, email, phone = s.values
    name = name or _person_name(s.parent_pk * 3 + 2)
    if kind == "email_case":  # typed differently in older copies: the key does not change
        if email:
            return (name, f"  {email.upper()} ", phone), (name, email, phone)
        return (f" {name.upper()}  ", email, phone), (name, email, phone)
    if kind == "name_nfd":  # accents decomposed by an older client: NFC makes them one key
        accented = f"Renée {name.split()[-1]} {s.parent_pk}"
        return (unicodedata.normalize("NFD", accented), None, phone), (accented, None, phone)
    return (name, email, phone or "+1 555 0100"), (name, email, "+1 555 0199")


def _diverge_assignment(s: Slot, kind: str, rng: random.Random) -> tuple[tuple, tuple]:
    assignee_id, name, _ = s.values
    return (assignee_id, name, "assigned"), (assignee_id, name, "finished")


def _diverge_task_photo(s: Slot, kind: str, rng: random.Random) -> tuple[tuple, tuple]:
    photo_id, url, caption, uploaded = s.values
    return s.values, (photo_id, url, f"{caption or 'Photo'} - retaken", uploaded)


def _diverge_requirement(s: Slot, kind: str, rng: random.Random) -> tuple[tuple, tuple]:
    values = list(s.values)
    old = (*values[:3], None, *values[4:7], None, values[8])
    new = (*values[:3], "Yes", *values[4:7], "Checked twice", values[8])
    return old, new


DIVERGENCE_KINDS: dict[str, tuple[str, ...]] = {
    "property_photos": ("caption", "url"),
    "reservation_guests": ("email_case", "phone", "name_nfd"),
    "task_assignments": ("status",),
    "task_photos": ("caption",),
    "task_requirements": ("response",),
}
DIVERGE: dict[str, Callable[[Slot, str, random.Random], tuple[tuple, tuple]]] = {
    "property_photos": _diverge_photo,
    "reservation_guests": _diverge_guest,
    "task_assignments": _diverge_assignment,
    "task_photos": _diverge_task_photo,
    "task_requirements": _diverge_requirement,
}


def _check_keys(plan: ChildPlan) -> None:
    """Prove with the key rules that the slots hold exactly `distinct` natural keys."""
    columns = plan.value_columns
    derived = LEGACY_DERIVED_KEYS.get(plan.table)
    if derived is None:

        def key_of(values: tuple) -> Any:
            return values
    else:
        positions = [columns.index(c) for c in derived.sources]

        def key_of(values: tuple) -> Any:
            raw = [values[p] for p in positions]
            raw = [
                json.loads(v) if columns[p] in JSON_COLUMNS and v is not None else v
                for v, p in zip(raw, positions, strict=True)
            ]
            return derived.rule(*raw)

    keys = set()
    for s in plan.slots:
        key = key_of(s.values)
        if s.new_values is not None and key_of(s.new_values) != key:
            raise RuntimeError(f"{plan.table}: a divergent group changes its key")
        keys.add((s.parent_pk, key))
    if len(keys) != plan.distinct:
        raise RuntimeError(f"{plan.table}: planned {len(keys)} keys, not {plan.distinct}")
    rows = sum(s.copies * s.width for s in plan.slots)
    if rows != plan.total:
        raise RuntimeError(f"{plan.table}: planned {rows} rows, not {plan.total}")


# --- Writers ---------------------------------------------------------------------------------


class _Writer:
    def __init__(self, connection: BaseDatabaseWrapper, plan: LegacyPlan) -> None:
        self.connection = connection
        self.plan = plan
        self.quote = connection.ops.quote_name

    def insert_sql(self, table: str, columns: Sequence[str] | None = None) -> str:
        columns = columns or LEGACY_COLUMNS[table]
        names = ", ".join(self.quote(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        return f"INSERT INTO {self.quote(table)} ({names}) VALUES ({marks})"

    def write(self, replace: bool) -> None:
        raise NotImplementedError


class _SimpleWriter(_Writer):
    """Row by row through executemany: for SQLite and the small demo scales."""

    BATCH = 5000

    def write(self, replace: bool) -> None:
        with self.connection.cursor() as cursor:
            if replace:
                for table in ALL_TABLES:
                    cursor.execute(f"DELETE FROM {self.quote(table)}")
            for table in PARENT_TABLES:
                self._insert(cursor, table, self.plan.parents[table])
            for table, child in self.plan.children.items():
                self._insert(cursor, table, child.rows())
            self._insert(cursor, "task_comments", self.plan.comments)

    def _insert(self, cursor: Any, table: str, rows: Iterable[tuple]) -> None:
        sql = self.insert_sql(table)
        batch = []
        for row in rows:
            batch.append(tuple(self._adapt(v) for v in row))
            if len(batch) >= self.BATCH:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)

    def _adapt(self, value: Any) -> Any:
        ops = self.connection.ops
        if isinstance(value, datetime):
            return ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return ops.adapt_datefield_value(value)
        if isinstance(value, dtime):
            return ops.adapt_timefield_value(value)
        if isinstance(value, Decimal):
            return str(value)
        return value


class _PostgresWriter(_Writer):
    """Parents by COPY; each child table by one INSERT ... SELECT over its runs and slots."""

    def write(self, replace: bool) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")
            cursor.execute("SET LOCAL work_mem TO '64MB'")
            # Deferred checks left pending would forbid the ALTER TABLEs below.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            if replace:
                names = ", ".join(self.quote(t) for t in ALL_TABLES)
                cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            for table in PARENT_TABLES:
                self._copy(cursor, table, LEGACY_COLUMNS[table], self.plan.parents[table])
            cursor.execute("SET LOCAL maintenance_work_mem TO '256MB'")
            for child in self.plan.children.values():
                # Checking each row's foreign keys (deferred: at commit) and growing the parent
                # index row by row costs far more than the insert: set them aside and rebuild.
                kept = self._drop_secondary(cursor, child.table)
                self._insert_child(cursor, child)
                for statement in kept:
                    cursor.execute(statement)
            self._copy(cursor, "task_comments", LEGACY_COLUMNS["task_comments"], self.plan.comments)
            for table in ALL_TABLES:
                if table != "regions":
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                        f"COALESCE(MAX(id), 0) + 1, false) FROM {self.quote(table)}",
                        [table],
                    )

    def _drop_secondary(self, cursor: Any, table: str) -> list[str]:
        """Drop the table's foreign keys and plain indexes; returns how to restore them."""
        quoted = self.quote(table)
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [quoted],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique "
            "ORDER BY c.relname",
            [quoted],
        )
        indexes = cursor.fetchall()
        restore = []
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {self.quote(name)}")
            restore.append(f"ALTER TABLE {quoted} ADD CONSTRAINT {self.quote(name)} {definition}")
        for name, definition in indexes:
            cursor.execute(f"DROP INDEX {self.quote(name)}")
            restore.insert(0, definition)
        return restore

    def _copy(self, cursor: Any, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        names = ", ".join(self.quote(c) for c in columns)
        with cursor.cursor.copy(f"COPY {self.quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _insert_child(self, cursor: Any, child: ChildPlan) -> None:
        table = child.table
        staging = f"_legacy_gen_{table}"
        values = child.value_columns
        divergent = DIVERGENT_COLUMNS[table]
        typed = [f"{self.quote(c)} {STAGING_TYPES.get(c, 'text')}" for c in values]
        typed += [f"new_{c} {STAGING_TYPES.get(c, 'text')}" for c in divergent]
        cursor.execute(
            f"CREATE TEMP TABLE {staging} (g integer PRIMARY KEY, width integer, "
            "wprefix bigint, parent_pk bigint, region_code text, div_run integer, "
            "null_run integer, inverted boolean, jitter integer, " + ", ".join(typed) + ") "
            "ON COMMIT DROP"
        )
        positions = [values.index(c) for c in divergent]
        rows = []
        prefix = 0
        for g, s in enumerate(child.slots, start=1):
            new = s.new_values or s.values
            rows.append((
                g, s.width, prefix, s.parent_pk, s.region_code, s.div_run or 2**31 - 1,
                s.null_run, s.inverted, s.jitter, *s.values, *(new[p] for p in positions),
            ))  # fmt: skip
            prefix += s.width
        columns = ["g", "width", "wprefix", "parent_pk", "region_code", "div_run", "null_run",
                   "inverted", "jitter", *values, *(f"new_{c}" for c in divergent)]  # fmt: skip
        self._copy(cursor, staging, columns, rows)
        cursor.execute(f"ANALYZE {staging}")

        exprs = []
        for c in values:
            col = f"s.{self.quote(c)}"
            exprs.append(f"CASE WHEN ru.r >= s.div_run THEN s.new_{c} ELSE {col} END"
                         if c in divergent else col)  # fmt: skip
        wide = any(s.width > 1 for s in child.slots)
        k = "k.k" if wide else "1"
        synced = (
            f"CASE WHEN ru.r = s.null_run AND {k} = 1 THEN NULL ELSE "
            "%(last)s::timestamptz + make_interval(hours => ru.r - %(runs)s, secs => s.jitter) "
            "- CASE WHEN s.inverted AND ru.r = %(runs)s THEN interval '90 minutes' "
            "ELSE interval '0' END END"
        )
        parent = PARENT_COLUMN[table]
        if table == "task_tags":
            target = ["id", parent, "tag_pk", "region_code", "last_sync_time"]
            select = ["ru.off + s.wprefix + 1", "s.parent_pk", "s.tag_pk", "s.region_code", synced]
        else:
            target = ["id", parent, "region_code", *values, "last_sync_time"]
            select = [f"ru.off + s.wprefix + {k}", "s.parent_pk", "s.region_code", *exprs, synced]
        runs = child.run_table()
        cursor.execute(
            f"INSERT INTO {self.quote(table)} ({', '.join(self.quote(c) for c in target)}) "
            f"SELECT {', '.join(select)} "
            "FROM unnest(%(run)s::integer[], %(present)s::integer[], %(off)s::bigint[]) "
            "AS ru(r, present, off) "
            f"JOIN {staging} s ON s.g <= ru.present "
            + ("CROSS JOIN LATERAL generate_series(1, s.width) AS k(k) " if wide else ""),
            {
                "run": [r[0] for r in runs],
                "present": [r[1] for r in runs],
                "off": [r[2] for r in runs],
                "last": LAST_RUN_AT,
                "runs": child.runs,
            },
        )
        if cursor.rowcount != child.total:
            raise RuntimeError(f"{table}: wrote {cursor.rowcount} rows, planned {child.total}")
        cursor.execute(f"DROP TABLE {staging}")
