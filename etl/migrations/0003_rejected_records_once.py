"""Rejected records: one row per (region, entity, record id, payload), counted across runs.

Existing rows are grouped by their payload's digest: the latest row of each group stays, with
the group's first and last sighting and its size.
"""

import hashlib
import json

from django.db import migrations, models
from django.db.models import Count, Max, Min
from django.utils import timezone


def digest(payload: object) -> str:
    # Frozen copy of etl.load.content_hash, so this migration never changes meaning.
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


def group_existing(apps, schema_editor) -> None:
    RejectedRecord = apps.get_model("etl", "RejectedRecord")
    batch = []
    for row in RejectedRecord.objects.only("pk", "payload", "first_seen_at").iterator(2000):
        row.payload_digest = digest(row.payload)
        row.last_seen_at = row.first_seen_at
        batch.append(row)
        if len(batch) == 2000:
            RejectedRecord.objects.bulk_update(batch, ["payload_digest", "last_seen_at"])
            batch = []
    RejectedRecord.objects.bulk_update(batch, ["payload_digest", "last_seen_at"])
    groups = (
        RejectedRecord.objects.values("region", "entity", "record_id", "payload_digest")
        .annotate(n=Count("pk"), keep=Max("pk"), first=Min("first_seen_at"))
        .filter(n__gt=1)
    )
    for group in groups.iterator():
        same = RejectedRecord.objects.filter(
            region=group["region"],
            entity=group["entity"],
            record_id=group["record_id"],
            payload_digest=group["payload_digest"],
        )
        last = same.aggregate(last=Max("first_seen_at"))["last"]
        same.exclude(pk=group["keep"]).delete()
        same.update(times_seen=group["n"], first_seen_at=group["first"], last_seen_at=last)


class Migration(migrations.Migration):
    dependencies = [("etl", "0002_default_schedules")]

    operations = [
        migrations.RenameField("rejectedrecord", "created_at", "first_seen_at"),
        migrations.AddField(
            "rejectedrecord",
            "payload_digest",
            models.CharField(max_length=32, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            "rejectedrecord", "last_seen_at", models.DateTimeField(default=timezone.now)
        ),
        migrations.AddField("rejectedrecord", "times_seen", models.IntegerField(default=1)),
        migrations.RunPython(group_existing, migrations.RunPython.noop, elidable=True),
        migrations.AlterModelOptions(
            "rejectedrecord", options={"ordering": ["-last_seen_at", "-id"]}
        ),
    ]
