"""The webhook receiver and processing, against the simulator served over HTTP: every event
kind, bad secrets and bodies, duplicates, order, refuted deletes, and the sync as backstop."""

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from breezeway import models as m
from etl.credentials import webhook_secret_variable
from etl.models import WebhookEvent
from etl.tasks import requeue_webhook_events
from etl.webhooks.process import process_event
from simulator import Simulator, SimulatorConfig
from tests.support.mirror import mirror_differences
from tests.support.sync_fixtures import register_regions

SECRET = "s3cret-webhook-value"
Status = WebhookEvent.Status


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(SimulatorConfig(seed=11, scale=0.01, companies=1))
    yield simulator


@pytest.fixture
def served(sim, settings) -> Iterator[str]:
    """The simulator over real HTTP, the client settings pointing at it."""
    with sim.serve() as handle:
        settings.BREEZEWAY_API_URL = f"{handle.url}/public/inventory/v1"
        settings.BREEZEWAY_AUTH_URL = f"{handle.url}/public/auth/v1"
        settings.SYNC_RETRY_BASE_DELAY = 0.01
        settings.SYNC_RETRY_AFTER_CAP = 0.05
        settings.SYNC_HTTP_TIMEOUT = 5.0
        yield handle.url


@pytest.fixture
def region(sim, served, transactional_db, monkeypatch) -> m.Region:
    (found,) = register_regions(sim, monkeypatch)
    monkeypatch.setenv(webhook_secret_variable(found.code), SECRET)
    return found


@pytest.fixture
def synced(region, served) -> m.Region:
    from etl.pipeline import run_region_sync

    runs = run_region_sync(region.code)
    assert {r.status for r in runs} == {"success"}
    return region


def post(code: str, kind: str, body: bytes | dict, secret: str | None = SECRET, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if secret is not None:
        headers["X-Webhook-Secret"] = secret
    return Client().post(
        f"/webhooks/breezeway/{code}/{kind}/",
        data,
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def deliver_to_django(sim, region) -> Callable[..., None]:
    """Subscribe the simulator's company to the receiver, through Django's test client."""

    def transport(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        path = url.split("://", 1)[1].split("/", 1)[1]
        extra = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return (
            Client()
            .post(f"/{path}", body, content_type="application/json", headers=extra)
            .status_code
        )

    def subscribe(**delivery: float) -> None:
        sim.webhook_sender.transport = transport
        base = f"http://mirror.test/webhooks/breezeway/{region.code}"
        company = sim.companies[0].company_id
        sim.subscribe_webhooks(
            company,
            tasks_url=f"{base}/tasks/",
            property_status_url=f"{base}/property-status/",
            secret=SECRET,
        )
        sim.webhook_delivery(**delivery)

    return subscribe


# --- the receiver ---------------------------------------------------------------------------


def test_wrong_missing_or_unknown_secret_region_all_refused_alike(region, monkeypatch) -> None:
    body = {"event": "task-updated", "task": {"id": 1}}
    answers = [
        post(region.code, "tasks", body, secret="wrong"),
        post(region.code, "tasks", body, secret=None),
        post("no-such-region", "tasks", body),
    ]
    monkeypatch.delenv(webhook_secret_variable(region.code))
    answers.append(post(region.code, "tasks", body))  # a region without a secret
    assert {a.status_code for a in answers} == {403}
    assert len({a.content for a in answers}) == 1
    assert WebhookEvent.objects.count() == 0


def test_oversized_malformed_and_non_object_bodies(region, settings) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    big = post(region.code, "tasks", {"event": "task-updated", "pad": "x" * 5000})
    assert big.status_code == 413
    assert WebhookEvent.objects.count() == 0
    bad = post(region.code, "tasks", b'{"event": "task-upd')
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
    array = post(region.code, "tasks", b"[1, 2]")
    assert array.status_code == 400 and "expected an object" in array.json()["error"]
    # Kept, whole, for staff to see: nothing a sender said is lost.
    kept = WebhookEvent.objects.order_by("pk")
    assert [bytes(e.raw_body) for e in kept] == [b'{"event": "task-upd', b"[1, 2]"]
    assert {e.status for e in kept} == {Status.FAILED}
    assert Client().get(f"/webhooks/breezeway/{region.code}/tasks/").status_code == 405


def test_nul_invalid_unicode_and_deep_nesting_are_stored(region, settings) -> None:
    settings.WEBHOOK_RETRY_DELAYS = []
    raw = b'{"event": "task-updated", "task": {"id": 99, "name": "a\\u0000b\\ud800", "x": "\xff"}}'
    answer = post(region.code, "tasks", raw)
    assert answer.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.raw_body) == raw  # the exact bytes, beside the storable JSON
    assert event.payload["task"]["name"] == "ab\ufffd"
    deep = b'{"event": "task-updated", "task": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001
    assert post(region.code, "tasks", deep).status_code == 400


def test_handshake_is_acknowledged_and_recorded(region) -> None:
    answer = post(region.code, "tasks", {"event": "test_webhook_event"})
    assert answer.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.status) == ("test_webhook_event", Status.PROCESSED)


def test_the_same_delivery_twice_is_stored_and_processed_once(synced, sim) -> None:
    task = sim.snapshot(sim.companies[0].company_id)["tasks"][0]
    body = {"event": "task-updated", "task": {**task, "name": "Renamed by webhook"}}
    first = post(synced.code, "tasks", body)
    again = post(synced.code, "tasks", json.dumps(body, indent=2).encode())  # same JSON
    assert first.status_code == again.status_code == 200
    assert again.json() == {"status": "duplicate", "event": first.json()["event"]}
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == (Status.PROCESSED, 1)
    assert m.Task.objects.get(task_id=str(task["id"])).task_name == "Renamed by webhook"


# --- processing -----------------------------------------------------------------------------


def test_task_events_follow_the_simulator_and_the_sync_then_writes_nothing(
    synced, sim, deliver_to_django
) -> None:
    deliver_to_django()
    summary = sim.tick(2)
    assert summary["webhooks"]["delivered"] > 10
    events = WebhookEvent.objects.exclude(event_type="test_webhook_event")
    assert not events.exclude(status=Status.PROCESSED).exists(), list(
        events.exclude(status=Status.PROCESSED).values_list("event_type", "error")
    )
    assert {"task-created", "task-updated", "task-deleted", "property-status-changed"} <= set(
        events.values_list("event_type", flat=True)
    )
    truth = sim.snapshot(sim.companies[0].company_id)
    pushed = {e["object_id"] for e in sim.webhook_log if e["kind"] == "property-status"}
    assert pushed
    for pid, status in truth["property_statuses"].items():
        prop = m.Property.objects.filter(region=synced, property_id=str(pid)).first()
        # Only changes are pushed; a property added this hour arrives with the next sync.
        if prop is not None and str(pid) in pushed:
            assert (prop.operational_status, prop.operational_sub_statuses) == (
                status["status"],
                status["sub_statuses"],
            )
    # Webhooks cover tasks: syncing the other entities makes the mirror equal to the source.
    from etl.pipeline import run_region_sync

    others = run_region_sync(
        synced.code, ["tags", "people", "supplies", "properties", "reservations"]
    )
    # (A property gone from the API leaves the mirror after its second missed listing.)
    assert [d for d in mirror_differences(synced.code, truth) if d.startswith("tasks")] == []
    # The hourly tasks sync, the backstop, finds nothing the webhooks did not already store
    # but the links of tasks pushed before their property or stay (filled by those syncs,
    # rewritten once with the new link in their hash).
    late_links = sum(sum((r.details.get("links_repaired") or {}).values()) for r in others)
    (tasks,) = run_region_sync(synced.code, ["tasks"])
    assert (tasks.inserted, tasks.deleted) == (0, 0)
    # ... and the tasks the list started to hide (no event: nothing changed in Breezeway), whose
    # `listed` flag the sync turns off.
    assert tasks.updated <= late_links + summary["tasks_hidden"], tasks.details["tables"]


def test_events_out_of_order_never_overwrite_newer_content(synced, sim) -> None:
    task = sim.snapshot(sim.companies[0].company_id)["tasks"][0]
    stored = m.Task.objects.get(task_id=str(task["id"]))
    newer = {
        **task,
        "name": "Newer",
        "updated_at": (stored.updated_at + timedelta(hours=2)).isoformat(),
    }
    older = {
        **task,
        "name": "Older",
        "updated_at": (stored.updated_at + timedelta(hours=1)).isoformat(),
    }
    assert post(synced.code, "tasks", {"event": "task-updated", "task": newer}).status_code == 200
    assert post(synced.code, "tasks", {"event": "task-updated", "task": older}).status_code == 200
    assert m.Task.objects.get(pk=stored.pk).task_name == "Newer"
    late = WebhookEvent.objects.get(payload__task__name="Older")
    assert late.status == Status.SUPERSEDED and "newer version" in late.error

    pid = str(task["home_id"])
    at = timezone.now()
    for status, when in (("dirty", at), ("clean", at - timedelta(minutes=5))):
        body = {"event_type": "property-status-changed", "id": int(pid), "status": status}
        answer = post(synced.code, "property-status", {**body, "updated_at": when.isoformat()})
        assert answer.status_code == 200
    assert m.Property.objects.get(region=synced, property_id=pid).operational_status == "dirty"


def test_task_deleted_confirmed_by_404_and_refuted_by_200(synced, sim) -> None:
    company = sim.companies[0].company_id
    tasks = sim.snapshot(company)["tasks"]
    gone, kept = tasks[0]["id"], tasks[1]["id"]
    with sim.lock:
        sim.world(company).delete_task(gone)
    for task_id in (gone, kept):
        body = {"event": "task-deleted", "task": {"id": task_id, "company_id": company}}
        assert post(synced.code, "tasks", body).status_code == 200
    assert m.Task.objects.get(task_id=str(gone)).deleted_at is not None
    assert m.Task.objects.get(task_id=str(kept)).deleted_at is None
    refuted = WebhookEvent.objects.get(object_id=str(kept))
    assert refuted.status == Status.NOT_DELETED and "still answers 200" in refuted.error


def test_unknown_types_ignored_wrong_company_and_bad_records_fail(synced, sim) -> None:
    task = sim.snapshot(sim.companies[0].company_id)["tasks"][0]
    post(synced.code, "tasks", {"event": "invoice-paid", "task": task})
    post(synced.code, "tasks", {"event": "task-updated", "task": {**task, "company_id": 1}})
    post(synced.code, "tasks", {"event": "task-updated", "task": {**task, "id": [1]}})
    post(synced.code, "tasks", {"event": "task-updated", "task": "not an object"})
    by_type = {
        e.payload["task"] if isinstance(e.payload["task"], str) else e.event_type: e
        for e in WebhookEvent.objects.all()
    }
    assert by_type["invoice-paid"].status == Status.IGNORED
    failed = WebhookEvent.objects.filter(status=Status.FAILED).order_by("pk")
    assert [
        ("company" in e.error) or ("id" in e.error) or ("object" in e.error) for e in failed
    ] == [True] * 3
    assert failed.count() == 3


def test_transient_failures_retry_then_fail_with_the_reason(synced, sim, settings) -> None:
    settings.WEBHOOK_RETRY_DELAYS = [0]
    body = {"event_type": "property-status-changed", "property_id": 123456789, "status": "dirty"}
    assert post(synced.code, "property-status", body).status_code == 200
    event = WebhookEvent.objects.get()
    # In-process, the first failure leaves it pending for the sweep with the reason.
    assert event.status == Status.PENDING and "not in the mirror yet" in event.error
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(hours=1), next_attempt_at=None
    )
    assert requeue_webhook_events() == 1  # eager: runs at once, as retry 0 again
    from etl.tasks import process_webhook_event

    process_webhook_event.apply(args=(event.pk,), retries=1)
    event.refresh_from_db()
    assert event.status == Status.FAILED and "gave up after 2 attempt" in event.error


def test_dropped_events_are_caught_by_the_hourly_sync(synced, sim, deliver_to_django) -> None:
    deliver_to_django(drop_rate=0.3)
    sim.tick(2)
    dropped = [e for e in sim.webhook_log if e["fate"] == "dropped" and e["kind"] == "tasks"]
    assert dropped, "the seed should drop some task events"
    from etl.pipeline import run_region_sync

    def task_differences() -> list[str]:
        # Properties leave the mirror after two listings miss them: tasks are what is pushed.
        truth = sim.snapshot(sim.companies[0].company_id)
        return [d for d in mirror_differences(synced.code, truth) if d.startswith("tasks")]

    assert task_differences() != []
    runs = run_region_sync(synced.code)
    assert {r.status for r in runs} == {"success"}
    assert task_differences() == []
    assert process_event(10**9) == "missing"


def test_a_dropped_delete_is_caught_by_the_reconcile_job(synced, sim, deliver_to_django) -> None:
    from etl.pipeline import run_region_sync

    deliver_to_django(drop_rate=1.0)  # every delivery lost, the task-deleted events included
    sim.tick(3)
    deletes = {
        e["object_id"]
        for e in sim.webhook_log
        if e["event_type"] == "task-deleted" and e["fate"] == "dropped"
    }
    live = set(
        m.Task.objects.filter(region=synced, deleted_at__isnull=True).values_list(
            "task_id", flat=True
        )
    )
    assert deletes & live, "the seed should delete mirrored tasks this hour"
    assert not WebhookEvent.objects.exclude(event_type="test_webhook_event").exists()

    # Tasks the API had already hidden before it deleted them: the hourly sync does not ask
    # for those again (only full sweeps do), so only the reconcile job can find the delete.
    m.Task.objects.filter(region=synced, task_id__in=deletes).update(listed=False)
    (tasks,) = run_region_sync(synced.code, ["tasks"])
    gone = m.Task.objects.filter(region=synced, task_id__in=deletes, deleted_at__isnull=True)
    assert tasks.status == "success" and gone.count() == len(deletes & live)
    (reconcile,) = run_region_sync(synced.code, ["task_deletions"])
    assert reconcile.status == "success" and reconcile.deleted == len(deletes & live)
    assert not gone.exists()
