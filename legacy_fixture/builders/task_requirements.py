"""Task requirements: checklist items, mostly without an id; divergent: answered later."""

import json
import random
from typing import Any

from legacy_fixture.dataset import Dataset
from legacy_fixture.slots import Divergence, Slot, finish, pick_parents
from legacy_fixture.vocabulary import CHECKLIST_ACTIONS, CHECKLIST_SECTIONS, digest

# (section, home element, actions): every element of every section, with each action list.
ITEMS = [
    (section, element, actions)
    for section, elements in CHECKLIST_SECTIONS
    for element in elements
    for actions in CHECKLIST_ACTIONS
]


def _diverge(slot: Slot, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) values: unanswered at first, answered with a note from a later run on."""
    return (
        {**slot.values, "response": None, "note": None},
        {**slot.values, "response": "Yes", "note": "Checked twice"},
    )


DIVERGENCE = Divergence(kinds=("response",), diverge=_diverge)


def _values(item: tuple, n: int, rng: random.Random, seed: int) -> dict[str, Any]:
    """The values of requirement number `n`; drawn in this order: keep it."""
    section, element, actions = item
    rid = str(3_000_000 + 13 * n) if rng.random() < 0.1 else None
    kind = rng.choice(("checklist", "checklist", "photo", "yes_no"))
    photos = (
        [f"https://cdn.breezeway.io/req/{digest('rq', seed, n, length=24)}.jpg"]
        if kind == "photo"
        else []
    )
    response = rng.choice((None, "Yes", "No", "Done")) if kind != "photo" else None
    note = "Replaced batteries" if rng.random() < 0.05 else None
    return {
        "requirement_id": rid,
        "section_name": section,
        "action": json.dumps(list(actions)),
        "response": response,
        # NULL: the old loader read a field `type` that the API does not send, so every
        # legacy row has a NULL type (API reference, 8.9).
        "type_requirement": None,
        "photo_required": kind == "photo",
        "photos": json.dumps(photos),
        "note": note,
        "home_element_name": element,
    }


def _slots(data: Dataset, task: int, count: int, rng: random.Random, first: int) -> list[Slot]:
    """The task's `count` requirements, from a random item of the checklist on."""
    code = data.task_region[task]
    age = rng.uniform(0.4, 1.6)
    start = rng.randrange(len(ITEMS))
    slots = []
    for j in range(count):
        section, element, actions = ITEMS[(start + j) % len(ITEMS)]
        if j >= len(ITEMS):  # a long checklist repeats the template: name the copy
            element = f"{element} #{j // len(ITEMS) + 1}"
        values = _values((section, element, actions), first + j, rng, data.seed)
        slots.append(Slot(task, code, values, age))
    return slots


def build_task_requirements(data: Dataset, total: int, distinct: int) -> None:
    """`distinct` requirements over about 15 % of the tasks, `total` rows with their copies."""
    rng = data.rng("task_requirements")
    tasks, counts = pick_parents(rng, len(data.parents["tasks"]), 0.15, distinct, None)
    slots: list[Slot] = []
    for task, count in zip(tasks, counts, strict=True):
        slots += _slots(data, task, count, rng, first=len(slots))
    data.children["task_requirements"] = finish(
        "task_requirements", total, distinct, slots, rng, DIVERGENCE
    )
