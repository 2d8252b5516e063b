"""Duplicate statistics stored as snapshots: taken by a task or `dedup_report --save`."""

import uuid

from django.db import connections, transaction

from dedup.models import DuplicateSnapshot
from dedup.scan import TableStats, existing_only, report_models, scan_model


def save_snapshots(stats: list[TableStats], using: str = "default") -> list[DuplicateSnapshot]:
    """Store one scan's figures, every table under one scan id."""
    scan_id = uuid.uuid4()
    rows = [
        DuplicateSnapshot(
            scan_id=scan_id,
            table_name=s.table,
            constraint_name=s.constraint,
            rows=s.rows,
            distinct_keys=s.distinct_keys,
            constraint_present=s.constraint_present,
            constraint_valid=s.constraint_valid,
            table_bytes=s.table_bytes,
            method=s.method,
            measured_at=s.measured_at,
        )
        for s in stats
    ]
    with transaction.atomic(using=using):
        return DuplicateSnapshot.objects.using(using).bulk_create(rows)


def take_snapshots(using: str = "default") -> list[DuplicateSnapshot]:
    """Measure every child table that exists now and store the figures."""
    models = existing_only(connections[using], report_models())
    return save_snapshots([scan_model(model, using=using) for model in models], using=using)
