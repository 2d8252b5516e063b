"""Add the derived natural-key columns and the guests' JSON columns.

All are nullable and without a default, so on PostgreSQL adding them only touches the catalog:
no table rewrite while the child tables still hold their duplicates. 0003 fills the keys.
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
    ]
