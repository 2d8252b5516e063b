"""A new alert kind: webhooks quiet while the syncs find changes (issue 14)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0003_viewer_sees_alerts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("sync_stale", "no recent successful sync"),
                    ("sync_failing", "sync failing in a row"),
                    ("sync_rejected", "records rejected"),
                    ("duplicates", "duplicates in a table"),
                    ("natural_key_index", "natural-key index missing or invalid"),
                    ("row_drop", "table lost rows"),
                    ("webhooks_silent", "webhooks quiet while syncs find changes"),
                ],
                max_length=32,
            ),
        ),
    ]
