"""The rows the data migrations create (the viewer group and its permissions, the default beat
schedules), as migrate left them, put back for a test that reads them after a transactional
test flushed every table."""

from django.core import serializers


def _querysets() -> list:
    from django.contrib.auth.models import Group
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    # Schedules before the tasks pointing at them.
    return [CrontabSchedule.objects.all(), PeriodicTask.objects.all(), Group.objects.all()]


def snapshot_migration_rows() -> str:
    """The rows, serialized; permissions by natural key (a flush recreates them, new ids)."""
    return serializers.serialize(
        "json",
        [row for queryset in _querysets() for row in queryset],
        use_natural_foreign_keys=True,
    )


def restore_migration_rows(snapshot: str) -> None:
    for obj in serializers.deserialize("json", snapshot):
        obj.save()  # the group's permissions too
