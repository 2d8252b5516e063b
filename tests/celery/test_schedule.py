"""The beat schedule the migration creates: due hourly, editable and pausable in admin."""

import json
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from breezeway.celery import app
from etl import tasks

HOURLY = "Hourly sync: reservations and tasks"


def test_the_migration_creates_the_default_schedule(db) -> None:
    schedule = {t.name: t for t in PeriodicTask.objects.all()}
    hourly = schedule[HOURLY]
    assert hourly.task == "etl.sync_all" and hourly.enabled
    assert json.loads(hourly.kwargs) == {"entities": ["reservations", "tasks"]}
    daily = schedule["Daily sync: everything, full sweep"]
    assert json.loads(daily.kwargs) == {"full_sweep": True}
    assert schedule["Task deletion checks"].task == "etl.reconcile_deletions"
    assert schedule["Sweep lost sync runs"].task == "etl.sweep_lost_runs"
    # Every scheduled name is a task a worker registers (autodiscovery, as a worker does it).
    app.loader.import_default_modules()
    for task in schedule.values():
        assert task.task in app.tasks, task.task
    assert tasks.sync_all.name == "etl.sync_all"


def test_the_hourly_sync_is_due_every_hour(db) -> None:
    cron = PeriodicTask.objects.get(name=HOURLY).crontab.schedule
    now = timezone.now()
    due, _ = cron.is_due(now - timedelta(minutes=61))
    assert due
    due_now, next_in = cron.is_due(now)
    assert not due_now and 0 < next_in <= 3600


def test_staff_can_disable_it_in_admin(admin_client) -> None:
    task = PeriodicTask.objects.get(name=HOURLY)
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    response = admin_client.post(url, {"action": "disable_tasks", "_selected_action": [task.pk]})
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.enabled
