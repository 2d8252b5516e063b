"""Task assignments: people of the task's region, no assignee id; divergent: finished later."""

import random
from typing import Any

from legacy_fixture.dataset import Dataset
from legacy_fixture.slots import Divergence, Slot, finish, pick_parents


def _assignment(assignee_id: str | None, name: str, status: str) -> dict[str, Any]:
    return {"assignee_id": assignee_id, "assignee_name": name, "assignment_status": status}


def _diverge(slot: Slot, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) values: assigned at first, finished from a later run on."""
    assignee_id, name = slot.values["assignee_id"], slot.values["assignee_name"]
    return _assignment(assignee_id, name, "assigned"), _assignment(assignee_id, name, "finished")


DIVERGENCE = Divergence(kinds=("status",), diverge=_diverge)


def _slots(data: Dataset, task: int, count: int, rng: random.Random) -> list[Slot]:
    code = data.task_region[task]
    names = rng.sample(data.people_of[code], count)
    age = rng.uniform(0.4, 1.6)
    slots = []
    for name in names:
        empty = "" if rng.random() < 0.5 else None  # the API id never made it in
        status = rng.choice(("assigned", "accepted", "accepted", "finished"))
        slots.append(Slot(task, code, _assignment(empty, name, status), age))
    return slots


def build_task_assignments(data: Dataset, total: int, distinct: int) -> None:
    """`distinct` assignments over about 90 % of the tasks, `total` rows with their copies."""
    rng = data.rng("task_assignments")
    # A task's assignees are distinct people of its region: no more than the smallest region has.
    cap = min(len(names) for names in data.people_of.values())
    tasks, counts = pick_parents(rng, len(data.parents["tasks"]), 0.9, distinct, cap)
    slots: list[Slot] = []
    for task, count in zip(tasks, counts, strict=True):
        slots += _slots(data, task, count, rng)
    data.children["task_assignments"] = finish(
        "task_assignments", total, distinct, slots, rng, DIVERGENCE
    )
