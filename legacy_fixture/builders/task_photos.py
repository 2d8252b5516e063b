"""Task photos: minutes after the task's start, some without a photo id; divergent: retaken."""

import random
from datetime import timedelta
from typing import Any

from legacy_fixture.dataset import Dataset
from legacy_fixture.slots import Divergence, Slot, finish, pick_parents
from legacy_fixture.vocabulary import digest


def _diverge(slot: Slot, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) values: the caption edited."""
    old = slot.values
    return old, {**old, "caption": f"{old['caption'] or 'Photo'} - retaken"}


DIVERGENCE = Divergence(kinds=("caption",), diverge=_diverge)


def _slots(data: Dataset, task: int, count: int, rng: random.Random, first: int) -> list[Slot]:
    """The task's `count` photos; `first` counts the photos before them (their ids)."""
    code = data.task_region[task]
    age = rng.uniform(0.4, 1.6)
    slots = []
    for j in range(count):
        n = first + j
        photo_id = None if rng.random() < 0.05 else str(880_000_000 + 11 * n)
        token = digest("tp", data.seed, n)
        caption = rng.choice(("Before", "After", "Damage", "Supplies", None))
        minutes = 5 * j + rng.randint(0, 4)
        values = {
            "photo_id": photo_id,
            "url": f"https://cdn.breezeway.io/task/{data.task_ext_id[task]}/{token}.jpg",
            "caption": caption,
            "uploaded_at": data.task_started[task] + timedelta(minutes=minutes),
        }
        slots.append(Slot(task, code, values, age))
    return slots


def build_task_photos(data: Dataset, total: int, distinct: int) -> None:
    """`distinct` photos over about a quarter of the tasks, `total` rows with their copies."""
    rng = data.rng("task_photos")
    tasks, counts = pick_parents(rng, len(data.parents["tasks"]), 0.25, distinct, None)
    slots: list[Slot] = []
    for task, count in zip(tasks, counts, strict=True):
        slots += _slots(data, task, count, rng, first=len(slots))
    data.children["task_photos"] = finish("task_photos", total, distinct, slots, rng, DIVERGENCE)
