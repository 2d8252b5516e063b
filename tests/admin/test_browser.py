"""Django admin in headless Chromium (Playwright): log in, read the dashboard, open records."""

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from breezeway import models as m
from dedup.models import DuplicateSnapshot
from etl.models import SyncRun
from tests.support.browser import CHROMIUM, LAUNCH_ARGS

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made beside it
# are safe here (one thread at a time), which this switch tells Django.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin"

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM), reason="Debian's chromium package is not installed"
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def count(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
        return cur.fetchone()[0]


def test_staff_read_the_dashboard_and_the_records(
    page, live_server, run_sync, django_user_model
) -> None:
    # The test database went through every migration (the remediation included); sync it,
    # then measure it the way the daily snapshot does.
    runs = run_sync()
    assert {r.status for r in runs} == {"success"}
    call_command("dedup_report", "--save", stdout=open(os.devnull, "w"))
    django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")

    log_in(page, live_server, "staff", "pw-staff-1")
    page.goto(f"{live_server.url}/admin/")
    page.click("text=Duplicate statistics")
    page.wait_for_selector("#dedup-tables")
    shot(page, "dashboard")
    assert "Clean" in page.inner_text("#dedup-verdict")
    shown = {
        row.get_attribute("data-table"): int(
            row.query_selector("td.num").get_attribute("data-value")
        )
        for row in page.query_selector_all("#dedup-tables tbody tr[data-table]")
    }
    saved = set(DuplicateSnapshot.objects.values_list("table_name", flat=True))
    assert set(shown) == saved
    for table, rows in shown.items():
        assert rows == count(table), table
    assert shown["property_photos"] > 0 and shown["task_requirements"] > 0

    # A property with its photos inline.
    prop = m.Property.objects.filter(photos__isnull=False).distinct().first()
    page.goto(f"{live_server.url}/admin/breezeway/property/{prop.pk}/change/")
    page.wait_for_load_state()
    shot(page, "property")
    body = page.inner_text("#content")
    assert prop.property_name in body
    for photo in prop.photos.all()[:5]:
        assert photo.photo_id in body

    # A sync run.
    run = SyncRun.objects.get(entity="tasks")
    page.goto(f"{live_server.url}/admin/etl/syncrun/{run.pk}/change/")
    page.wait_for_load_state()
    shot(page, "sync-run")
    body = page.inner_text("#content")
    assert "tasks" in body and "success" in body.lower()


def test_a_user_who_is_not_staff_is_refused(page, live_server, django_user_model) -> None:
    django_user_model.objects.create_user("visitor", password="pw-visitor-1")
    log_in(page, live_server, "visitor", "pw-visitor-1")
    assert "/admin/login/" in page.url
    assert "not authorized" in page.inner_text("body") or "staff account" in page.inner_text("body")
    page.goto(f"{live_server.url}/admin/dedup/duplicatesnapshot/")
    assert "/admin/login/" in page.url
    shot(page, "refused")


def test_the_dashboard_fits_a_1440_px_window(browser, live_server, django_user_model) -> None:
    # Incident-sized figures: the widest numbers the dashboard shows.
    tables = [
        ("property_photos", 17_421_913, 40_112, "uq_property_photos_natural_key"),
        ("reservation_guests", 6_102_877, 30_551, "uq_reservation_guests_natural_key"),
        ("task_assignments", 3_315_002, 15_870, "uq_task_assignments_natural_key"),
        ("task_photos", 5_883_150, 9_412, "uq_task_photos_natural_key"),
        ("task_requirements", 5_512_009, 20_300, "uq_task_requirements_natural_key"),
        ("task_supplies", 565, 565, "uq_task_supplies_natural_key"),
    ]
    now = timezone.now()
    for days in (2, 1, 0):
        DuplicateSnapshot.objects.bulk_create(
            DuplicateSnapshot(
                scan_id=f"00000000-0000-0000-0000-00000000000{days}",
                table_name=table,
                constraint_name=constraint,
                rows=rows,
                distinct_keys=distinct,
                constraint_present=rows == distinct,
                constraint_valid=rows == distinct,
                table_bytes=rows * 1000 + 565_248,
                method="scan",
                measured_at=now - timedelta(days=days),
            )
            for table, rows, distinct, constraint in tables
        )
    django_user_model.objects.create_superuser("wide", "wide@example.com", "pw-wide-1")
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, live_server, "wide", "pw-wide-1")
        page.goto(f"{live_server.url}/admin/dedup/duplicatesnapshot/")
        page.wait_for_selector("#dedup-tables")
        shot(page, "dashboard-1440")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1440
        # A size never wraps between its number and its unit ("552.0 / kB").
        wrapped = page.evaluate(
            """() => [...document.querySelectorAll('#dedup-tables td.num')]
                .filter(td => { const r = document.createRange(); r.selectNodeContents(td);
                                const tops = new Set([...r.getClientRects()].map(c => c.top));
                                return tops.size > 1; })
                .map(td => td.innerText)"""
        )
        assert wrapped == []
        assert " UTC" in page.inner_text("#dedup-tables")  # times name their zone
    finally:
        context.close()


def test_staff_see_quiet_webhooks_and_process_a_failed_event_again(
    page, live_server, django_user_model, monkeypatch
) -> None:
    from etl.credentials import webhook_secret_variable
    from etl.models import WebhookEvent

    region = m.Region.objects.create(code="hooks", name="Hooks", company_id=7)
    m.Property.objects.create(region=region, property_id="P1", property_name="Villa")
    monkeypatch.setenv(webhook_secret_variable(region.code), "browser-hook-secret")
    # The task syncs of the last hour changed rows; no task event arrived all that time.
    SyncRun.objects.create(
        region=region, entity="tasks", status="success", started_at=timezone.now(), updated=4
    )
    event = WebhookEvent.objects.create(
        region=region,
        kind="property-status",
        event_type="property-status-changed",
        object_id="P1",
        payload={"property_id": "P1", "status": "occupied", "sub_statuses": []},
        digest="b" * 64,
        status="failed",
        attempts=6,
        error="gave up after 6 attempt(s): property P1 is not in the mirror yet",
    )
    django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-ops-1")
    log_in(page, live_server, "ops", "pw-ops-1")

    page.goto(f"{live_server.url}/admin/breezeway/region/")
    page.wait_for_selector(".webhooks-quiet")
    shot(page, "regions-webhooks-quiet")
    assert "quiet: tasks" in page.inner_text("#result_list")

    page.goto(f"{live_server.url}/admin/etl/webhookevent/{event.pk}/change/")
    page.wait_for_load_state()
    assert "occupied" in page.inner_text(".field-payload_pretty")
    assert "not in the mirror yet" in page.inner_text("#content")

    page.goto(f"{live_server.url}/admin/etl/webhookevent/?status__exact=failed")
    page.check(f"input[name=_selected_action][value='{event.pk}']")
    page.select_option("select[name=action]", "process_again")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    shot(page, "webhook-events-processed")
    assert "Queued 1 event(s)" in page.inner_text(".messagelist")
    event.refresh_from_db()
    assert event.status == "processed"
    assert m.Property.objects.get(region=region, property_id="P1").operational_status == "occupied"
