"""The sync's admin: runs and rejected records, regions' credentials, freshness and "Sync now"."""

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from breezeway import models as m
from etl.admin.regions import entity_intervals, sync_schedule
from etl.entities import ENTITY_NAMES
from etl.models import ApiToken, RejectedRecord, SyncRun

HOURLY_SYNC_TASK = "Hourly sync: reservations and tasks"  # etl/migrations/0002

REGIONS = reverse("admin:breezeway_region_changelist")
RUNS = reverse("admin:etl_syncrun_changelist")
SECRET = "s3cr3t-VALUE-never-shown"
CLIENT_ID = "client-ID-value-42"


def run(region: m.Region, status: str, age: timedelta, entity: str = "tasks", **kw) -> SyncRun:
    finished = timezone.now() - age
    return SyncRun.objects.create(
        region=region,
        entity=entity,
        status=status,
        started_at=finished - timedelta(seconds=75),
        finished_at=finished,
        **kw,
    )


def region_row(html: str, code: str) -> str:
    """The changelist row of one region (from its code to the end of the row)."""
    return html.split(f">{code}</a>")[1].split("</tr>")[0]


@pytest.fixture
def credentials(monkeypatch) -> None:
    monkeypatch.setenv("BREEZEWAY_ADM_TEST_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("BREEZEWAY_ADM_TEST_CLIENT_SECRET", SECRET)


# --- sync runs and rejected records --------------------------------------------------------------


def test_run_statuses_are_coloured(admin_client, admin_test_region) -> None:
    for status in SyncRun.Status.values:
        run(admin_test_region, status, timedelta(minutes=5), fetched=7, api_calls=3)
    html = admin_client.get(RUNS).content.decode()
    for status, colour in [
        ("success", "#2e7d32"),
        ("partial", "#e67e00"),
        ("failed", "#ba2121"),
        ("skipped", "#757575"),
        ("running", "#1565c0"),
    ]:
        badge = html.split(f"sync-status-{status}")[1].split("</span>")[0]
        assert colour in badge and status.title() in badge
    assert "1 min 15 s" in html  # the duration


def test_runs_filter_by_region_entity_and_status(admin_client, admin_test_region) -> None:
    other = m.Region.objects.create(code="adm-other", name="Other", company_id=98)
    run(admin_test_region, "success", timedelta(minutes=5), entity="tasks")
    run(admin_test_region, "failed", timedelta(minutes=5), entity="properties")
    run(other, "success", timedelta(minutes=5), entity="tasks")

    def runs(**params: str) -> set[tuple[str, str, str]]:
        cl = admin_client.get(RUNS, params).context["cl"]
        return {(r.region_id, r.entity, r.status) for r in cl.result_list}

    assert runs(region__code__exact="adm-other") == {("adm-other", "tasks", "success")}
    assert runs(entity="properties") == {("adm-test", "properties", "failed")}
    assert runs(status__exact="success") == {
        ("adm-test", "tasks", "success"),
        ("adm-other", "tasks", "success"),
    }


def test_a_run_shows_its_details_readably_and_links_its_rejected_records(
    admin_client, admin_test_region
) -> None:
    details = {"tables": {"tasks": {"inserted": 3}}, "note": "<b>bold</b>"}
    sync_run = run(admin_test_region, "partial", timedelta(minutes=1), rejected=1, details=details)
    RejectedRecord.objects.create(
        run=sync_run, region=admin_test_region, entity="tasks", reason="no id", payload={}
    )
    html = admin_client.get(reverse("admin:etl_syncrun_change", args=[sync_run.pk])).content
    html = html.decode()
    pretty = escape(json.dumps(details, indent=2, sort_keys=True))
    assert f'<pre class="readable-json">{pretty}</pre>' in html
    assert "<b>bold</b>" not in html
    rejected = reverse("admin:etl_rejectedrecord_changelist") + f"?run__id__exact={sync_run.pk}"
    assert rejected in html


def test_a_rejected_record_shows_its_payload_pretty_and_escaped(
    admin_client, admin_test_region
) -> None:
    sync_run = run(admin_test_region, "success", timedelta(minutes=1))
    payload = {"id": None, "name": "<script>alert(1)</script>", "photos": [1, 2]}
    record = RejectedRecord.objects.create(
        run=sync_run,
        region=admin_test_region,
        entity="tasks",
        record_id="T9",
        reason="task_name: too long",
        payload=payload,
    )
    html = admin_client.get(reverse("admin:etl_rejectedrecord_change", args=[record.pk]))
    html = html.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<pre class="readable-json">{\n  &quot;id&quot;: null,' in html
    assert "task_name: too long" in html
    assert reverse("admin:etl_syncrun_change", args=[sync_run.pk]) in html
    listing = admin_client.get(reverse("admin:etl_rejectedrecord_changelist")).content.decode()
    assert reverse("admin:etl_syncrun_change", args=[sync_run.pk]) in listing


@pytest.mark.parametrize("model", [SyncRun, RejectedRecord], ids=lambda model: model.__name__)
def test_run_records_are_read_only(admin_client, admin_test_region, model) -> None:
    sync_run = run(admin_test_region, "success", timedelta(minutes=1))
    obj = sync_run
    if model is RejectedRecord:
        obj = RejectedRecord.objects.create(
            run=sync_run, region=admin_test_region, entity="tasks", reason="x", payload=None
        )
    name = model._meta.model_name
    assert admin_client.post(reverse(f"admin:etl_{name}_change", args=[obj.pk])).status_code == 403
    assert admin_client.get(reverse(f"admin:etl_{name}_add")).status_code == 403
    assert admin_client.get(reverse(f"admin:etl_{name}_delete", args=[obj.pk])).status_code == 403


def test_api_tokens_appear_nowhere(admin_client, admin_test_region) -> None:
    ApiToken.objects.create(region=admin_test_region, access_token="tok-LIVE-123")
    assert ApiToken not in admin.site._registry
    for url in (reverse("admin:index"), REGIONS, reverse("admin:etl_syncrun_changelist")):
        assert "tok-LIVE-123" not in admin_client.get(url).content.decode()


@pytest.mark.parametrize("url", [RUNS, reverse("admin:etl_rejectedrecord_changelist"), REGIONS])
def test_sync_changelist_queries_do_not_grow_with_rows(
    admin_client, django_assert_max_num_queries, url
) -> None:
    def add(start: int, n: int) -> None:
        for i in range(start, start + n):
            region = m.Region.objects.create(code=f"q{i}", name=f"Q{i}", company_id=i)
            sync_run = run(region, "success", timedelta(hours=i % 4), rejected=1)
            RejectedRecord.objects.create(
                run=sync_run, region=region, entity="tasks", reason="x", payload={"i": i}
            )

    add(0, 5)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    assert len(few) <= 12, [q["sql"] for q in few.captured_queries]
    add(5, 45)
    with django_assert_max_num_queries(len(few)):
        assert len(admin_client.get(url).context["cl"].result_list) == 50


# --- regions --------------------------------------------------------------------------------------


def test_credentials_say_configured_and_never_show_their_values(
    admin_client, admin_test_region, credentials
) -> None:
    pages = [
        admin_client.get(REGIONS).content.decode(),
        admin_client.get(reverse("admin:breezeway_region_change", args=["adm-test"])).content,
    ]
    for html in pages:
        html = html if isinstance(html, str) else html.decode()
        assert "configured" in html
        assert SECRET not in html and CLIENT_ID not in html


def test_missing_credentials_name_the_variables(
    admin_client, admin_test_region, monkeypatch
) -> None:
    monkeypatch.setenv("BREEZEWAY_ADM_TEST_CLIENT_ID", CLIENT_ID)
    monkeypatch.delenv("BREEZEWAY_ADM_TEST_CLIENT_SECRET", raising=False)
    html = admin_client.get(REGIONS).content.decode()
    assert "missing: set BREEZEWAY_ADM_TEST_CLIENT_SECRET" in region_row(html, "adm-test")
    assert CLIENT_ID not in html


def every_entity(region: m.Region, age: timedelta, **ages: timedelta) -> None:
    """A successful run of each entity `age` ago (or its own age from `ages`)."""
    for entity in ENTITY_NAMES:
        run(region, "success", ages.get(entity, age), entity=entity)


def test_the_last_successful_sync_and_a_stale_one_are_shown(admin_client, admin_test_region):
    fresh = admin_test_region
    stale = m.Region.objects.create(code="adm-stale", name="Stale", company_id=2)
    never = m.Region.objects.create(code="adm-never", name="Never", company_id=3)
    idle = m.Region.objects.create(code="adm-idle", name="Idle", company_id=4, is_active=False)
    every_entity(fresh, timedelta(minutes=30))
    run(fresh, "failed", timedelta(minutes=5))  # failures do not count
    every_entity(stale, timedelta(minutes=10), reservations=timedelta(hours=3))
    run(stale, "partial", timedelta(minutes=5), entity="reservations")
    run(idle, "success", timedelta(days=3))
    html = admin_client.get(REGIONS).content.decode()
    assert "sync-stale" not in region_row(html, fresh.code)
    assert "sync-stale" in region_row(html, stale.code)
    assert "stale: reservations" in region_row(html, stale.code)
    assert "never synced" in region_row(html, never.code)
    assert "sync-stale" not in region_row(html, idle.code)  # inactive: beat does not sync it


def test_a_region_whose_tasks_fail_is_not_fresh_because_its_tags_synced(
    admin_client, admin_test_region
) -> None:
    # Issue 11: the last successful sync counted any entity.
    every_entity(admin_test_region, timedelta(minutes=20), tasks=timedelta(hours=5))
    run(admin_test_region, "failed", timedelta(minutes=2), entity="tasks")
    row = region_row(admin_client.get(REGIONS).content.decode(), admin_test_region.code)
    assert "sync-stale" in row and "stale: tasks" in row
    lines = {
        line.split(":")[0].rsplit(">", 1)[-1]: line for line in row.split('class="sync-entity')
    }
    oldest = [line for line in row.split('class="sync-entity')[1:] if "sync-oldest" in line]
    assert len(oldest) == 1 and ">tasks: " in oldest[0] and "(oldest)" in oldest[0]
    assert all(f">{entity}: " in row for entity in ENTITY_NAMES), lines
    # Each entity's time links to its successful runs.
    assert "entity=tasks&amp;status__exact=success" in row


def test_the_freshness_interval_comes_from_the_beat_schedule(admin_client, admin_test_region):
    intervals = entity_intervals(admin_test_region.code, sync_schedule())
    assert intervals["tasks"] == intervals["reservations"] == timedelta(hours=1)
    assert intervals["tags"] == timedelta(days=1)  # only the daily full sweep syncs tags
    every_six_hours, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="*/6", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.update_or_create(
        name=HOURLY_SYNC_TASK, defaults={"task": "etl.sync_all", "crontab": every_six_hours}
    )
    intervals = entity_intervals(admin_test_region.code, sync_schedule())
    assert intervals["tasks"] == timedelta(hours=6)
    every_entity(admin_test_region, timedelta(hours=3))
    assert "sync-stale" not in region_row(admin_client.get(REGIONS).content.decode(), "adm-test")


def test_regions_can_be_added_and_edited_but_not_deleted(admin_client, admin_test_region) -> None:
    url = reverse("admin:breezeway_region_change", args=["adm-test"])
    response = admin_client.post(url, {"name": "Renamed", "company_id": 7, "is_active": "on"})
    assert response.status_code == 302
    admin_test_region.refresh_from_db()
    assert (admin_test_region.name, admin_test_region.company_id) == ("Renamed", 7)
    delete = reverse("admin:breezeway_region_delete", args=["adm-test"])
    assert admin_client.get(delete).status_code == 403
    add = reverse("admin:breezeway_region_add")
    assert admin_client.get(add).context["adminform"].form["is_active"].value() is True
    response = admin_client.post(add, {"code": "adm-new", "name": "New", "company_id": 8})
    assert response.status_code == 302
    assert m.Region.objects.get(code="adm-new").name == "New"


def test_sync_now_runs_regions_with_credentials_and_reports_the_others(
    admin_client, admin_test_region, credentials, settings
) -> None:
    # No broker in tests: the task runs in-process, against an address that refuses at once.
    settings.BREEZEWAY_API_URL = "http://127.0.0.1:1/public/inventory/v1"
    settings.BREEZEWAY_AUTH_URL = "http://127.0.0.1:1/public/auth/v1"
    settings.SYNC_MAX_ATTEMPTS = 1
    settings.SYNC_TASK_RETRY_DELAYS = []
    bare = m.Region.objects.create(code="adm-bare", name="No credentials", company_id=5)
    response = admin_client.post(
        REGIONS,
        {"action": "sync_now", "_selected_action": [admin_test_region.pk, bare.pk]},
        follow=True,
    )
    texts = [str(message) for message in response.context["messages"]]
    assert any("adm-test" in t and "ran in-process" in t for t in texts), texts
    assert any(
        "Not queued, no credentials" in t and "adm-bare" in t and "_CLIENT_ID" in t for t in texts
    ), texts
    assert SyncRun.objects.filter(region=admin_test_region).exists()  # the run was recorded
    assert not SyncRun.objects.filter(region=bare).exists()
    assert SECRET not in response.content.decode()


def test_a_viewer_cannot_sync_now(viewer_client, admin_test_region, credentials) -> None:
    response = viewer_client.post(
        REGIONS, {"action": "sync_now", "_selected_action": [admin_test_region.pk]}
    )
    assert response.status_code == 200  # the changelist again: no such action for a viewer
    assert not SyncRun.objects.exists()


def test_rejected_records_show_how_often_and_when_they_were_last_seen(
    admin_client, admin_test_region
) -> None:
    sync_run = run(admin_test_region, "success", timedelta(minutes=1))
    seen = timezone.now() - timedelta(hours=2)
    record = RejectedRecord.objects.create(
        run=sync_run,
        region=admin_test_region,
        entity="tasks",
        record_id="T7",
        reason="no id",
        payload={"a": 1},
        payload_digest="d" * 32,
        times_seen=17,
        last_seen_at=seen,
    )
    local = timezone.localtime(seen)
    html = admin_client.get(reverse("admin:etl_rejectedrecord_changelist")).content.decode()
    row = next(row for row in html.split("<tr") if 'field-record_id">T7<' in row)
    assert '<td class="field-times_seen">17</td>' in row
    assert f"{local:%Y-%m-%d %H:%M} {local.tzname()}" in row
    assert "Times seen" in html and "Last seen at" in html
    page = admin_client.get(reverse("admin:etl_rejectedrecord_change", args=[record.pk]))
    assert "First seen at" in page.content.decode()


# --- region codes: one validator, in the admin and in add_region ---------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("SIM1", "lower case: &#x27;sim1&#x27;"),  # would read sim1's credentials
        ("adm_test", "would read the credentials of region &#x27;adm-test&#x27;"),
        ("bad code!", "is not valid"),
    ],
)
def test_the_admin_validates_a_new_region_code(
    admin_client, admin_test_region, code, error
) -> None:
    response = admin_client.post(
        reverse("admin:breezeway_region_add"), {"code": code, "name": "New", "company_id": 8}
    )
    assert response.status_code == 200  # the form again, with the error
    assert error in response.content.decode()
    assert not m.Region.objects.filter(code=code).exists()


def test_add_region_uses_the_same_validator(admin_test_region) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="lower case: 'sim1'"):
        call_command("add_region", "SIM1", "--name", "x", "--company-id", "1")
    with pytest.raises(CommandError, match="credentials of region 'adm-test'"):
        call_command("add_region", "adm.test", "--name", "x", "--company-id", "1")
    assert not m.Region.objects.exclude(code="adm-test").exists()
