"""Add the derived natural-key columns and the guests' JSON columns.

All are nullable and without a default, so on PostgreSQL adding them only touches the catalog:
no table rewrite while the child tables still hold their duplicates. 0003 fills the keys.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("breezeway", "0001_initial")]

    operations = [
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
