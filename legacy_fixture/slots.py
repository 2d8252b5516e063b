"""A child table's natural keys as slots: their copies over the loader's runs, the odd groups."""

import heapq
import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from breezeway.natural_keys import LEGACY_DERIVED_KEYS
from legacy_fixture.plan import LAST_RUN_AT
from legacy_fixture.tables import JSON_COLUMNS, PARENT_COLUMN, value_columns


@dataclass(slots=True)
class Slot:
    """One natural key's copies in a child table (for all-NULL guests: one guest of several).

    Each run of the loader wrote `width` rows for it; it was written by the last `copies` runs.
    """

    parent_pk: int
    region_code: str
    values: dict[str, Any]  # by column: the table's value_columns
    age: float = 1.0
    width: int = 1
    copies: int = 1
    new_values: dict[str, Any] | None = None  # the values from run `div_run` on (divergent)
    div_run: int = 0
    null_run: int = 0  # the run whose first row has a NULL last_sync_time
    inverted: bool = False  # the last copy's last_sync_time is older than the one before
    jitter: int = 0  # seconds into the hour the loader wrote this key
    divergence: str = ""


@dataclass(frozen=True)
class Divergence:
    """How a table's divergent groups differ: kinds taken in turn, and (old, new) values of one.

    `every_kind`: at least one group of each kind (the guests', whose kinds test different
    normalisations), else at least one group.
    """

    kinds: tuple[str, ...]
    diverge: Callable[[Slot, str], tuple[dict[str, Any], dict[str, Any]]]
    every_kind: bool = False


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
        return value_columns(self.table)

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

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row, run by run: the rows the SQL path writes, for the row-by-row path."""
        parent = PARENT_COLUMN[self.table]
        starts = []
        prefix = 0
        for s in self.slots:
            starts.append(prefix)
            prefix += s.width
        for run, present, offset in self.run_table():
            for g in range(present):
                s = self.slots[g]
                values = s.new_values if s.div_run and run >= s.div_run else s.values
                base = sync_time(run, self.runs, s)
                for k in range(1, s.width + 1):
                    yield {
                        "id": offset + starts[g] + k,
                        parent: s.parent_pk,
                        "region_code": s.region_code,
                        **values,
                        "last_sync_time": None if (run == s.null_run and k == 1) else base,
                    }


def sync_time(run: int, runs: int, slot: Slot) -> datetime:
    """When the loader's run `run` (of `runs`, the last at LAST_RUN_AT) wrote the slot's rows."""
    at = LAST_RUN_AT + timedelta(hours=run - runs, seconds=slot.jitter)
    if slot.inverted and run == runs:
        at -= timedelta(minutes=90)
    return at


def split(total: int, parents: int, rng: random.Random, cap: int | None = None) -> list[int]:
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


def pick_parents(
    rng: random.Random, parents: int, share: float, groups: int, cap: int | None
) -> tuple[list[int], list[int]]:
    """(parent pks, keys of each): `groups` keys over about `share` of the parents 1..`parents`,
    at most `cap` keys a parent."""
    least = math.ceil(groups / cap) if cap else 1
    chosen = min(groups, parents, max(least, round(share * parents)))
    pks = rng.sample(range(1, parents + 1), chosen)
    return pks, split(groups, chosen, rng, cap)


def allocate_copies(total: int, slots: list[Slot]) -> None:
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


def finish(
    table: str,
    total: int,
    distinct: int,
    slots: list[Slot],
    rng: random.Random,
    divergence: Divergence | None,
) -> ChildPlan:
    """Allocate copies, order the slots, choose the odd groups, check the keys.

    `divergence` None: the table was not duplicated (task_tags), so it has no odd groups.
    """
    allocate_copies(total, slots)
    slots.sort(key=lambda s: -s.copies)  # stable: a parent's keys stay together
    plan = ChildPlan(table, total, distinct, slots, runs=max(s.copies for s in slots))
    for s in slots:
        s.jitter = rng.randrange(0, 1800)
    if divergence is not None:
        _choose_divergent(plan, rng, divergence)
        _choose_inverted(plan, rng)
        _choose_null_sync(plan, rng)
    check_keys(plan)
    return plan


def _choose_divergent(plan: ChildPlan, rng: random.Random, divergence: Divergence) -> None:
    """0.1 % of the duplicate groups (at least one, or one of each kind) change their values
    at a later run."""
    duplicated = sum(1 for s in plan.slots if s.copies * s.width > 1)
    eligible = [
        i
        for i, s in enumerate(plan.slots)
        if s.copies > 1 and s.width == 1 and any(v is not None for v in s.values.values())
    ]
    kinds = divergence.kinds
    least = len(kinds) if divergence.every_kind else 1
    wanted = max(least, round(0.001 * duplicated))
    for n, i in enumerate(sorted(rng.sample(eligible, min(wanted, len(eligible))))):
        s = plan.slots[i]
        first = plan.runs - s.copies + 1
        s.div_run = rng.randint(first + 1, plan.runs)
        s.divergence = kinds[n % len(kinds)]
        s.values, s.new_values = divergence.diverge(s, s.divergence)
        plan.divergent_groups += 1


def _choose_inverted(plan: ChildPlan, rng: random.Random) -> None:
    """A few groups whose newest copy (highest id) carries an older sync time."""
    # One oddity per group: the divergent ones are left out.
    pool = [i for i, s in enumerate(plan.slots) if s.copies > 1 and not s.div_run]
    count = min(len(pool), max(2, round(0.0005 * len(plan.slots))))
    for i in rng.sample(pool, count):
        plan.slots[i].inverted = True
        plan.inverted_groups += 1


def _choose_null_sync(plan: ChildPlan, rng: random.Random) -> None:
    """About 1 % of the groups: one copy with a NULL sync time (half of them the newest)."""
    # One oddity per group: the divergent and inverted ones are left out; a group with a single
    # row only when no other is left.
    untouched = [i for i, s in enumerate(plan.slots) if not (s.div_run or s.inverted)]
    pool = [i for i in untouched if plan.slots[i].copies * plan.slots[i].width > 1] or untouched
    runs = plan.runs
    count = min(len(pool), max(1, round(0.01 * len(plan.slots))))
    for n, i in enumerate(rng.sample(pool, count)):
        s = plan.slots[i]
        s.null_run = runs if n % 2 == 0 else rng.randint(runs - s.copies + 1, runs)
        plan.null_sync_groups += 1


def _key_function(plan: ChildPlan) -> Callable[[dict[str, Any]], Any]:
    """The natural key of a slot's values, by the rules the remediation applies to them."""
    derived = LEGACY_DERIVED_KEYS.get(plan.table)
    if derived is None:  # task_tags: the key is the values themselves
        return lambda values: tuple(values.values())

    def key_of(values: dict[str, Any]) -> Any:
        raw = [
            json.loads(values[c]) if c in JSON_COLUMNS and values[c] is not None else values[c]
            for c in derived.sources
        ]
        return derived.rule(*raw)

    return key_of


def check_keys(plan: ChildPlan) -> None:
    """Prove with the key rules that the slots hold exactly `distinct` natural keys."""
    key_of = _key_function(plan)
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
