"""Real workers against Redis: overlapping syncs of one region, and a database outage mid-sync.

- Overlapping copies of a region's sync must end with the data of a clean sync, link for link
  (no reservation or task loaded while what it points at was being written, so left NULL):
  each entity holds its run lock and waits (SYNC_LOCK_WAIT) for the data locks of what it reads.
- A database outage must not end the region's sync until the next schedule: the run is recorded
  failed ("database unavailable", retryable) and Celery retries what did not finish.
"""

import pytest
from django.db import connection

from etl import tasks
from etl.entities import ENTITIES, ENTITY_NAMES
from etl.models import SyncRun
from etl.runs import DATABASE_LOST, WORKER_LOST
from tests.celery.conftest import wait_until
from tests.support.mirror import mirror_differences
from tests.support.outage import restart_database

COPIES = 3


def runs(region: str | None = None, entity: str | None = None):
    found = SyncRun.objects.all()
    if region:
        found = found.filter(region_id=region)
    if entity:
        found = found.filter(entity=entity)
    return found


def finished(region: str | None = None, entity: str | None = None):
    return runs(region, entity).exclude(status=SyncRun.Status.RUNNING)


def overlapping_pairs(region: str) -> list[tuple[str, str]]:
    """Pairs of runs of the region that ran at the same time: one region run syncs its
    entities one after another, so such a pair comes from two copies running together."""
    done = list(
        finished(region)
        .exclude(status=SyncRun.Status.SKIPPED)
        .values_list("entity", "started_at", "finished_at")
    )
    return [
        (a[0], b[0])
        for i, a in enumerate(done)
        for b in done[i + 1 :]
        if a[1] < b[2] and b[1] < a[2]
    ]


def test_overlapping_syncs_of_one_region_end_equal_to_a_clean_sync(stack) -> None:
    companies = {c.code: c for c in stack.sim.companies}
    codes = list(companies)
    stack.sim.faults.latency = 0.01  # the copies of a region's sync overlap
    # Two workers, three processes each: the three copies of both regions run at once.
    workers = [stack.worker(concurrency=3, SYNC_LOCK_WAIT="30") for _ in range(2)]
    for _ in range(COPIES):
        tasks.sync_all.delay()
    expected = COPIES * len(codes) * len(ENTITY_NAMES)
    wait_until(
        lambda: finished().count() == expected and not runs().filter(status="running").exists(),
        60,
        f"{expected} finished runs",
    )
    statuses = sorted(set(finished().values_list("status", flat=True)))
    problems = list(
        finished().exclude(status__in=["success", "skipped"]).values_list("entity", "error")
    )
    assert problems == [], problems
    assert statuses == ["skipped", "success"], statuses
    for code in codes:
        # Every entity landed at least once, and the mirror equals the truth link for link:
        # no reservation or task lacks the property or reservation the API gives it.
        for entity in ENTITY_NAMES:
            assert finished(code, entity).filter(status="success").exists(), (code, entity)
        assert mirror_differences(code, stack.sim.snapshot(companies[code].company_id)) == []
    # The copies really overlapped: runs were refused, and runs of one region from different
    # copies ran at the same time.
    skipped = list(finished().filter(status="skipped").values_list("error", flat=True))
    assert all("another" in error for error in skipped), skipped
    assert any(overlapping_pairs(code) for code in codes), "no two copies of a region overlapped"
    for worker in workers:
        assert worker.proc.poll() is None
        errors = [line for line in worker.lines if "ERROR/" in line or " ERROR " in line]
        assert errors == [], errors[:10]


# Where the outage hits, with the worker's settings, the simulator's latency and how many of the
# entity's rows are committed when it does: properties (the entities after them are retried
# too) and tasks (fetched by a pool of threads; only tasks are retried).
UNDER_WAY = {
    "properties": ({"SYNC_PAGE_SIZE": "2", "SYNC_BATCH_SIZE": "4"}, 0.1, 4),
    "tasks": ({"SYNC_BATCH_SIZE": "20", "SYNC_CONCURRENCY": "2"}, 0.02, 40),
}


@pytest.mark.parametrize(
    ("entity", "down", "delays"),
    [
        ("properties", 0, "1"),
        ("tasks", 0, "1"),
        # A restart as it happens: the database refuses connections for a while (here 2 s),
        # so the failure is recorded once it answers again; the retry comes after that.
        ("tasks", 2, "4"),
    ],
    ids=["properties", "tasks", "tasks-down-2s"],
)
def test_a_database_outage_mid_sync_is_retried_by_celery(stack, entity, down, delays) -> None:
    company = stack.sim.companies[0]
    code = company.code
    env, latency, committed = UNDER_WAY[entity]
    model = ENTITIES[entity].model
    # Small batches and a slow API: the entity's sync lasts seconds, committing as it goes.
    worker = stack.worker(concurrency=1, SYNC_TASK_RETRY_DELAYS=delays, **env)
    stack.sim.faults.latency = latency
    tasks.sync_region.delay(code)
    wait_until(
        lambda: (
            runs(code, entity).filter(status="running").exists()
            and model.objects.filter(region_id=code).count() >= committed
        ),
        60,
        f"the {entity} sync to be under way",
    )
    lost = runs(code, entity).get()
    connection.close()  # the test's session goes too; the next query opens a new one
    assert restart_database(down) >= 2  # the worker's session and its lock holder
    stack.sim.faults.latency = 0
    # Celery tries the region again after SYNC_TASK_RETRY_DELAYS: what did not finish.
    wait_until(
        lambda: (
            finished(code).count() == len(ENTITY_NAMES) + 1
            and not runs().filter(status="running").exists()
        ),
        60,
        "the retried runs",
    )
    worker.wait_for(f"retrying in {delays}s", 10)
    worker.wait_for(f"retry: Retry in {delays}s", 10)
    by_entity = {
        name: sorted(finished(code, name).values_list("status", flat=True)) for name in ENTITY_NAMES
    }
    assert by_entity == {
        **{name: ["success"] for name in ENTITY_NAMES},
        entity: ["failed", "success"],
    }, by_entity
    assert mirror_differences(code, stack.sim.snapshot(company.company_id)) == []
    assert worker.proc.poll() is None, "the worker died"
    # The run the outage interrupted says so (not that its worker was lost), and that it is
    # worth another try.
    lost.refresh_from_db()
    assert lost.status == "failed", (lost.status, lost.error)
    assert lost.error.startswith(DATABASE_LOST), lost.error
    assert lost.details.get("retryable") is True, lost.details
    assert not runs(code).filter(error=WORKER_LOST).exists()
    log = "".join(worker.lines)
    for wording in (WORKER_LOST, "worker lost", "WorkerLostError", "could not record run"):
        assert wording.lower() not in log.lower(), (wording, worker.lines[-30:])
