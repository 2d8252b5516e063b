"""One alert check: run every condition check, record what opened and cleared, tell people."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from ops.alerts.conditions import Condition
from ops.alerts.notices import deliver_notices
from ops.alerts.state import Changes, record_conditions
from ops.alerts.sync import failing_syncs, rejecting_syncs, stale_syncs
from ops.alerts.tables import shrunk_tables, unclean_tables
from ops.alerts.webhooks import silent_webhooks
from ops.models import Alert

log = logging.getLogger(__name__)

# Held for a whole check (transaction level), so the beat task and `check_health` run from
# cron never open the same alert twice nor send the same notice twice. "OPS" + 1; the keys
# of breezeway.locks start with "BZWY".
ALERT_CHECK_LOCK = 0x4F_50_53_00_0001

# Each check and the kinds of alert it can open (and so clear).
CHECKS: tuple[tuple[Callable[[], list[Condition]], tuple[str, ...]], ...] = (
    (stale_syncs, (Alert.Kind.SYNC_STALE,)),
    (failing_syncs, (Alert.Kind.SYNC_FAILING,)),
    (rejecting_syncs, (Alert.Kind.SYNC_REJECTED,)),
    (unclean_tables, (Alert.Kind.DUPLICATES, Alert.Kind.NATURAL_KEY_INDEX)),
    (shrunk_tables, (Alert.Kind.ROW_DROP,)),
    (silent_webhooks, (Alert.Kind.WEBHOOKS_SILENT,)),
)


@dataclass
class CheckResult:
    changes: Changes
    failed_checks: list[str]
    sent: dict[str, int]

    @property
    def open_alerts(self) -> list[Alert]:
        return sorted(
            [*self.changes.opened, *self.changes.still_open], key=lambda a: (a.opened_at, a.pk)
        )


def check_alerts() -> CheckResult:
    """Evaluate every condition now, open and clear alerts, deliver pending notices."""
    with transaction.atomic():
        if connection.vendor == "postgresql":  # the SQLite demo runs one process
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ALERT_CHECK_LOCK])
        conditions: list[Condition] = []
        checked: list[str] = []
        failed: list[str] = []
        for check, kinds in CHECKS:
            try:
                with transaction.atomic():  # a failing query must not end the others'
                    conditions += check()
                checked += kinds
            except Exception:  # one broken check must not silence the others
                log.exception("alert check %s failed; its open alerts stay open", check.__name__)
                failed.append(check.__name__)
        changes = record_conditions(conditions, checked, timezone.now())
        # Inside the lock: a second check waiting for it must see the notices marked sent.
        sent = deliver_notices()
    for alert in changes.opened:
        log.warning("alert opened: %s", alert.message)
    for alert in changes.cleared:
        log.info("alert cleared: %s", alert.message)
    return CheckResult(changes, failed, sent)
