"""The duplicate statistics dashboard: stored snapshots, flags, history, "scan now", queries."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from breezeway import models as m
from dedup.models import DuplicateSnapshot
from dedup.snapshots import take_snapshots
from tests.support.snapshots import make_snapshot

URL = "/admin/dedup/duplicatesnapshot/"


def snapshot(table: str, rows: int, distinct: int, when, present: bool = True) -> None:
    make_snapshot(table, rows, distinct, when, present=present)


@pytest.fixture
def data(db) -> None:
    region = m.Region.objects.create(code="r1", name="R1", company_id=1)
    prop = m.Property.objects.create(region=region, property_id="1")
    m.PropertyPhoto.objects.bulk_create(
        m.PropertyPhoto(property=prop, region=region, photo_id=str(i), photo_key=str(i))
        for i in range(7)
    )


def test_the_dashboard_shows_the_latest_snapshot_of_each_table(admin_client, data) -> None:
    call_command("dedup_report", "--save", stdout=open("/dev/null", "w"))
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Clean: no duplicates" in html
    rows = {s.table_name: s for s in DuplicateSnapshot.objects.all()}
    assert rows["property_photos"].rows == 7 == m.PropertyPhoto.objects.count()
    assert 'data-table="property_photos"' in html and 'data-value="7"' in html
    assert "task_supplies" in rows  # every child table, new ones included


def test_a_table_with_duplicates_or_no_constraint_is_flagged(admin_client, db) -> None:
    now = timezone.now()
    snapshot("task_photos", 100, 40, now - timedelta(days=2), present=False)
    snapshot("task_photos", 40, 40, now - timedelta(days=1))
    snapshot("task_photos", 40, 40, now)
    snapshot("property_photos", 500, 10, now, present=False)
    html = admin_client.get(URL).content.decode()
    assert "Not clean: property_photos" in html
    flagged = html.split('data-table="property_photos"')[0].rsplit("<tr", 1)[1]
    assert 'class="flagged"' in flagged
    healthy = html.split('data-table="task_photos"')[0].rsplit("<tr", 1)[1]
    assert "flagged" not in healthy
    assert html.count('class="dedup-history"') == 1  # property_photos has one snapshot only
    assert "MISSING" in html


def test_queries_do_not_grow_with_snapshots(
    admin_client, db, django_assert_max_num_queries
) -> None:
    now = timezone.now()
    for table in ("task_photos", "property_photos"):
        snapshot(table, 10, 10, now)
    with django_assert_max_num_queries(10):
        admin_client.get(URL)
    for day in range(60):
        for table in ("task_photos", "property_photos", "task_tags", "task_costs"):
            snapshot(table, 10 + day, 10, now - timedelta(days=day, minutes=1))
    with django_assert_max_num_queries(10):
        response = admin_client.get(URL)
    assert response.content.decode().count('class="dedup-history"') == 4


def test_scan_now_takes_a_snapshot(admin_client, data) -> None:
    assert admin_client.get(URL + "scan/").status_code == 405
    response = admin_client.post(URL + "scan/")
    assert response.status_code == 302 and response.url == reverse(
        "admin:dedup_duplicatesnapshot_changelist"
    )
    assert DuplicateSnapshot.objects.filter(table_name="property_photos", rows=7).exists()


def test_only_staff_see_it(client, db, django_user_model) -> None:
    user = django_user_model.objects.create_user("someone", password="pw")
    client.force_login(user)
    assert client.get(URL).status_code == 302
    assert client.post(URL + "scan/").status_code == 302
    assert not DuplicateSnapshot.objects.exists()


def test_snapshots_cover_the_tables_that_exist(data) -> None:
    taken = take_snapshots()
    assert {s.table_name for s in taken} >= {"property_photos", "task_requirements"}
    assert len({s.scan_id for s in taken}) == 1


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_viewer_cannot_scan(viewer_client, data) -> None:
    html = viewer_client.get(URL).content.decode()
    assert 'id="dedup-scan-now"' not in html and "needs the change permission" in html
    assert viewer_client.post(URL + "scan/").status_code == 403
    assert not DuplicateSnapshot.objects.exists()


def test_scan_now_says_what_happened(admin_client, data) -> None:
    # No broker in tests: the scan runs in the request, and says so.
    response = admin_client.post(URL + "scan/", follow=True)
    scanned = DuplicateSnapshot.objects.count()
    assert scanned > 0
    assert messages_of(response) == [f"Scanned: {scanned} tables (no broker: ran here)."]
    assert not any("queued" in text for text in messages_of(response))


def release(other) -> None:
    """End the other session's scan: unlock before closing (the server may take a moment to
    notice a closed session, and the next step must find the lock free)."""
    from breezeway.locks import SCAN_LOCK

    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [SCAN_LOCK])
    other.close()


def test_scan_now_is_refused_while_a_scan_runs(admin_client, data) -> None:
    from breezeway.locks import SCAN_LOCK

    other = connection.copy()  # another session: a scan running elsewhere
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SCAN_LOCK])
        response = admin_client.post(URL + "scan/", follow=True)
        assert messages_of(response)[0].startswith("A duplicate scan is already running")
        assert not DuplicateSnapshot.objects.exists()
    finally:
        release(other)
    response = admin_client.post(URL + "scan/", follow=True)
    assert messages_of(response)[0].startswith("Scanned: ")


def test_the_snapshot_task_skips_while_a_scan_runs(data) -> None:
    from breezeway.locks import SCAN_LOCK
    from dedup.tasks import take_snapshot

    other = connection.copy()  # a scan running elsewhere (the admin's, another worker's)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SCAN_LOCK])
        assert take_snapshot.apply().get() == 0
        assert not DuplicateSnapshot.objects.exists()
    finally:
        release(other)
    assert take_snapshot.apply().get() > 0
    assert DuplicateSnapshot.objects.exists()
