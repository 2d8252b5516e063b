"""The webhook admin: events listed and shown read-only, "Process again", and per region the
last event, the event-to-row lag and the flag of webhooks gone quiet while syncs find changes."""

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from breezeway import models as m
from etl.credentials import webhook_secret_variable
from etl.models import SyncRun, WebhookEvent
from etl.webhooks.health import percentile, webhook_health
from ops.alerts.check import check_alerts
from ops.models import Alert

EVENTS = reverse("admin:etl_webhookevent_changelist")
REGIONS = reverse("admin:breezeway_region_changelist")
Status = WebhookEvent.Status


def region_page(code: str) -> str:
    return reverse("admin:breezeway_region_change", args=[code])


def event(region: m.Region, age: timedelta = timedelta(minutes=1), **fields) -> WebhookEvent:
    received = timezone.now() - age
    fields.setdefault("kind", WebhookEvent.Kind.TASKS)
    fields.setdefault("event_type", "task-updated")
    fields.setdefault("payload", {"event_type": fields["event_type"]})
    digest = hashlib.sha256(f"{received.isoformat()}{sorted(fields.items())}".encode()).hexdigest()
    return WebhookEvent.objects.create(region=region, received_at=received, digest=digest, **fields)


def task_sync(region: m.Region, age: timedelta, written: int, job: str = "tasks") -> SyncRun:
    started = timezone.now() - age
    return SyncRun.objects.create(
        region=region,
        entity=job,
        status=SyncRun.Status.SUCCESS,
        started_at=started,
        finished_at=started + timedelta(seconds=30),
        updated=written,
    )


@pytest.fixture
def secret(admin_test_region, monkeypatch) -> str:
    monkeypatch.setenv(webhook_secret_variable(admin_test_region.code), "hook-secret")
    return "hook-secret"


def test_percentile_interpolates() -> None:
    assert percentile([], 0.5) is None
    assert percentile([4.0], 0.95) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)


def test_events_list_filters_and_colours(admin_client, admin_test_region) -> None:
    other = m.Region.objects.create(code="adm-other", name="Other", company_id=98)
    event(admin_test_region, status=Status.PROCESSED, object_id="T1")
    event(admin_test_region, status=Status.FAILED, object_id="T2", error="the API said no")
    event(
        other,
        kind=WebhookEvent.Kind.PROPERTY_STATUS,
        event_type="property-status-changed",
        status=Status.IGNORED,
        object_id="P9",
    )

    def listed(**params: str) -> set[str]:
        return {e.object_id for e in admin_client.get(EVENTS, params).context["cl"].result_list}

    assert listed() == {"T1", "T2", "P9"}
    assert listed(region__code__exact="adm-other") == {"P9"}
    assert listed(kind__exact="tasks") == {"T1", "T2"}
    assert listed(status__exact="failed") == {"T2"}
    assert listed(event_type="property-status-changed") == {"P9"}
    assert listed(q="T2") == {"T2"}
    html = admin_client.get(EVENTS).content.decode()
    assert "#ba2121" in html.split("webhook-status-failed")[1].split("</span>")[0]
    assert "the API said no" in html


def test_event_page_shows_payload_and_raw_bytes_escaped(admin_client, admin_test_region) -> None:
    shown = event(
        admin_test_region,
        status=Status.FAILED,
        payload={"task": {"name": "<script>alert(1)</script>"}},
        outcome={"lag_seconds": 1.5},
    )
    raw = event(admin_test_region, payload=None, raw_body=b'{"a": "x\x00\xff"}', status="failed")
    html = admin_client.get(reverse("admin:etl_webhookevent_change", args=[shown.pk]))
    html = html.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "not kept: the payload above holds the body exactly" in html
    html = admin_client.get(reverse("admin:etl_webhookevent_change", args=[raw.pk]))
    assert "x\\x00\\xff" in html.content.decode()
    # Read-only: no form posts a change.
    response = admin_client.post(
        reverse("admin:etl_webhookevent_change", args=[shown.pk]), {"status": "processed"}
    )
    assert response.status_code == 403
    assert WebhookEvent.objects.get(pk=shown.pk).status == Status.FAILED


def test_process_again_applies_a_failed_event(
    admin_client, make_mirror_records, admin_test_region, django_capture_on_commit_callbacks
) -> None:
    make_mirror_records(1)
    failed = event(
        admin_test_region,
        kind=WebhookEvent.Kind.PROPERTY_STATUS,
        event_type="property-status-changed",
        payload={"property_id": "P0", "status": "occupied", "sub_statuses": ["guest"]},
        status=Status.FAILED,
        attempts=6,
        error="gave up after 6 attempt(s): property P0 is not in the mirror yet",
    )
    done = event(admin_test_region, status=Status.PROCESSED, object_id="T1")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            EVENTS,
            {"action": "process_again", "_selected_action": [failed.pk, done.pk]},
            follow=True,
        )
    text = response.content.decode()
    assert "Queued 1 event(s)" in text and "Left 1 processed or superseded" in text
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.attempts) == (Status.PROCESSED, "", 7)
    prop = m.Property.objects.get(region=admin_test_region, property_id="P0")
    assert (prop.operational_status, prop.operational_sub_statuses) == ("occupied", ["guest"])


def test_a_viewer_sees_events_but_cannot_process_them(viewer_client, admin_test_region) -> None:
    failed = event(admin_test_region, status=Status.FAILED)
    response = viewer_client.get(EVENTS)
    assert response.status_code == 200 and "process_again" not in response.content.decode()
    viewer_client.post(EVENTS, {"action": "process_again", "_selected_action": [failed.pk]})
    assert WebhookEvent.objects.get(pk=failed.pk).status == Status.FAILED


def test_region_without_a_secret_says_so(admin_client, admin_test_region) -> None:
    html = admin_client.get(region_page(admin_test_region.code)).content.decode()
    assert "not configured: set BREEZEWAY_ADM_TEST_WEBHOOK_SECRET" in html
    # Without a secret nothing is expected: never quiet, whatever the syncs write.
    task_sync(admin_test_region, timedelta(minutes=20), written=50)
    assert webhook_health([admin_test_region])[admin_test_region.code].quiet == []


def test_region_page_shows_last_event_and_lag(admin_client, admin_test_region, secret) -> None:
    for seconds in (0.5, 1.0, 1.5, 2.0, 30.0):
        processed = event(admin_test_region, status=Status.PROCESSED)
        WebhookEvent.objects.filter(pk=processed.pk).update(
            processed_at=processed.received_at + timedelta(seconds=seconds)
        )
    # Left out of the lag: not processed, a handshake, older than a day.
    event(admin_test_region, status=Status.PENDING)
    event(admin_test_region, event_type="test_webhook_event", status=Status.PROCESSED)
    old = event(admin_test_region, age=timedelta(days=2), status=Status.PROCESSED)
    WebhookEvent.objects.filter(pk=old.pk).update(processed_at=timezone.now())
    html = admin_client.get(region_page(admin_test_region.code)).content.decode()
    assert "secret: configured (BREEZEWAY_ADM_TEST_WEBHOOK_SECRET)" in html
    assert "hook-secret" not in html
    assert "last tasks event: <a" in html and "minute ago" in html.replace("\xa0", " ")
    assert 'kind__exact=property-status">never</a>' in html
    assert "event to row, last 24 h: p50 1.50 s, p95 24.40 s, max 30.00 s (5 events)" in html
    assert "webhooks-quiet" not in html


def test_quiet_webhooks_are_flagged_on_the_region_and_alerted(
    admin_client, admin_test_region, secret, settings
) -> None:
    settings.WEBHOOK_QUIET_HOURS = 2
    code = admin_test_region.code
    event(admin_test_region, age=timedelta(hours=5), status=Status.PROCESSED)
    task_sync(admin_test_region, timedelta(hours=4), written=900)  # before the window
    task_sync(admin_test_region, timedelta(minutes=70), written=0)
    assert webhook_health([admin_test_region])[code].quiet == []  # syncs found nothing new
    assert not check_alerts().open_alerts

    task_sync(admin_test_region, timedelta(minutes=10), written=3)
    task_sync(admin_test_region, timedelta(minutes=9), written=2, job="task_deletions")
    (quiet,) = webhook_health([admin_test_region])[code].quiet
    assert (quiet.kind, quiet.rows_written) == ("tasks", 5)
    row = admin_client.get(REGIONS).content.decode().split(f">{code}</a>")[1]
    assert "quiet: tasks" in row.split("</tr>")[0]
    html = admin_client.get(region_page(code)).content.decode()
    assert "quiet: no tasks event since" in html and "wrote 5 row(s)" in html
    (alert,) = check_alerts().open_alerts
    assert alert.kind == Alert.Kind.WEBHOOKS_SILENT
    assert alert.key == f"webhooks_silent:{code}:tasks" and "wrote 5 row(s)" in alert.message

    # An event arrives: the flag and the alert clear.
    event(admin_test_region, age=timedelta(seconds=5), status=Status.PROCESSED)
    assert webhook_health([admin_test_region])[code].quiet == []
    result = check_alerts()
    assert not result.open_alerts and [a.key for a in result.changes.cleared] == [alert.key]


def test_inactive_region_is_never_quiet(admin_test_region, secret) -> None:
    admin_test_region.is_active = False
    admin_test_region.save()
    task_sync(admin_test_region, timedelta(minutes=10), written=3)
    assert webhook_health([admin_test_region])[admin_test_region.code].quiet == []
