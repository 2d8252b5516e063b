"""Alerts in the admin: the open ones above the apps on the index, a read-only changelist."""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from breezeway.celery import app
from ops.models import Alert


def alert(key: str, message: str, cleared: bool = False) -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        key=key,
        kind="duplicates",
        table_name="task_tags",
        message=message,
        opened_at=now,
        last_checked_at=now,
        cleared_at=now if cleared else None,
    )


def test_the_admin_index_shows_the_open_alerts_first(admin_client, db) -> None:
    alert("duplicates:task_tags", "task_tags: 20 duplicate rows")
    alert("duplicates:task_photos", "task_photos: 3 duplicate rows", cleared=True)
    html = admin_client.get("/admin/").content.decode()
    assert 'id="open-alerts"' in html
    assert "1 open alert" in html
    assert "task_tags: 20 duplicate rows" in html
    assert "task_photos: 3 duplicate rows" not in html  # cleared
    assert html.index('id="open-alerts"') < html.index('id="content-main"')
    assert "/admin/ops/alert/?state=open" in html


def test_the_admin_index_says_nothing_when_all_is_well(admin_client, db) -> None:
    alert("duplicates:task_tags", "task_tags: 20 duplicate rows", cleared=True)
    assert 'id="open-alerts"' not in admin_client.get("/admin/").content.decode()


def test_the_alert_changelist_is_read_only(admin_client, db) -> None:
    a = alert("duplicates:task_tags", "task_tags: 20 duplicate rows")
    html = admin_client.get("/admin/ops/alert/?state=open").content.decode()
    assert "task_tags: 20 duplicate rows" in html
    assert "pending: opened by mail, opened by webhook" in html
    assert admin_client.get("/admin/ops/alert/add/").status_code == 403
    page = admin_client.get(f"/admin/ops/alert/{a.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert admin_client.post(f"/admin/ops/alert/{a.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_the_beat_schedule_checks_alerts_every_five_minutes() -> None:
    entry = PeriodicTask.objects.get(name="Alert check")
    assert entry.task == "ops.check_alerts" and entry.enabled
    assert (entry.crontab.minute, entry.crontab.hour) == ("*/5", "*")
    app.loader.import_default_modules()  # autodiscovery, as a worker does it
    assert "ops.check_alerts" in app.tasks


def test_a_viewer_sees_the_alerts_but_cannot_change_them(client, db) -> None:
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.groups.add(Group.objects.get(name="viewer"))
    client.force_login(viewer)
    alert("duplicates:task_tags", "task_tags: 20 duplicate rows")
    html = client.get("/admin/").content.decode()
    assert "task_tags: 20 duplicate rows" in html and "all open alerts" in html
    assert client.get("/admin/ops/alert/").status_code == 200
    assert viewer.has_perm("ops.view_alert") and not viewer.has_perm("ops.change_alert")


def test_staff_without_the_view_permission_see_the_banner_without_a_dead_link(client, db) -> None:
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    alert("duplicates:task_tags", "task_tags: 20 duplicate rows")
    html = client.get("/admin/").content.decode()
    assert "task_tags: 20 duplicate rows" in html and "all open alerts" not in html


def test_the_admin_index_with_many_open_alerts_costs_few_queries(
    admin_client, db, django_assert_max_num_queries
) -> None:
    for i in range(30):
        alert(f"duplicates:t{i}", f"t{i}: 1 duplicate rows")
    with django_assert_max_num_queries(12):
        admin_client.get("/admin/")
