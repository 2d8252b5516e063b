"""Celery task of the ops app: the periodic alert check."""

from typing import Any

from celery import shared_task

from ops.alerts.check import check_alerts as run_check


@shared_task(bind=True, name="ops.check_alerts")
def check_alerts(self: Any) -> dict[str, Any]:
    """Evaluate the alert conditions, record openings and clearings, deliver their notices."""
    result = run_check()
    return {
        "open": len(result.open_alerts),
        "opened": len(result.changes.opened),
        "cleared": len(result.changes.cleared),
        "failed_checks": result.failed_checks,
        "sent": result.sent,
    }
