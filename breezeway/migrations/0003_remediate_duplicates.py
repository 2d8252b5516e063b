"""Remove the legacy duplicates of every child table and add the natural-key constraints.

One atomic migration: on PostgreSQL a failure in any table (lock timeout, failed verification)
rolls every table back. Each operation keeps the most recent copy per natural key, archives
copies that differ from it (dedup_archived_rows), verifies, makes the derived key column NOT
NULL and adds the constraint. Reversing drops the constraints, lets the key columns hold NULLs
again, and keeps the data.
"""

from django.db import migrations, models

from breezeway.natural_keys import LEGACY_DERIVED_KEYS
from dedup.operations import DeduplicateAndAddConstraint


def _dedup(model_name: str, table: str, fields: list[str]) -> DeduplicateAndAddConstraint:
    return DeduplicateAndAddConstraint(
        model_name=model_name,
        constraint=models.UniqueConstraint(fields=fields, name=f"uq_{table}_natural_key"),
        derived_key=LEGACY_DERIVED_KEYS[table],
    )


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("breezeway", "0002_natural_key_columns"),
        ("dedup", "0001_initial"),
    ]

    operations = [
        # Largest first, as the incident report advised: progress shows early in the log.
        _dedup("taskrequirement", "task_requirements", ["task", "requirement_key"]),
        _dedup("propertyphoto", "property_photos", ["property", "photo_key"]),
        _dedup("reservationguest", "reservation_guests", ["reservation", "guest_key"]),
        _dedup("taskassignment", "task_assignments", ["task", "assignee_key"]),
        _dedup("taskphoto", "task_photos", ["task", "photo_key"]),
    ]
