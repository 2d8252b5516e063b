"""Alerts in the admin: the open ones above the apps on the index, a read-only changelist."""

import pytest
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
