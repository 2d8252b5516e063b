"""`manage.py check_health`: check the alert conditions now, print open alerts, exit 1 if any."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from breezeway.admin.display import datetime_text
from ops.alerts.check import check_alerts
from ops.models import Alert


def as_data(alert: Alert) -> dict[str, Any]:
    return {
        "key": alert.key,
        "kind": alert.kind,
        "message": alert.message,
        "region": alert.region_code or None,
        "entity": alert.entity or None,
        "table": alert.table_name or None,
        "opened_at": alert.opened_at.isoformat(),
        "last_checked_at": alert.last_checked_at.isoformat(),
    }


class Command(BaseCommand):
    help = (
        "Check every alert condition now (as the ops.check_alerts task does, notices included), "
        "print each open alert, and exit with status 1 when any is open or a check failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        result = check_alerts()
        alerts = result.open_alerts
        if options["json"]:
            data = {
                "healthy": not alerts and not result.failed_checks,
                "open_alerts": [as_data(a) for a in alerts],
                "failed_checks": result.failed_checks,
            }
            self.stdout.write(json.dumps(data, indent=2))
        else:
            for alert in alerts:
                self.stdout.write(
                    f"OPEN since {datetime_text(alert.opened_at)}  [{alert.kind}]  {alert.message}"
                )
            for name in result.failed_checks:
                self.stdout.write(f"CHECK FAILED  {name} (its traceback is in the log)")
            if not alerts and not result.failed_checks:
                self.stdout.write("OK: no open alerts.")
        if alerts or result.failed_checks:
            sys.exit(1)
