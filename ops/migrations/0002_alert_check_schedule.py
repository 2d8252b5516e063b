"""The alert check in the beat schedule, every 5 minutes (editable in admin)."""

from django.db import migrations

NAME = "Alert check"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*/5",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "ops.check_alerts",
            "crontab": crontab,
            "kwargs": "{}",
            "description": (
                "Open and clear alerts (stale or failing syncs, rejected records, duplicates, "
                "lost rows) and mail ADMINS / post to ALERT_WEBHOOK_URL once per change."
            ),
            "enabled": True,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_alerts"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
