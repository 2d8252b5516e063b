"""Task tags: distinct tags of the task's region, never duplicated (a legacy constraint)."""

from legacy_fixture.dataset import Dataset
from legacy_fixture.slots import Slot, finish, pick_parents
from legacy_fixture.vocabulary import TAG_NAMES


def build_task_tags(data: Dataset, total: int, distinct: int) -> None:
    """`distinct` tags over about a tenth of the tasks (total = distinct: no copies)."""
    rng = data.rng("task_tags")
    tasks, counts = pick_parents(rng, len(data.parents["tasks"]), 0.1, distinct, len(TAG_NAMES))
    slots = []
    for task, count in zip(tasks, counts, strict=True):
        code = data.task_region[task]
        for tag in rng.sample(data.tags_of[code], count):
            slots.append(Slot(task, code, {"tag_pk": tag}))
    data.children["task_tags"] = finish("task_tags", total, distinct, slots, rng, None)
