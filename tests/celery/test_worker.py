"""Sync tasks on a real worker against Redis: fan-out, overlap, SIGKILL, failing regions, beat."""

import psycopg
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from breezeway import models as m
from etl import tasks
from etl.entities import ENTITY_NAMES, REQUIREMENTS, parse_children
from etl.models import SyncRun
from etl.pipeline import build_lookups
from etl.runs import WORKER_LOST
from tests.celery.conftest import wait_until
from tests.support.mirror import mirror_differences


def finished(region: str | None = None, entity: str | None = None):
    runs = SyncRun.objects.exclude(status=SyncRun.Status.RUNNING)
    if region:
        runs = runs.filter(region_id=region)
    if entity:
        runs = runs.filter(entity=entity)
    return runs


def lock_is_free(region: str, entity: str) -> bool:
    from breezeway.locks import sync_lock_key

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as conn:
        key = sync_lock_key(region, entity)
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
        if got:
            conn.execute("SELECT pg_advisory_unlock(%s)", [key])
        return got


def test_sync_all_fans_out_and_every_region_lands(stack) -> None:
    stack.worker(concurrency=2)
    queued = tasks.sync_all.delay()
    assert queued.id
    codes = [c.code for c in stack.sim.companies]
    wait_until(
        lambda: finished().count() == len(codes) * len(ENTITY_NAMES), 120, "every region's runs"
    )
    assert set(finished().values_list("status", flat=True)) == {"success"}
    for company in stack.sim.companies:
        assert mirror_differences(company.code, stack.sim.snapshot(company.company_id)) == []


def test_overlapping_runs_of_one_pair_one_success_one_skipped(stack) -> None:
    code = stack.sim.companies[0].code
    tasks.sync_entity.delay(code, "properties")
    stack.worker(concurrency=2)
    wait_until(lambda: finished(code, "properties").exists(), 60, "properties")
    stack.sim.faults.latency = 0.02  # long enough for the two runs to overlap
    tasks.sync_entity.delay(code, "tasks")
    tasks.sync_entity.delay(code, "tasks")
    wait_until(lambda: finished(code, "tasks").count() == 2, 120, "two task runs")
    statuses = sorted(finished(code, "tasks").values_list("status", flat=True))
    assert statuses == ["skipped", "success"]
    assert m.Task.objects.values("task_id", "region").distinct().count() == m.Task.objects.count()


def test_a_worker_killed_mid_sync_leaves_a_consistent_database(stack) -> None:
    code = stack.sim.companies[0].code
    # Small batches, few connections, slow API: many commits, and time to kill in between.
    first = stack.worker(concurrency=1, SYNC_BATCH_SIZE="20", SYNC_CONCURRENCY="2")
    tasks.sync_region.delay(code, ["tags", "people", "supplies", "properties", "reservations"])
    wait_until(lambda: finished(code).count() == 5, 60, "the entities tasks point at")
    stack.sim.faults.latency = 0.05
    tasks.sync_entity.delay(code, "tasks")
    wait_until(lambda: m.Task.objects.filter(region_id=code).count() >= 50, 60, "a first batch")
    first.kill()
    running = SyncRun.objects.get(region_id=code, entity="tasks")
    assert running.status == "running"
    # The dead worker's database session went with it, and its advisory lock too.
    wait_until(lambda: lock_is_free(code, "tasks"), 30, "the lock to be released")
    # No half-replaced child set: a batch of tasks and their children is one transaction, so
    # every task that made it has all its requirements.
    snapshot = stack.sim.snapshot(stack.sim.companies[0].company_id)
    lookups = build_lookups(m.Region.objects.get(code=code))
    loaded = m.Task.objects.filter(region_id=code)
    assert 0 < loaded.count() < len(snapshot["tasks"])
    for task in loaded:
        assert task.children_synced_for is not None
        rows, _ = parse_children(REQUIREMENTS, snapshot["requirements"][int(task.task_id)], lookups)
        want = {row["requirement_key"] for row in rows}
        assert set(task.requirements.values_list("requirement_key", flat=True)) == want
    # The next run marks the lost one failed and completes; the killed task's message comes
    # back (acks_late) after the visibility timeout and runs too.
    stack.sim.faults.latency = 0
    stack.worker(concurrency=1)
    tasks.sync_entity.delay(code, "tasks")
    wait_until(
        lambda: finished(code, "tasks").filter(status="success").exists(), 90, "a new task run"
    )
    running.refresh_from_db()
    assert running.status == "failed" and running.error == WORKER_LOST
    wait_until(
        lambda: finished(code, "tasks").filter(status="success").count() >= 2,
        90,
        "the redelivered task",
    )
    assert mirror_differences(code, snapshot) == []


def test_a_region_whose_api_fails_does_not_stop_the_others(stack) -> None:
    good, bad = stack.sim.companies
    env = {f"BREEZEWAY_{bad.code.upper()}_CLIENT_SECRET": "wrong"}
    stack.worker(concurrency=2, **env)
    tasks.sync_all.delay()
    wait_until(lambda: finished().count() == 2 * len(ENTITY_NAMES), 120, "both regions")
    assert set(finished(good.code).values_list("status", flat=True)) == {"success"}
    assert set(finished(bad.code).values_list("status", flat=True)) == {"failed"}
    assert all("authentication" in e for e in finished(bad.code).values_list("error", flat=True))
    assert mirror_differences(good.code, stack.sim.snapshot(good.company_id)) == []


def test_beat_sends_due_tasks_and_lost_runs_are_swept(stack) -> None:
    code = stack.sim.companies[0].code
    lost = SyncRun.objects.create(
        region_id=code, entity="people", started_at="2026-01-01T00:00:00Z"
    )
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.create(
        name="test sweep", task="etl.sweep_lost_runs", interval=every_second
    )
    stack.worker(concurrency=1)
    stack.start("beat", "--loglevel=INFO", ready="beat: Starting")
    wait_until(
        lambda: SyncRun.objects.get(pk=lost.pk).status == "failed", 60, "the sweep from beat"
    )
    assert SyncRun.objects.get(pk=lost.pk).error == WORKER_LOST


def test_a_transient_api_failure_is_retried_by_celery(stack) -> None:
    code = stack.sim.companies[0].code
    stack.sim.faults.fail_paths = [{"path": "/supplies", "status": 503}]
    stack.worker(concurrency=1, SYNC_TASK_RETRY_DELAYS="2", SYNC_MAX_ATTEMPTS="2")
    tasks.sync_entity.delay(code, "supplies")
    wait_until(lambda: finished(code, "supplies").exists(), 60, "the first attempt")
    first = finished(code, "supplies").get()
    assert first.status == "failed" and first.details.get("retryable")
    stack.sim.faults.fail_paths = []  # the API recovers before the retry
    wait_until(
        lambda: finished(code, "supplies").filter(status="success").exists(), 60, "the retry"
    )
    assert finished(code, "supplies").count() == 2
