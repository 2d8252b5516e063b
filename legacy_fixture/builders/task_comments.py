"""Task comments: a few unique rows (the legacy schema has their natural key), written once."""

import random
from datetime import timedelta

from legacy_fixture.dataset import Dataset, Row
from legacy_fixture.plan import LAST_RUN_AT, comment_count
from legacy_fixture.vocabulary import COMMENTS, person_name


def _row(i: int, data: Dataset, rng: random.Random) -> Row:
    task = rng.randint(1, len(data.parents["tasks"]))
    at = data.task_started[task] + timedelta(minutes=rng.randint(5, 300))
    # In column order, which is also the order of the draws from rng: keep it.
    return {
        "id": i + 1,
        "task_pk": task,
        "region_code": data.task_region[task],
        "comment_id": str(12_000_000 + i),
        "comment": rng.choice(COMMENTS),
        "author_id": str(7_000_000 + rng.randrange(8)),
        "author_name": person_name(rng.randrange(8)),
        "created_at": at,
        "updated_at": at,
        "last_sync_time": LAST_RUN_AT,
    }


def build_task_comments(data: Dataset) -> None:
    """Comments on random tasks, minutes after their start."""
    rng = data.rng("task_comments")
    count = comment_count(len(data.parents["tasks"]))
    data.comments = [_row(i, data, rng) for i in range(count)]
