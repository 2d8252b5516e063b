"""Celery task of the dedup app: measure the child tables and store a snapshot."""

import logging
from typing import Any

from celery import shared_task

from dedup.snapshots import ScanRunning, scan_lock, take_snapshots

log = logging.getLogger(__name__)


@shared_task(bind=True, name="dedup.take_snapshot")
def take_snapshot(self: Any) -> int:
    """Measure every child table (a grouping scan where a table has no valid constraint yet)."""
    try:
        with scan_lock():
            return len(take_snapshots())
    except ScanRunning:
        log.info("duplicate scan skipped: another scan is running")
        return 0
