"""Duplicate-statistics snapshots made directly, for tests of what reads them."""

from datetime import datetime

from dedup.models import DuplicateSnapshot


def make_snapshot(
    table: str,
    rows: int,
    distinct: int,
    when: datetime,
    present: bool = True,
    valid: bool | None = None,
    table_bytes: int | None = None,
) -> DuplicateSnapshot:
    """One table's figures as a scan would store them (`valid` defaults to `present`)."""
    return DuplicateSnapshot.objects.create(
        scan_id="00000000-0000-0000-0000-000000000001",
        table_name=table,
        constraint_name=f"uq_{table}_natural_key",
        rows=rows,
        distinct_keys=distinct,
        constraint_present=present,
        constraint_valid=present if valid is None else valid,
        table_bytes=rows * 100 if table_bytes is None else table_bytes,
        method="scan",
        measured_at=when,
    )
