"""The webhook events table (etl_webhook_events), and the beat entry that requeues stalled events."""

import json

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

SCHEDULE = (
    "Requeue webhook events",
    "etl.requeue_webhook_events",
    "Queue again the webhook events still pending after their retry was due (a lost message).",
)


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*/5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    name, task, description = SCHEDULE
    PeriodicTask.objects.get_or_create(
        name=name,
        defaults={
            "task": task,
            "crontab": crontab,
            "kwargs": json.dumps({}),
            "description": description,
            "enabled": True,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SCHEDULE[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("breezeway", "0009_property_operational_status"),
        ("etl", "0004_rejected_records_unique"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("tasks", "Tasks"), ("property-status", "Property Status")],
                        max_length=32,
                    ),
                ),
                ("event_type", models.CharField(blank=True, default="", max_length=64)),
                ("object_id", models.CharField(blank=True, default="", max_length=64)),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("event_at", models.DateTimeField(blank=True, null=True)),
                ("payload", models.JSONField(blank=True, null=True)),
                ("raw_body", models.BinaryField(blank=True, null=True)),
                ("digest", models.CharField(max_length=64)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("processed", "Processed"),
                            ("superseded", "Superseded"),
                            ("not_deleted", "Not Deleted"),
                            ("ignored", "Ignored"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("attempts", models.IntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("error", models.TextField(blank=True, default="")),
                ("processed_at", models.DateTimeField(blank=True, null=True)),
                ("outcome", models.JSONField(blank=True, default=dict)),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="webhook_events",
                        to="breezeway.region",
                    ),
                ),
            ],
            options={
                "db_table": "etl_webhook_events",
                "ordering": ["-received_at", "-id"],
                "indexes": [
                    models.Index(fields=["region", "-received_at"], name="etl_webhooks_latest"),
                    models.Index(
                        condition=models.Q(("status", "pending")),
                        fields=["status", "received_at"],
                        name="etl_webhooks_pending",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("region", "kind", "digest"), name="etl_webhook_event_once"
                    )
                ],
            },
        ),
        migrations.RunPython(create, remove),
    ]
