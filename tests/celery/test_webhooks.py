"""Webhooks end to end: the simulator posts to the receiver served over HTTP, a real worker
applies the events from Redis, and the hourly sync repairs what dropped deliveries missed."""

import pytest

from breezeway import models as m
from etl import tasks
from etl.credentials import webhook_secret_variable
from etl.entities import ENTITY_NAMES
from etl.models import SyncRun, WebhookEvent
from tests.celery.conftest import wait_until
from tests.support.mirror import mirror_differences

SECRET = "end-to-end-webhook-secret"
SYNCED = len(ENTITY_NAMES)  # the runs of one sync_region


def task_differences(code: str, truth: dict) -> list[str]:
    return [d for d in mirror_differences(code, truth) if d.startswith("tasks")]


@pytest.fixture
def receiver(stack, live_server, monkeypatch) -> str:
    """The first region subscribed to the receiver (served by live_server, this process)."""
    company = stack.sim.companies[0]
    monkeypatch.setenv(webhook_secret_variable(company.code), SECRET)
    base = f"{live_server.url}/webhooks/breezeway/{company.code}"
    stack.sim.subscribe_webhooks(
        company.company_id,
        tasks_url=f"{base}/tasks/",
        property_status_url=f"{base}/property-status/",
        secret=SECRET,
    )
    return company.code


def test_events_reach_the_mirror_through_a_worker_and_the_sync_repairs_drops(
    stack, receiver
) -> None:
    code, sim = receiver, stack.sim
    company_id = sim.companies[0].company_id
    stack.worker(concurrency=1)
    tasks.sync_region.delay(code)
    wait_until(
        lambda: SyncRun.objects.filter(region_id=code, status="success").count() == SYNCED,
        120,
        "the first sync",
    )
    handshakes = WebhookEvent.objects.filter(event_type="test_webhook_event")
    assert sorted(handshakes.values_list("kind", "status")) == [
        ("property-status", "processed"),
        ("tasks", "processed"),
    ]

    # Hours of changes, one delivery in five dropped; the rest reach the worker via Redis.
    sim.webhook_delivery(drop_rate=0.2, duplicate_rate=0.1, reorder_window=3)
    summary = sim.tick(4)
    log = [e for e in sim.webhook_log if e["event_type"] != "test_webhook_event"]
    delivered = [e for e in log if e["fate"] == "delivered"]
    dropped = [e for e in log if e["fate"] == "dropped"]
    assert summary["webhooks"]["delivered"] == len(delivered) > 0 and dropped
    events = WebhookEvent.objects.exclude(event_type="test_webhook_event")
    # Every delivery acknowledged is stored (duplicates once), and the worker finishes each.
    assert events.count() == len({e["body"] for e in delivered})
    wait_until(lambda: not events.filter(status="pending").exists(), 120, "the events applied")
    assert set(events.values_list("status", flat=True)) <= {"processed", "superseded"}
    processed = events.filter(status="processed")
    assert all(e.outcome["lag_seconds"] < 60 for e in processed)

    # What was delivered is mirrored: each delivered task's row holds the source's content.
    truth = sim.snapshot(company_id)
    statuses = truth["property_statuses"]
    for entry in delivered:
        if entry["kind"] == "property-status":
            prop = m.Property.objects.get(region_id=code, property_id=str(entry["object_id"]))
            assert prop.operational_status is not None
    assert statuses  # the tick changed some operational statuses
    before = task_differences(code, truth)

    # The hourly sync is the backstop: after it the mirror equals the source exactly.
    finished = SyncRun.objects.filter(region_id=code).exclude(status="running")
    done = finished.count()
    tasks.sync_region.delay(code)
    wait_until(lambda: finished.count() == done + SYNCED, 120, "the backstop")
    assert task_differences(code, sim.snapshot(company_id)) == []
    # A dropped task event leaves its task behind until then (seeded: the same drops each run).
    assert any(e["kind"] == "tasks" for e in dropped) and before
