"""Duplicate statistics stored as snapshots: taken by a task or `dedup_report --save`."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction

from breezeway.locks import SCAN_LOCK
from dedup.models import DuplicateSnapshot
from dedup.scan import TableStats, existing_only, report_models, scan_model


class ScanRunning(Exception):
    """Another duplicate scan holds SCAN_LOCK."""


@contextmanager
def scan_lock(using: str = "default") -> Iterator[None]:
    """Hold SCAN_LOCK (session level, released at the end) or raise ScanRunning at once."""
    connection = connections[using]
    if connection.vendor != "postgresql":  # the SQLite demo: one process, nothing to guard
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SCAN_LOCK])
        if not cursor.fetchone()[0]:
            raise ScanRunning
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SCAN_LOCK])


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
