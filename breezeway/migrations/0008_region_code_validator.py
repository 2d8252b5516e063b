"""The region code's validator (lower case, no credential clash): state only, no SQL."""

from django.db import migrations, models

import breezeway.models.regions


class Migration(migrations.Migration):
    dependencies = [
        ("breezeway", "0007_task_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="region",
            name="code",
            field=models.CharField(
                db_column="region_code",
                max_length=32,
                primary_key=True,
                serialize=False,
                validators=[breezeway.models.regions.validate_region_code],
            ),
        ),
    ]
