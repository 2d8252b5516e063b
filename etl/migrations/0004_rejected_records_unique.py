"""The constraint that keeps one rejected-record row per (region, entity, record id, payload).

Apart from 0003, whose row updates must be committed before PostgreSQL alters the table.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("etl", "0003_rejected_records_once")]

    operations = [
        migrations.AddConstraint(
            "rejectedrecord",
            models.UniqueConstraint(
                fields=["region", "entity", "record_id", "payload_digest"],
                name="etl_rejected_once",
            ),
        ),
    ]
