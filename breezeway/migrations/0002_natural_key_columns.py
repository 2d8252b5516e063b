"""Add the derived natural-key columns, the guests' JSON columns, and the sync's bookkeeping.

All are nullable without a default, or have a constant database default (PostgreSQL 11+ stores
it in the catalog), so adding them rewrites no table while the child tables still hold their
duplicates. 0003 fills the keys.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("breezeway", "0001_initial")]

    operations = [
        # Django gave a fresh database a varchar_pattern_ops index on the regions primary key
        # in 0001; the legacy schema has none, and an adopted database must match a fresh one.
        migrations.RunSQL(
            "DROP INDEX IF EXISTS regions_region_code_217464c3_like",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddField(
            model_name="propertyphoto",
            name="photo_key",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="taskphoto",
            name="photo_key",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="reservationguest",
            name="guest_key",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="reservationguest",
            name="guest_emails",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="reservationguest",
            name="guest_phone_numbers",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="taskassignment",
            name="assignee_key",
            field=models.CharField(max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="taskrequirement",
            name="requirement_key",
            field=models.CharField(max_length=255, null=True),
        ),
        # The sync's bookkeeping columns, added here (catalog-only) so that the admin and the
        # duplicate report work on a database that is not remediated yet.
        migrations.AddField(
            model_name="person",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="property",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="property",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="property",
            name="missing_listings",
            field=models.SmallIntegerField(db_default=0, editable=False),
        ),
        migrations.AddField(
            model_name="propertyphoto",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="reservation",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="reservation",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="reservation",
            name="missing_listings",
            field=models.SmallIntegerField(db_default=0, editable=False),
        ),
        migrations.AddField(
            model_name="reservationguest",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="supply",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="tag",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="children_synced_for",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="task",
            name="listed",
            field=models.BooleanField(db_default=True, editable=False),
        ),
        migrations.AddField(
            model_name="taskassignment",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="taskcomment",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="taskphoto",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="taskrequirement",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
        migrations.AddField(
            model_name="tasktag",
            name="content_hash",
            field=models.CharField(blank=True, editable=False, max_length=32, null=True),
        ),
    ]
