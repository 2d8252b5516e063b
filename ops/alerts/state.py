"""Alert state: conditions found now against the alerts open, opening and clearing rows."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from ops.alerts.conditions import Condition
from ops.models import Alert


@dataclass
class Changes:
    opened: list[Alert] = field(default_factory=list)
    cleared: list[Alert] = field(default_factory=list)
    still_open: list[Alert] = field(default_factory=list)


def record_conditions(
    conditions: list[Condition], checked_kinds: Collection[str], now: datetime
) -> Changes:
    """Open an alert per new condition, refresh the open ones, clear the ones gone.

    Only alerts of `checked_kinds` can clear: a check that could not run says nothing about
    its conditions, so its open alerts stay open. Call it inside the check's lock.
    """
    open_alerts = {a.key: a for a in Alert.objects.filter(cleared_at__isnull=True)}
    changes = Changes()
    for condition in {c.key: c for c in conditions}.values():
        alert = open_alerts.pop(condition.key, None)
        if alert is None:
            alert = Alert.objects.create(
                key=condition.key,
                kind=condition.kind,
                region_code=condition.region_code,
                entity=condition.entity,
                table_name=condition.table_name,
                message=condition.message,
                opened_at=now,
                last_checked_at=now,
            )
            changes.opened.append(alert)
        else:
            # The words may move on (a later run, a new count); the alert stays the same one.
            alert.message, alert.last_checked_at = condition.message, now
            alert.save(update_fields=["message", "last_checked_at"])
            changes.still_open.append(alert)
    for alert in open_alerts.values():
        if alert.kind in checked_kinds:
            alert.cleared_at = alert.last_checked_at = now
            alert.save(update_fields=["cleared_at", "last_checked_at"])
            changes.cleared.append(alert)
        else:
            changes.still_open.append(alert)
    return changes
