"""The default beat schedule (django-celery-beat): staff pause, edit or add entries in admin."""

import json

from django.db import migrations

# (name, task, kwargs, crontab minute/hour, description)
SCHEDULES = [
    (
        "Hourly sync: reservations and tasks",
        "etl.sync_all",
        {"entities": ["reservations", "tasks"]},
        ("0", "*"),
        "Every region's reservations and tasks, every hour (new, changed and near-dated tasks "
        "get their requirements and comments).",
    ),
    (
        "Daily sync: everything, full sweep",
        "etl.sync_all",
        {"full_sweep": True},
        ("30", "3"),
        "Every entity of every region, with every task's children and every reservation.",
    ),
    (
        "Task deletion checks",
        "etl.reconcile_deletions",
        {},
        ("45", "*/6"),
        "Ask for every task no list shows (hidden or gone): 404 soft-deletes it.",
    ),
    (
        "Sweep lost sync runs",
        "etl.sweep_lost_runs",
        {},
        ("*/10", "*"),
        "Mark failed the runs a dead worker left 'running' (their locks are free).",
    ),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, kwargs, (minute, hour), description in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "crontab": crontab,
                "kwargs": json.dumps(kwargs),
                "description": description,
                "enabled": True,
            },
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("etl", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
