"""/metrics: the bearer token, the figures of the latest runs and snapshots, a bounded cost."""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from breezeway.models import Region
from dedup.models import DuplicateSnapshot
from etl.models import RejectedRecord, SyncRun, WebhookEvent
from ops.models import Alert
from tests.support.scratch import ROOT
from tests.support.snapshots import make_snapshot

TOKEN = "metrics-test-token-0123456789"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def metrics_on(settings) -> object:
    settings.METRICS_TOKEN = TOKEN
    settings.DEBUG = False
    return settings


def scrape(client, token: str = TOKEN) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value of one authorized scrape."""
    response = client.get("/metrics", secure=True, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def region(code: str) -> Region:
    return Region.objects.create(code=code, name=code.upper(), company_id=1)


def run(
    code: str, entity: str, status: str, minutes: int, seconds: float = 30, **counts
) -> SyncRun:
    started = T0 + timedelta(minutes=minutes)
    finished = None if status == SyncRun.Status.RUNNING else started + timedelta(seconds=seconds)
    return SyncRun.objects.create(
        region_id=code,
        entity=entity,
        status=status,
        started_at=started,
        finished_at=finished,
        **counts,
    )


def labels(**pairs: str) -> tuple:
    return tuple(sorted(pairs.items()))


def test_no_token_configured_answers_404(client, settings) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", secure=True).status_code == 404
    assert (
        client.get("/metrics", secure=True, headers={"Authorization": "Bearer x"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"{TOKEN}"],
)
def test_a_missing_or_wrong_token_answers_401(client, metrics_on, header) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/metrics", secure=True, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"breezeway_" not in response.content


@pytest.mark.django_db
def test_the_right_token_gets_metrics_with_debug_off(client, metrics_on) -> None:
    samples = scrape(client)
    assert samples[("breezeway_metrics_scrape_success", labels(part="sync"))] == 1
    assert samples[("breezeway_metrics_scrape_success", labels(part="duplicates"))] == 1
    assert (
        client.post(
            "/metrics", secure=True, headers={"Authorization": f"Bearer {TOKEN}"}
        ).status_code
        == 405
    )


@pytest.mark.django_db
def test_sync_figures_come_from_the_latest_runs(client, metrics_on) -> None:
    region("east")
    run("east", "tasks", "success", 0, seconds=40, inserted=5, updated=2, deleted=1, api_calls=9)
    run(
        "east", "tasks", "success", 60, seconds=12.5, inserted=1, rejected=3, retries=4, throttled=2
    )
    run("east", "tasks", "skipped", 120, seconds=0)  # did nothing: the figures stay
    run("east", "tasks", "running", 180)
    run("east", "properties", "success", 0, seconds=5)
    run("east", "properties", "failed", 60, seconds=7, api_calls=2)
    RejectedRecord.objects.create(
        run=SyncRun.objects.filter(entity="tasks").first(),
        region_id="east",
        entity="tasks",
        record_id="1",
        reason="bad",
        payload={},
        payload_digest="d",
    )

    samples = scrape(client)

    tasks, properties = (
        labels(region="east", entity="tasks"),
        labels(region="east", entity="properties"),
    )
    last_success = "breezeway_sync_last_success_timestamp_seconds"
    assert samples[(last_success, tasks)] == (T0 + timedelta(minutes=60, seconds=12.5)).timestamp()
    assert samples[(last_success, properties)] == (T0 + timedelta(seconds=5)).timestamp()
    # Status: the latest finished run (the skipped one), one series per status.
    status = "breezeway_sync_last_run_status"
    assert samples[(status, labels(region="east", entity="tasks", status="skipped"))] == 1
    assert samples[(status, labels(region="east", entity="tasks", status="success"))] == 0
    assert samples[(status, labels(region="east", entity="properties", status="failed"))] == 1
    assert samples[("breezeway_sync_running", tasks)] == 1
    assert samples[("breezeway_sync_running", properties)] == 0
    # Figures: the latest run that did work.
    assert samples[("breezeway_sync_last_run_duration_seconds", tasks)] == 12.5
    assert samples[("breezeway_sync_last_run_rows_written", tasks)] == 1
    assert samples[("breezeway_sync_last_run_rejected_records", tasks)] == 3
    assert samples[("breezeway_sync_last_run_retries", tasks)] == 4
    assert samples[("breezeway_sync_last_run_throttled_requests", tasks)] == 2
    assert samples[("breezeway_sync_last_run_api_calls", tasks)] == 0
    assert samples[("breezeway_sync_last_run_api_calls", properties)] == 2
    assert samples[("breezeway_rejected_records_stored", tasks)] == 1


@pytest.mark.django_db
def test_table_figures_come_from_each_table_latest_snapshot(client, metrics_on) -> None:
    def snapshot(table: str, rows: int, keys: int, hours: int, valid: bool = True) -> None:
        when = T0 + timedelta(hours=hours)
        make_snapshot(table, rows, keys, when, present=valid, table_bytes=8192)

    snapshot("task_photos", 300, 100, 0, valid=False)
    snapshot("task_photos", 100, 100, 1)
    snapshot("property_photos", 50, 40, 0, valid=False)

    samples = scrape(client)

    photos, property_photos = labels(table="task_photos"), labels(table="property_photos")
    assert samples[("breezeway_table_rows", photos)] == 100
    assert samples[("breezeway_table_duplicate_rows", photos)] == 0
    assert samples[("breezeway_table_constraint_valid", photos)] == 1
    assert (
        samples[("breezeway_table_snapshot_timestamp_seconds", photos)]
        == (T0 + timedelta(hours=1)).timestamp()
    )
    assert samples[("breezeway_table_distinct_keys", property_photos)] == 40
    assert samples[("breezeway_table_duplicate_rows", property_photos)] == 10
    assert samples[("breezeway_table_constraint_valid", property_photos)] == 0
    assert samples[("breezeway_table_size_bytes", property_photos)] == 8192


@pytest.mark.django_db
def test_a_scrape_costs_the_same_queries_whatever_the_history(client, metrics_on) -> None:
    def queries() -> int:
        """The scrape's queries, savepoints aside."""
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len([q for q in captured if "SAVEPOINT" not in q["sql"]])

    region("r1")
    run("r1", "tasks", "success", 0)
    small = queries()
    for index in range(2, 6):
        region(f"r{index}")
    for minutes in range(0, 200, 10):
        for index in range(1, 6):
            for entity in ("tasks", "properties", "tags"):
                run(f"r{index}", entity, "success" if minutes % 20 else "failed", minutes)
    for hours in range(3):
        for table in ("task_photos", "task_tags", "property_photos"):
            DuplicateSnapshot.objects.create(
                scan_id=uuid.uuid4(),
                table_name=table,
                constraint_name="k",
                rows=2,
                distinct_keys=1,
                constraint_present=True,
                constraint_valid=True,
                method="scan",
                measured_at=T0 + timedelta(hours=hours),
            )
    large = queries()
    samples = scrape(client)
    assert len([k for k in samples if k[0] == "breezeway_sync_last_run_duration_seconds"]) == 15
    assert large == small == 7


@pytest.mark.django_db
def test_webhook_figures_last_event_per_kind_and_pending_per_region(client, metrics_on) -> None:
    region("east")
    region("west")
    for n, (kind, status, at) in enumerate(
        [
            ("tasks", "processed", T0),
            ("tasks", "pending", T0 + timedelta(minutes=5)),
            ("tasks", "pending", T0 + timedelta(minutes=1)),
            ("property-status", "failed", T0 + timedelta(minutes=2)),
        ]
    ):
        WebhookEvent.objects.create(
            region_id="east", kind=kind, status=status, received_at=at, digest=str(n)
        )

    samples = scrape(client)

    last = "breezeway_webhook_last_received_timestamp_seconds"
    assert (
        samples[(last, labels(region="east", kind="tasks"))]
        == (T0 + timedelta(minutes=5)).timestamp()
    )
    assert (
        samples[(last, labels(region="east", kind="property-status"))]
        == (T0 + timedelta(minutes=2)).timestamp()
    )
    assert not [k for k in samples if k[0] == last and ("region", "west") in k[1]]
    assert samples[("breezeway_webhook_events_pending", labels(region="east"))] == 2
    assert samples[("breezeway_webhook_events_pending", labels(region="west"))] == 0
    assert samples[("breezeway_metrics_scrape_success", labels(part="webhooks"))] == 1


@pytest.mark.django_db
def test_open_alerts_are_counted_per_kind(client, metrics_on) -> None:
    def alert(key: str, kind: str, cleared: bool = False) -> None:
        Alert.objects.create(
            key=key,
            kind=kind,
            message=key,
            opened_at=T0,
            last_checked_at=T0,
            cleared_at=T0 + timedelta(hours=1) if cleared else None,
        )

    alert("sync_stale:east:tasks", Alert.Kind.SYNC_STALE)
    alert("sync_stale:west:tasks", Alert.Kind.SYNC_STALE)
    alert("sync_stale:east:tasks", Alert.Kind.SYNC_STALE, cleared=True)
    alert("duplicates:task_photos", Alert.Kind.DUPLICATES, cleared=True)

    samples = scrape(client)

    assert samples[("breezeway_alerts_open", labels(kind="sync_stale"))] == 2
    assert samples[("breezeway_alerts_open", labels(kind="duplicates"))] == 0
    assert samples[("breezeway_metrics_scrape_success", labels(part="alerts"))] == 1


@pytest.mark.django_db
def test_a_part_that_cannot_be_read_is_left_out_and_says_so(client, metrics_on) -> None:
    region("east")
    run("east", "tasks", "success", 0)
    with connection.cursor() as cursor:  # as before `migrate` created the alerts' table
        cursor.execute("ALTER TABLE ops_alerts RENAME TO ops_alerts_elsewhere")

    samples = scrape(client)

    assert samples[("breezeway_metrics_scrape_success", labels(part="alerts"))] == 0
    assert samples[("breezeway_metrics_scrape_success", labels(part="sync"))] == 1
    assert samples[("breezeway_metrics_scrape_success", labels(part="duplicates"))] == 1
    assert not [name for name, _ in samples if name.startswith("breezeway_alerts")]
    assert (
        "breezeway_sync_last_run_status",
        labels(region="east", entity="tasks", status="success"),
    ) in samples


@pytest.mark.django_db
def test_the_sample_grafana_dashboard_uses_only_metrics_the_endpoint_serves(
    client, metrics_on
) -> None:
    dashboard = json.loads((ROOT / "ops" / "grafana" / "breezeway.json").read_text())
    response = client.get("/metrics", secure=True, headers={"Authorization": f"Bearer {TOKEN}"})
    served = {f.name for f in text_string_to_metric_families(response.content.decode())}
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"breezeway_[a-z_]+", target["expr"])
    }
    assert used and used <= served, used - served
